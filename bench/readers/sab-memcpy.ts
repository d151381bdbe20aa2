// Peer "sab-memcpy": copy blockSize bytes out of a SharedArrayBuffer at the same random offsets,
// with TypedArray#set of a view (the copy dioread's cache hit does: src/cache.ts readPageFast).
// The ceiling for a cached read: a hit can only add the lookup and the validation to this. No fio
// counterpart (fio's ioengine=mmap is close).
import type { Reader } from '../read-loop.js';
import type { ReadTask } from '../tasks.js';

export class SabMemcpyReader implements Reader {
  private readonly sab: SharedArrayBuffer;
  private readonly buf: Buffer;
  private readonly blockSize: number;

  constructor(t: ReadTask) {
    if (!t.sab) throw new Error('bench: a sab-memcpy reader needs sab');
    this.sab = t.sab;
    this.buf = Buffer.alloc(t.blockSize);
    this.blockSize = t.blockSize;
  }

  read(position: number): number {
    this.buf.set(new Uint8Array(this.sab, position, this.blockSize), 0);
    return this.blockSize;
  }

  close(): void {}
}
