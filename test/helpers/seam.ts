// Test helpers around the device seam (src/device-seam.ts): make one, read its log, place a fault,
// rebuild the device at a crash point, and read an image offline the way a fresh mount sees it.
import {
  ERRNO_EIO,
  ERRNO_ENOSPC,
  SE_ARENA,
  SE_KIND,
  SE_LEN,
  SE_POS,
  SEAM_ARENA_CAPACITY,
  SEAM_ENTRY_FIELDS,
  SEAM_FAIL_AT,
  SEAM_FAIL_ERRNO,
  SEAM_FAIL_KINDS,
  SEAM_FAIL_PERSIST,
  SEAM_FAILED,
  SEAM_HEADER_WORDS,
  SEAM_LOG_CAPACITY,
  SEAM_LOG_COUNT,
  SEAM_LOG_ON,
  SEAM_OPS,
  SEAM_OVERFLOW,
  SK_MARK,
  seamRegions,
} from '../../src/device-seam.js';
import { MemoryDevice } from '../../src/device.js';
import { readImage, throwingProblems, type ImageModel, type Problems } from '../../src/image-check.js';
import { BLOCK_SIZE, E_FLAGS, E_LBLK, E_LEN, E_PBLK, EXT_UNWRITTEN, EXTENT_WORDS } from '../../src/shm/layout.js';
import { readSuperBlock } from '../../src/super.js';

export { SK_FLUSH, SK_MARK, SK_READ, SK_READ_META, SK_WRITE, SK_WRITE_META } from '../../src/device-seam.js';

export function createSeam(logEntries = 1 << 16, arenaBytes = 256 << 20): SharedArrayBuffer {
  const { arenaAt } = seamRegions(logEntries);
  const sab = new SharedArrayBuffer(arenaAt + arenaBytes);
  const i32 = new Int32Array(sab, 0, SEAM_HEADER_WORDS);
  i32[SEAM_LOG_CAPACITY] = logEntries;
  i32[SEAM_ARENA_CAPACITY] = arenaBytes;
  i32[SEAM_FAIL_AT] = -1;
  return sab;
}

const hdr = (sab: SharedArrayBuffer) => new Int32Array(sab, 0, SEAM_HEADER_WORDS);

export function setLogging(sab: SharedArrayBuffer, on: boolean): void {
  Atomics.store(hdr(sab), SEAM_LOG_ON, on ? 1 : 0);
}

/** Fail the `at`-th operation (counting only `kinds`) with EIO or ENOSPC; `persist`: and every later one. */
export function setFault(sab: SharedArrayBuffer, f: { at: number; kinds: number; errno?: 'EIO' | 'ENOSPC'; persist?: boolean }): void {
  const i32 = hdr(sab);
  Atomics.store(i32, SEAM_OPS, 0);
  Atomics.store(i32, SEAM_FAILED, 0);
  Atomics.store(i32, SEAM_FAIL_ERRNO, f.errno === 'ENOSPC' ? ERRNO_ENOSPC : ERRNO_EIO);
  Atomics.store(i32, SEAM_FAIL_PERSIST, f.persist ? 1 : 0);
  Atomics.store(i32, SEAM_FAIL_AT, f.at);
  Atomics.store(i32, SEAM_FAIL_KINDS, f.kinds);
}

/** Count operations of `kinds` without failing any (to learn how many a workload does). */
export function countOps(sab: SharedArrayBuffer, kinds: number): void {
  setFault(sab, { at: -1, kinds });
}

export function clearFault(sab: SharedArrayBuffer): void {
  Atomics.store(hdr(sab), SEAM_FAIL_AT, -1);
  Atomics.store(hdr(sab), SEAM_FAIL_KINDS, 0);
}

export function seamStats(sab: SharedArrayBuffer): { ops: number; failed: number; entries: number; overflow: boolean } {
  const i32 = hdr(sab);
  return { ops: Atomics.load(i32, SEAM_OPS), failed: Atomics.load(i32, SEAM_FAILED), entries: Atomics.load(i32, SEAM_LOG_COUNT), overflow: Atomics.load(i32, SEAM_OVERFLOW) !== 0 };
}

/** Append the test's own marker (e.g. "sync number n returned") to the log. */
export function mark(sab: SharedArrayBuffer, n: number): void {
  const i32 = hdr(sab);
  const slot = Atomics.add(i32, SEAM_LOG_COUNT, 1);
  const { entriesAt } = seamRegions(i32[SEAM_LOG_CAPACITY]);
  const e = new Float64Array(sab, entriesAt + slot * SEAM_ENTRY_FIELDS * 8, SEAM_ENTRY_FIELDS);
  e[SE_POS] = n;
  e[SE_LEN] = 0;
  e[SE_KIND] = SK_MARK;
}

export interface LogEntry {
  kind: number;
  pos: number;
  data: Uint8Array;
}

/** The log, in slot order (read after the engine closed). */
export function readLog(sab: SharedArrayBuffer): LogEntry[] {
  const i32 = hdr(sab);
  if (Atomics.load(i32, SEAM_OVERFLOW)) throw new Error('device seam: the log overflowed (give it more room)');
  const cap = i32[SEAM_LOG_CAPACITY];
  const { entriesAt, arenaAt } = seamRegions(cap);
  const n = Atomics.load(i32, SEAM_LOG_COUNT);
  const f64 = new Float64Array(sab, entriesAt, cap * SEAM_ENTRY_FIELDS);
  const arena = new Uint8Array(sab, arenaAt);
  const out: LogEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = i * SEAM_ENTRY_FIELDS;
    out.push({ kind: f64[e + SE_KIND], pos: f64[e + SE_POS], data: arena.slice(f64[e + SE_ARENA], f64[e + SE_ARENA] + f64[e + SE_LEN]) });
  }
  return out;
}

/** Apply one logged write to an image buffer (a torn write: only its first `keepBytes`). */
export function applyWrite(image: Uint8Array, e: LogEntry, keepBytes = e.data.length): void {
  image.set(e.data.subarray(0, keepBytes), e.pos);
}

/** A file's bytes as a fresh mount would read them: written extents from the image, the rest zeros. */
export interface OfflineFile {
  size: number;
  bytes: Uint8Array;
}

/**
 * Mount-check an image in memory (the same reader and checks Engine.open uses, journal replay as an
 * overlay) and read every file's bytes from it. Throws EFSCORRUPTED when the image would not open.
 */
export function offlineMount(image: Uint8Array, p?: Problems): { model: ImageModel; files: Map<string, OfflineFile> } {
  const sab = new SharedArrayBuffer(image.byteLength);
  new Uint8Array(sab).set(image);
  const dev = new MemoryDevice(sab);
  const sb = readSuperBlock(dev, 'crash state', image.byteLength);
  const model = readImage(dev, sb, 'crash state', p ?? throwingProblems('crash state'));
  const files = new Map<string, OfflineFile>();
  const mem = new Uint8Array(sab);
  for (const m of model.inodes) {
    const size = m.disk.size;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < m.disk.extentCount; i++) {
      const e = i * EXTENT_WORDS;
      if (m.extents[e + E_FLAGS] & EXT_UNWRITTEN) continue;
      const from = m.extents[e + E_LBLK] * BLOCK_SIZE;
      if (from >= size) continue;
      const len = Math.min(m.extents[e + E_LEN] * BLOCK_SIZE, size - from);
      const at = m.extents[e + E_PBLK] * BLOCK_SIZE;
      bytes.set(mem.subarray(at, at + len), from);
    }
    files.set(new TextDecoder().decode(m.disk.nameBytes), { size, bytes });
  }
  return { model, files };
}
