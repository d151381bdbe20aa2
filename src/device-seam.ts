// The device seam: a BlockDevice wrapper through which tests record every write and flush (to
// rebuild crash states) and inject faults (EIO, ENOSPC) at a chosen operation, in every thread.
// ext4 counterpart: none in ext4 itself; it plays the part of dm-flakey / dm-log-writes, the
// device-mapper targets xfstests uses to log writes and replay crash states. The idea is LevelDB's
// Env/EnvWrapper: the OS sits behind an interface a test can wrap.
//
// It is reachable only through the test-only DEVICE_SEAM option (testing-symbols.ts): an engine
// opened with it puts the seam's SharedArrayBuffer in its descriptor, and every thread's device
// (the mount's too) is wrapped. Every word below is owned as its comment says; entries are appended
// by whichever thread did the I/O, after the I/O succeeded, in the order of their slot numbers, and
// read by the test only after the engine closed (or its threads stopped).

import type { BlockDevice } from './device.js';
import { ioError } from './device.js';
import { BLOCK_SIZE } from './shm/layout.js';

// Header words (Int32)
export const SEAM_OPS = 0; // atomic: device operations of the kinds in SEAM_FAIL_KINDS seen so far
export const SEAM_LOG_COUNT = 1; // atomic: entries appended (a slot each)
export const SEAM_ARENA_USED = 2; // atomic: bytes of write data appended
export const SEAM_FAIL_AT = 3; // set by the test: the SEAM_OPS number that fails (-1: none)
export const SEAM_FAIL_KINDS = 4; // set by the test: the SK_* kinds that count and may fail
export const SEAM_FAIL_ERRNO = 5; // set by the test: 'EIO' (5) or 'ENOSPC' (28)
export const SEAM_FAIL_PERSIST = 6; // set by the test: 1 = every counted operation from SEAM_FAIL_AT on fails
export const SEAM_FAILED = 7; // atomic: faults injected
export const SEAM_LOG_ON = 8; // set by the test: 1 = append writes and flushes to the log
export const SEAM_LOG_CAPACITY = 9; // set at creation: entry slots
export const SEAM_ARENA_CAPACITY = 10; // set at creation: arena bytes
export const SEAM_OVERFLOW = 11; // atomic: 1 once the log or the arena was full (the test must fail)
export const SEAM_HEADER_WORDS = 16;

// Operation kinds
export const SK_READ = 1;
export const SK_WRITE = 2;
export const SK_READ_META = 4;
export const SK_WRITE_META = 8;
export const SK_FLUSH = 16;
/** A test's own marker in the log ("sync N returned"): pos holds the marker's number. */
export const SK_MARK = 32;

/** Entry fields (Float64 per field, SEAM_ENTRY_FIELDS per entry, after the header). */
export const SE_KIND = 0;
export const SE_POS = 1; // byte offset on the device
export const SE_LEN = 2; // bytes
export const SE_ARENA = 3; // where the bytes sit in the arena
export const SEAM_ENTRY_FIELDS = 4;

export const ERRNO_EIO = 5;
export const ERRNO_ENOSPC = 28;

/** Byte offsets of the seam buffer's regions. */
export function seamRegions(logCapacity: number): { entriesAt: number; arenaAt: number } {
  const entriesAt = SEAM_HEADER_WORDS * 4;
  return { entriesAt, arenaAt: entriesAt + logCapacity * SEAM_ENTRY_FIELDS * 8 };
}

export class SeamDevice implements BlockDevice {
  readonly blockCount: number;
  readonly direct: boolean;
  private readonly i32: Int32Array;
  private readonly entries: Float64Array;
  private readonly arena: Uint8Array;

  constructor(
    private readonly dev: BlockDevice,
    sab: SharedArrayBuffer,
  ) {
    this.blockCount = dev.blockCount;
    this.direct = dev.direct;
    this.i32 = new Int32Array(sab, 0, SEAM_HEADER_WORDS);
    const cap = this.i32[SEAM_LOG_CAPACITY];
    const { entriesAt, arenaAt } = seamRegions(cap);
    this.entries = new Float64Array(sab, entriesAt, cap * SEAM_ENTRY_FIELDS);
    this.arena = new Uint8Array(sab, arenaAt, this.i32[SEAM_ARENA_CAPACITY]);
  }

