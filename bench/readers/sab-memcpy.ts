// Peer "sab-memcpy": copy blockSize bytes out of a SharedArrayBuffer at the same random offsets,
// with Buffer#copy (the copy dioread's cache hit does). The ceiling for a cached read: a hit can
// only add the lookup and the validation to this. No fio counterpart (fio's ioengine=mmap is close).
import type { Reader } from '../read-loop.js';
import type { ReadTask } from '../tasks.js';

export class SabMemcpyReader implements Reader {
  private readonly src: Buffer;
  private readonly buf: Buffer;
  private readonly blockSize: number;

  constructor(t: ReadTask) {
    if (!t.sab) throw new Error('bench: a sab-memcpy reader needs sab');
    this.src = Buffer.from(t.sab);
    this.buf = Buffer.alloc(t.blockSize);
    this.blockSize = t.blockSize;
  }

  read(position: number): number {
    return this.src.copy(this.buf, 0, position, position + this.blockSize);
  }

  close(): void {}
}
