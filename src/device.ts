// Block devices: a backing image file (each thread opens its own descriptors) and an in-memory device.
// ext4 counterpart: the block device under the filesystem (submit_bio / bdev reads and writes).
//
// The OS sits behind the `BlockDevice` interface so that tests can inject faults.
// A FileDevice holds two descriptors on the image: `dataFd` for data blocks (O_DIRECT when the
// engine runs with deviceDirect) and `metaFd`, always buffered, for the superblock and metadata
// tables. O_DIRECT transfers need block-aligned memory: callers hand page-cache frames or the
// thread's bounce buffer, which the layout aligns (see `probeDirectAlignment`).

import fs from 'node:fs';
import { probeDirectFile } from './direct-align.js';
import { DioreadError } from './errors.js';
import { BLOCK_SIZE, DIRECT_ALIGN } from './shm/layout.js';

export interface BlockDevice {
  readonly blockCount: number;
  /** True when data I/O bypasses the OS page cache (O_DIRECT). */
  readonly direct: boolean;
  /** Read `count` blocks at `pblk` into `dst` at byte `dstOff` (aligned when `direct`). */
  readBlocks(pblk: number, count: number, dst: Uint8Array, dstOff: number): void;
  /** Write `count` blocks at `pblk` from `src` at byte `srcOff` (aligned when `direct`). */
  writeBlocks(pblk: number, count: number, src: Uint8Array, srcOff: number): void;
  /** Write several single-block buffers to consecutive blocks from `pblk` (writev). */
  writeBlockList(pblk: number, bufs: Uint8Array[]): void;
  /** Metadata I/O at byte offsets, always buffered. */
  readMeta(pos: number, dst: Uint8Array): void;
  writeMeta(pos: number, src: Uint8Array): void;
  /** fdatasync of data (and metadata) descriptors. */
  flush(): void;
  close(): void;
}

export function ioError(what: string, where: string, err: unknown): DioreadError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return new DioreadError('ENOSPC', `${what} ${where}: the host filesystem is full`, { cause: err });
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return new DioreadError('EROFS', `${what} ${where}: the image is not writable (${code})`, { cause: err });
  return new DioreadError('EIO', `${what} ${where} failed: ${(err as Error)?.message}`, { cause: err });
}

const blocksAt = (pblk: number, count: number) => `of ${count} block(s) at pblk ${pblk}`;

/**
 * pwrite until done. A write that makes no progress is an error (EIO), not a loop: the loops of
 * this file are bounded by the bytes they move.
 */
function writeFully(fd: number, src: Uint8Array, off: number, len: number, pos: number): void {
  let done = 0;
  while (done < len) {
    const n = fs.writeSync(fd, src, off + done, len - done, pos + done);
    if (n <= 0) throw Object.assign(new Error(`write made no progress at byte ${pos + done}`), { code: 'EIO' });
    done += n;
  }
}

/** pread until done; a read past the end of the image is an error (it was cut short under us). */
function readFully(fd: number, dst: Uint8Array, off: number, len: number, pos: number): void {
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, dst, off + done, len - done, pos + done);
    if (n <= 0) throw Object.assign(new Error(`the image ends at byte ${pos + done}, before the ${len} bytes asked at ${pos}`), { code: 'EIO' });
    done += n;
  }
}

export class FileDevice implements BlockDevice {
  readonly blockCount: number;
  readonly direct: boolean;
  private dataFd: number;
  private metaFd: number;
  private closed = false;

