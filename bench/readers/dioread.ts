// Reader: dioread itself, on a thread attached to the shared engine (attach + openSync + readSync).
// fio counterpart: ioengine=psync on the file, direct=0 (cached) or direct=1 (direct).
import { attach, type AttachedEngine, type SyncFileHandle } from '../../src/index.js';
import type { Reader } from '../read-loop.js';
import type { ReadTask } from '../tasks.js';

export class DioreadReader implements Reader {
  private readonly view: AttachedEngine;
  private readonly fh: SyncFileHandle;
  private readonly buf: Buffer;

  constructor(t: ReadTask) {
    if (!t.desc || !t.fileName) throw new Error('bench: a dioread reader needs desc and fileName');
    this.view = attach(t.desc);
    try {
      this.fh = this.view.openSync(t.fileName, { direct: t.direct === true });
    } catch (err) {
      this.view.detach();
      throw err;
    }
    this.buf = Buffer.alloc(t.blockSize);
  }

  get slot(): number {
    return this.view.slot;
  }

  read(position: number): number {
    return this.fh.readSync(this.buf, { position: position });
  }

  close(): void {
    this.fh.closeSync();
    this.view.detach();
  }
}
