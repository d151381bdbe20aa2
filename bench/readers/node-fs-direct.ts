// Peer "node-fs-direct": fs.readSync with O_DIRECT from the dioread image, over the very blocks of
// the bench file — what plain Node costs per direct read, with no engine in between. It separates
// the engine's overhead from Node's per-call overhead when comparing with fio.
// fio counterpart: ioengine=psync, direct=1 — the same job fio runs, issued from Node.
import fs from 'node:fs';
import { findDirectAlignedOffset } from '../../src/direct-align.js';
import type { Reader } from '../read-loop.js';
import type { ReadTask } from '../tasks.js';

/** O_DIRECT wants aligned memory; Node gives no way to ask for it, so probe offsets in a buffer. */
const ALIGN_PROBE_BYTES = 4096;

export class NodeFsDirectReader implements Reader {
  private readonly fd: number;
  private readonly mem: Uint8Array;
  private readonly at: number;
  private readonly blockSize: number;
  private readonly offsetBytes: number;

  constructor(t: ReadTask) {
    if (!t.path || t.offsetBytes === undefined) throw new Error('bench: a node-fs-direct reader needs path and offsetBytes');
    this.blockSize = t.blockSize;
    this.offsetBytes = t.offsetBytes;
    this.fd = fs.openSync(t.path, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
    try {
      this.mem = new Uint8Array(new SharedArrayBuffer(t.blockSize + ALIGN_PROBE_BYTES));
      this.at = this.findAlignedOffset();
    } catch (err) {
      fs.closeSync(this.fd);
      throw err;
    }
  }

  private findAlignedOffset(): number {
    const at = findDirectAlignedOffset(this.fd, this.mem, this.blockSize, this.offsetBytes, ALIGN_PROBE_BYTES);
    if (at < 0) throw new Error('bench: no O_DIRECT-aligned offset found in a SharedArrayBuffer (node-fs-direct)');
    return at;
  }

  read(position: number): number {
    return fs.readSync(this.fd, this.mem, this.at, this.blockSize, this.offsetBytes + position);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
