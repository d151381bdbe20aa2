// Peer "node-fs": fs.readSync of blockSize bytes from a host file of the same size that sits in the
// OS page cache — what a Node user does today. fio counterpart: ioengine=psync, direct=0 on a
// cached file.
import fs from 'node:fs';
import type { Reader } from '../read-loop.js';
import type { ReadTask } from '../tasks.js';

export class NodeFsReader implements Reader {
  private readonly fd: number;
  private readonly buf: Buffer;
  private readonly blockSize: number;

  constructor(t: ReadTask) {
    if (!t.path) throw new Error('bench: a node-fs reader needs path');
    this.fd = fs.openSync(t.path, 'r');
    this.buf = Buffer.alloc(t.blockSize);
    this.blockSize = t.blockSize;
  }

  read(position: number): number {
    return fs.readSync(this.fd, this.buf, 0, this.blockSize, position);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