  constructor(readonly path: string, blockCount: number, direct: boolean, readOnly = false) {
    this.blockCount = blockCount;
    this.direct = direct;
    try {
      this.metaFd = fs.openSync(path, readOnly ? 'r' : 'r+');
    } catch (err) {
      throw ioError('open', `of image ${JSON.stringify(path)}`, err);
    }
    try {
      this.dataFd = direct ? fs.openSync(path, (readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | fs.constants.O_DIRECT) : this.metaFd;
    } catch (err) {
      fs.closeSync(this.metaFd);
      throw new DioreadError('EINVAL', `cannot open ${JSON.stringify(path)} with O_DIRECT: ${(err as Error).message}`, { cause: err });
    }
  }

  private check(pblk: number, count: number): void {
    if (!(pblk >= 0 && count >= 1 && pblk + count <= this.blockCount)) {
      throw new DioreadError('EIO', `block range ${pblk}+${count} outside the device (0..${this.blockCount - 1})`);
    }
  }

  readBlocks(pblk: number, count: number, dst: Uint8Array, dstOff: number): void {
    this.check(pblk, count);
    try {
      readFully(this.dataFd, dst, dstOff, count * BLOCK_SIZE, pblk * BLOCK_SIZE);
    } catch (err) {
      throw ioError('read', blocksAt(pblk, count), err);
    }
  }

  writeBlocks(pblk: number, count: number, src: Uint8Array, srcOff: number): void {
    this.check(pblk, count);
    try {
      writeFully(this.dataFd, src, srcOff, count * BLOCK_SIZE, pblk * BLOCK_SIZE);
    } catch (err) {
      throw ioError('write', blocksAt(pblk, count), err);
    }
  }

  writeBlockList(pblk: number, bufs: Uint8Array[]): void {
    this.check(pblk, bufs.length);
    try {
      const len = bufs.length * BLOCK_SIZE;
      let done = fs.writevSync(this.dataFd, bufs, pblk * BLOCK_SIZE);
      // A short writev is rare; finish block by block.
      while (done < len) {
        const i = Math.floor(done / BLOCK_SIZE);
        const off = done % BLOCK_SIZE;
        writeFully(this.dataFd, bufs[i], off, BLOCK_SIZE - off, pblk * BLOCK_SIZE + done);
        done += BLOCK_SIZE - off;
      }
    } catch (err) {
      throw ioError('writev', blocksAt(pblk, bufs.length), err);
    }
  }

  readMeta(pos: number, dst: Uint8Array): void {
    try {
      readFully(this.metaFd, dst, 0, dst.byteLength, pos);
    } catch (err) {
      throw ioError('metadata read', `of ${dst.byteLength} bytes at byte ${pos}`, err);
    }
  }

  writeMeta(pos: number, src: Uint8Array): void {
    try {
      writeFully(this.metaFd, src, 0, src.byteLength, pos);
    } catch (err) {
      throw ioError('metadata write', `of ${src.byteLength} bytes at byte ${pos}`, err);
    }
  }

  flush(): void {
    try {
      fs.fdatasyncSync(this.metaFd);
      if (this.dataFd !== this.metaFd) fs.fdatasyncSync(this.dataFd);
    } catch (err) {
      throw ioError('flush', `of ${JSON.stringify(this.path)}`, err);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.dataFd !== this.metaFd) fs.closeSync(this.dataFd);
    fs.closeSync(this.metaFd);
  }
}

/** The in-memory device: blocks in a SharedArrayBuffer every thread maps. Metadata sits in it too. */
export class MemoryDevice implements BlockDevice {
  readonly blockCount: number;
  readonly direct = false;
  private readonly bytes: Uint8Array;

  constructor(readonly sab: SharedArrayBuffer) {
    this.bytes = new Uint8Array(sab);
    this.blockCount = Math.floor(sab.byteLength / BLOCK_SIZE);
  }

  private check(pblk: number, count: number): void {
    if (!(pblk >= 0 && count >= 1 && pblk + count <= this.blockCount)) {
      throw new DioreadError('EIO', `block range ${pblk}+${count} outside the device (0..${this.blockCount - 1})`);
    }
  }

  readBlocks(pblk: number, count: number, dst: Uint8Array, dstOff: number): void {
    this.check(pblk, count);
    dst.set(this.bytes.subarray(pblk * BLOCK_SIZE, (pblk + count) * BLOCK_SIZE), dstOff);
  }

  writeBlocks(pblk: number, count: number, src: Uint8Array, srcOff: number): void {
    this.check(pblk, count);
    this.bytes.set(src.subarray(srcOff, srcOff + count * BLOCK_SIZE), pblk * BLOCK_SIZE);
  }

  writeBlockList(pblk: number, bufs: Uint8Array[]): void {
    this.check(pblk, bufs.length);
    for (let i = 0; i < bufs.length; i++) this.bytes.set(bufs[i].subarray(0, BLOCK_SIZE), (pblk + i) * BLOCK_SIZE);
  }

  readMeta(pos: number, dst: Uint8Array): void {
    dst.set(this.bytes.subarray(pos, pos + dst.byteLength));
  }

  writeMeta(pos: number, src: Uint8Array): void {
    this.bytes.set(src, pos);
  }

  flush(): void {}
  close(): void {}
}

/**
 * Find where, inside `frames`, memory is aligned for O_DIRECT: try an O_DIRECT read of one block at
 * offsets 0, 16, 32, ... until the kernel accepts one (src/direct-align.ts). Returns -1 when the
 * image cannot be opened with O_DIRECT at all (tmpfs, some overlay filesystems).
 */
export function probeDirectAlignment(path: string, frames: SharedArrayBuffer): number {
  return probeDirectFile(path, new Uint8Array(frames), BLOCK_SIZE, DIRECT_ALIGN);
}