  /** Count the operation; throw the injected fault when it is the chosen one. */
  private gate(kind: number, what: string, where: string): void {
    const i32 = this.i32;
    if ((Atomics.load(i32, SEAM_FAIL_KINDS) & kind) === 0) return;
    const n = Atomics.add(i32, SEAM_OPS, 1);
    const at = Atomics.load(i32, SEAM_FAIL_AT);
    if (at < 0 || n < at || (n > at && Atomics.load(i32, SEAM_FAIL_PERSIST) === 0)) return;
    Atomics.add(i32, SEAM_FAILED, 1);
    const code = Atomics.load(i32, SEAM_FAIL_ERRNO) === ERRNO_ENOSPC ? 'ENOSPC' : 'EIO';
    throw ioError(what, where, Object.assign(new Error(`${code}: injected by the device seam at operation ${n}`), { code }));
  }

  private log(kind: number, pos: number, src: Uint8Array | null, off = 0, len = 0): void {
    const i32 = this.i32;
    if (Atomics.load(i32, SEAM_LOG_ON) === 0) return;
    const slot = Atomics.add(i32, SEAM_LOG_COUNT, 1);
    const at = src ? Atomics.add(i32, SEAM_ARENA_USED, len) : 0;
    if (slot >= i32[SEAM_LOG_CAPACITY] || at + len > this.arena.length) {
      Atomics.store(i32, SEAM_OVERFLOW, 1);
      return;
    }
    if (src) this.arena.set(src.subarray(off, off + len), at);
    const e = slot * SEAM_ENTRY_FIELDS;
    this.entries[e + SE_POS] = pos;
    this.entries[e + SE_LEN] = len;
    this.entries[e + SE_ARENA] = at;
    this.entries[e + SE_KIND] = kind;
  }

  readBlocks(pblk: number, count: number, dst: Uint8Array, dstOff: number): void {
    this.gate(SK_READ, 'read', `of ${count} block(s) at pblk ${pblk}`);
    this.dev.readBlocks(pblk, count, dst, dstOff);
  }
  writeBlocks(pblk: number, count: number, src: Uint8Array, srcOff: number): void {
    this.gate(SK_WRITE, 'write', `of ${count} block(s) at pblk ${pblk}`);
    this.dev.writeBlocks(pblk, count, src, srcOff);
    this.log(SK_WRITE, pblk * BLOCK_SIZE, src, srcOff, count * BLOCK_SIZE);
  }
  writeBlockList(pblk: number, bufs: Uint8Array[]): void {
    this.gate(SK_WRITE, 'writev', `of ${bufs.length} block(s) at pblk ${pblk}`);
    this.dev.writeBlockList(pblk, bufs);
    for (let i = 0; i < bufs.length; i++) this.log(SK_WRITE, (pblk + i) * BLOCK_SIZE, bufs[i], 0, BLOCK_SIZE);
  }
  readMeta(pos: number, dst: Uint8Array): void {
    this.gate(SK_READ_META, 'metadata read', `of ${dst.byteLength} bytes at byte ${pos}`);
    this.dev.readMeta(pos, dst);
  }
  writeMeta(pos: number, src: Uint8Array): void {
    this.gate(SK_WRITE_META, 'metadata write', `of ${src.byteLength} bytes at byte ${pos}`);
    this.dev.writeMeta(pos, src);
    this.log(SK_WRITE_META, pos, src, 0, src.byteLength);
  }
  flush(): void {
    this.gate(SK_FLUSH, 'flush', 'of the image');
    this.dev.flush();
    this.log(SK_FLUSH, 0, null);
  }
  close(): void {
    this.dev.close();
  }
}

/** Wrap `dev` when a seam buffer is given. */
export function withSeam(dev: BlockDevice, seam: SharedArrayBuffer | null | undefined): BlockDevice {
  return seam ? new SeamDevice(dev, seam) : dev;
}
