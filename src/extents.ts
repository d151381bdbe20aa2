// Extent table: per inode, sorted extents with an UNWRITTEN flag, in shared memory.
// ext4 counterpart: fs/ext4/extents.c — ext4_ext_find_extent, ext4_ext_insert_extent with its
// merges, ext4_ext_truncate, and ext4_convert_unwritten_extents.
//
// Thread safety: writers (insert, convert, truncate) hold the inode mutex, are inside a journal
// handle (transaction.ts), and bracket their stores with the inode's seqlock (I_SEQ) write section.
// Every changed record is reported to the journal (markExtentsDirty), so the next commit logs its
// block. Readers that do not hold the mutex (dioread_nolock reads, writeback) use `mapBlocksSeq`,
// which retries when the sequence moved.
// Invariants: extents of an inode are sorted by lblk, never overlap, have 1 <= len <= EXT_MAX_LEN;
// two neighbours that are logically and physically contiguous with the same flag are merged.

import { DioreadError, InvariantError } from './errors.js';
import {
  BLOCK_SIZE,
  PG_UPTODATE,
  E_FLAGS,
  E_LBLK,
  E_LEN,
  E_PBLK,
  EXT_MAX_LEN,
  EXT_UNWRITTEN,
  EXTENT_WORDS,
  I_EXTENT_COUNT,
  I_MUTEX,
  I_SEQ,
  LC_I_MUTEX,
  OP_OTHER,
  LC_SEQLOCK,
  extentWord,
  inodeWord,
} from './shm/layout.js';
import { accountAcquire, accountContention, assertHeld, assertSeqWriting, seqReadBegin, seqReadRetry } from './sync/lock.js';
import { markExtentsDirty } from './transaction.js';
import { findGetPage, frameOf, lockPage, pageFlags, pageIndex, pageIno, putPage, unlockPage } from './cache.js';
import type { Volume } from './volume.js';

/** ext4's BUG_ON(!inode_is_locked(inode)): the calling thread holds inode `ino`'s i_mutex. */
export function assertInodeLocked(v: Volume, ino: number, what: string): void {
  assertHeld(v, inodeWord(v.layout, ino, I_MUTEX), LC_I_MUTEX, `${what} of inode ${ino}`);
}

/** The extents (or i_size) of `ino` change only under i_mutex inside an I_SEQ write section. */
export function assertExtentWriter(v: Volume, ino: number, what: string): void {
  assertInodeLocked(v, ino, what);
  assertSeqWriting(v.i32, inodeWord(v.layout, ino, I_SEQ), `${what} of inode ${ino}`);
}

/** No extent maps the block; mapLen is the hole's length up to the next extent. */
export const MAP_HOLE = 0;
export const MAP_MAPPED = 1;
/** mapLen for a hole with no extent after it. */
export const HOLE_TO_END = 0x7fffffff;

/**
 * Look up `lblk` (caller holds i_mutex, or validates with the seqlock). Sets v.mapPblk, v.mapLen
 * (blocks from lblk to the end of the extent or hole) and v.mapUnwritten.
 * Model: model/dioread.pml inline map_blocks_seq (docs/MODEL.md).
 */
export function mapBlocks(v: Volume, ino: number, lblk: number): number {
  const i32 = v.i32;
  const l = v.layout;
  let n = i32[inodeWord(l, ino, I_EXTENT_COUNT)];
  if (n > l.extentsPerFile) n = l.extentsPerFile; // a torn read under the seqlock: stay in bounds
  const base = extentWord(l, ino, 0);
  // Binary search: the last extent with start <= lblk.
  let lo = 0;
  let hi = n - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (i32[base + mid * EXTENT_WORDS + E_LBLK] <= lblk) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found >= 0) {
    const e = base + found * EXTENT_WORDS;
    const start = i32[e + E_LBLK];
    const len = i32[e + E_LEN];
    if (lblk < start + len) {
      v.mapPblk = i32[e + E_PBLK] + (lblk - start);
      v.mapLen = start + len - lblk;
      v.mapUnwritten = (i32[e + E_FLAGS] & EXT_UNWRITTEN) !== 0;
      return MAP_MAPPED;
    }
  }
  v.mapPblk = -1;
  v.mapUnwritten = false;
  v.mapLen = found + 1 < n ? i32[base + (found + 1) * EXTENT_WORDS + E_LBLK] - lblk : HOLE_TO_END;
  if (v.mapLen <= 0) v.mapLen = 1; // torn read; the seqlock check will reject it
  return MAP_HOLE;
}

/**
 * Look up `lblk` without the inode mutex, under the inode's seqlock. Returns the sequence seen.
 * Model: model/dioread.pml inline map_blocks_seq (and fill_page's second mapping) (docs/MODEL.md).
 */
export function mapBlocksSeq(v: Volume, ino: number, lblk: number): number {
  const word = inodeWord(v.layout, ino, I_SEQ);
  accountAcquire(v, LC_SEQLOCK);
  for (let tries = 0; ; tries++) {
    const s = seqReadBegin(v, word, LC_SEQLOCK, inodeWord(v.layout, ino, I_MUTEX));
    if (s < 0) return -1; // main thread, writer active: caller falls back
    mapBlocks(v, ino, lblk);
    if (!seqReadRetry(v.i32, word, s)) return s;
    accountContention(v, LC_SEQLOCK, OP_OTHER);
    if (tries > 1_000_000) throw new InvariantError(`extent seqlock of inode ${ino} kept moving for 1e6 retries`);
  }
}

export function extentCount(v: Volume, ino: number): number {
  return v.i32[inodeWord(v.layout, ino, I_EXTENT_COUNT)];
}

function setCount(v: Volume, ino: number, n: number): void {
  v.i32[inodeWord(v.layout, ino, I_EXTENT_COUNT)] = n;
}

/** Index of the first extent whose end is past lblk (lower bound for range walks). */
function firstEndingAfter(v: Volume, ino: number, lblk: number): number {
  const i32 = v.i32;
  const base = extentWord(v.layout, ino, 0);
  const n = extentCount(v, ino);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const e = base + mid * EXTENT_WORDS;
    if (i32[e + E_LBLK] + i32[e + E_LEN] <= lblk) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Open a gap of `k` records at index `at` (caller checked the room). */
function makeRoom(v: Volume, ino: number, at: number, k: number): void {
  const base = extentWord(v.layout, ino, 0);
  const n = extentCount(v, ino);
  v.i32.copyWithin(base + (at + k) * EXTENT_WORDS, base + at * EXTENT_WORDS, base + n * EXTENT_WORDS);
  setCount(v, ino, n + k);
  markExtentsDirty(v, ino, at, n + k);
}

function removeRecords(v: Volume, ino: number, at: number, k: number): void {
  const base = extentWord(v.layout, ino, 0);
  const n = extentCount(v, ino);
  v.i32.copyWithin(base + at * EXTENT_WORDS, base + (at + k) * EXTENT_WORDS, base + n * EXTENT_WORDS);
  v.i32.fill(0, base + (n - k) * EXTENT_WORDS, base + n * EXTENT_WORDS);
  setCount(v, ino, n - k);
  markExtentsDirty(v, ino, at, n);
}

function writeRecord(v: Volume, ino: number, at: number, lblk: number, len: number, pblk: number, flags: number): void {
  const e = extentWord(v.layout, ino, at);
  v.i32[e + E_LBLK] = lblk;
  v.i32[e + E_LEN] = len;
  v.i32[e + E_PBLK] = pblk;
  v.i32[e + E_FLAGS] = flags;
  markExtentsDirty(v, ino, at, at + 1);
}

/** Change record `at`'s length in place. */
function setRecordLen(v: Volume, ino: number, at: number, len: number): void {
  v.i32[extentWord(v.layout, ino, at) + E_LEN] = len;
  markExtentsDirty(v, ino, at, at + 1);
}

/** Can records a and a+1 merge (ext4_can_extents_be_merged)? */
function canMerge(v: Volume, ino: number, a: number): boolean {
  if (a < 0 || a + 1 >= extentCount(v, ino)) return false;
  const i32 = v.i32;
  const x = extentWord(v.layout, ino, a);
  const y = x + EXTENT_WORDS;
  return (
    i32[x + E_FLAGS] === i32[y + E_FLAGS] &&
    i32[x + E_LBLK] + i32[x + E_LEN] === i32[y + E_LBLK] &&
    i32[x + E_PBLK] + i32[x + E_LEN] === i32[y + E_PBLK] &&
    i32[x + E_LEN] + i32[y + E_LEN] <= EXT_MAX_LEN
  );
}

/** Merge record a with a+1 when they fit together; returns true if merged. */
function tryMerge(v: Volume, ino: number, a: number): boolean {
  if (!canMerge(v, ino, a)) return false;
  const x = extentWord(v.layout, ino, a);
  setRecordLen(v, ino, a, v.i32[x + E_LEN] + v.i32[x + EXTENT_WORDS + E_LEN]);
  removeRecords(v, ino, a + 1, 1);
  return true;
}

/** The block after the file's last extent (0 with none): where its allocated blocks end. Caller holds i_mutex. */
export function extentsEnd(v: Volume, ino: number): number {
  const n = extentCount(v, ino);
  if (n === 0) return 0;
  const e = extentWord(v.layout, ino, n - 1);
  return v.i32[e + E_LBLK] + v.i32[e + E_LEN];
}

/** Free records left in the table (for callers that must reserve room for later conversions). */
export function extentRoom(v: Volume, ino: number): number {
  return v.layout.extentsPerFile - extentCount(v, ino);
}

/** The extent that ends at or before `lblk` (the last one starting before it), or null. Caller holds i_mutex. */
export function extentBefore(v: Volume, ino: number, lblk: number): { end: number; pblkEnd: number; unwritten: boolean } | null {
  const at = firstEndingAfter(v, ino, lblk) - 1;
  if (at < 0) return null;
  const e = extentWord(v.layout, ino, at);
  const i32 = v.i32;
  return { end: i32[e + E_LBLK] + i32[e + E_LEN], pblkEnd: i32[e + E_PBLK] + i32[e + E_LEN], unwritten: (i32[e + E_FLAGS] & EXT_UNWRITTEN) !== 0 };
}

/** The extent starting at `lblk`, or null. Caller holds i_mutex. */
export function extentAt(v: Volume, ino: number, lblk: number): { pblk: number; unwritten: boolean } | null {
  const at = firstEndingAfter(v, ino, lblk);
  if (at >= extentCount(v, ino)) return null;
  const e = extentWord(v.layout, ino, at);
  if (v.i32[e + E_LBLK] !== lblk) return null;
  return { pblk: v.i32[e + E_PBLK], unwritten: (v.i32[e + E_FLAGS] & EXT_UNWRITTEN) !== 0 };
}

/**
 * Records an insert of [lblk, lblk+len) -> pblk would add: 1 for a record of its own, 0 when it
 * grows a neighbour, -1 when it joins its two neighbours into one. Caller holds i_mutex.
 */
export function insertCost(v: Volume, ino: number, lblk: number, len: number, pblk: number, unwritten: boolean): number {
  const i32 = v.i32;
  const flags = unwritten ? EXT_UNWRITTEN : 0;
  const at = firstEndingAfter(v, ino, lblk);
  const n = extentCount(v, ino);
  let total = len;
  let joins = 0;
  if (at > 0) {
    const p = extentWord(v.layout, ino, at - 1);
    if (i32[p + E_FLAGS] === flags && i32[p + E_LBLK] + i32[p + E_LEN] === lblk && i32[p + E_PBLK] + i32[p + E_LEN] === pblk && i32[p + E_LEN] + total <= EXT_MAX_LEN) {
      total += i32[p + E_LEN];
      joins++;
    }
  }
  if (at < n) {
    const q = extentWord(v.layout, ino, at);
    if (i32[q + E_FLAGS] === flags && i32[q + E_LBLK] === lblk + len && i32[q + E_PBLK] === pblk + len && i32[q + E_LEN] + total <= EXT_MAX_LEN) joins++;
  }
  return 1 - joins;
}

/**
 * Insert a new extent [lblk, lblk+len) -> pblk over a hole (ext4_ext_insert_extent). Caller holds
 * i_mutex and is inside the inode's seqlock write section. Returns false when the table is full.
 * Model: model/dioread.pml writer W_map; model/journal.pml writerB W_insert (docs/MODEL.md).
 */
export function insertExtent(v: Volume, ino: number, lblk: number, len: number, pblk: number, unwritten: boolean): boolean {
  assertExtentWriter(v, ino, 'extent insert');
  if (!(len >= 1 && len <= EXT_MAX_LEN)) throw new InvariantError(`extent table of inode ${ino}: insert of length ${len}`);
  const flags = unwritten ? EXT_UNWRITTEN : 0;
  const at = firstEndingAfter(v, ino, lblk);
  const n = extentCount(v, ino);
  if (at < n) {
    const e = extentWord(v.layout, ino, at);
    if (v.i32[e + E_LBLK] < lblk + len) {
      throw new InvariantError(`extent table of inode ${ino}: insert [${lblk},+${len}) overlaps extent ${at} at lblk ${v.i32[e + E_LBLK]}`);
    }
  }
  // Try to grow a neighbour in place first (no new record).
  if (at > 0) {
    const p = extentWord(v.layout, ino, at - 1);
    const i32 = v.i32;
    if (
      i32[p + E_FLAGS] === flags &&
      i32[p + E_LBLK] + i32[p + E_LEN] === lblk &&
      i32[p + E_PBLK] + i32[p + E_LEN] === pblk &&
      i32[p + E_LEN] + len <= EXT_MAX_LEN
    ) {
      setRecordLen(v, ino, at - 1, i32[p + E_LEN] + len);
      tryMerge(v, ino, at - 1);
      return true;
    }
  }
  if (n >= v.layout.extentsPerFile) return false;
  makeRoom(v, ino, at, 1);
  writeRecord(v, ino, at, lblk, len, pblk, flags);
  tryMerge(v, ino, at);
  return true;
}

/**
 * ext4_convert_unwritten_extents: mark [lblk, lblk+count) written, splitting unwritten extents at
 * the range's edges and merging afterwards. Caller holds i_mutex inside the seqlock write section.
 * Blocks of the range that are holes (truncated away) are skipped. Returns blocks converted.
 * Model: model/dioread.pml inline end_io_nolock; model/journal.pml writerB W_convert (docs/MODEL.md).
 */
export function convertUnwrittenExtents(v: Volume, ino: number, lblk: number, count: number): number {
  assertExtentWriter(v, ino, 'conversion');
  return retagExtents(v, ino, lblk, count, 0, 'convert');
}

/**
 * The reverse, for fallocate's zero range (ext4_zero_range with EXT4_GET_BLOCKS_CONVERT_UNWRITTEN):
 * mark the written blocks of [lblk, lblk+count) UNWRITTEN, so they read as zeros without a write.
 * Caller holds i_mutex inside the seqlock write section, with no dirty page or pending io_end in
 * the range (it wrote back and converted it first). Holes are skipped. Returns blocks marked.
 */
export function markUnwrittenExtents(v: Volume, ino: number, lblk: number, count: number): number {
  assertExtentWriter(v, ino, 'zero range');
  return retagExtents(v, ino, lblk, count, EXT_UNWRITTEN, 'zero');
}

/**
 * Give the blocks of [lblk, lblk+count) the flags `to` (EXT_UNWRITTEN or 0), splitting the extents
 * that stick out of the range and merging afterwards. Extents already so are skipped.
 */
function retagExtents(v: Volume, ino: number, lblk: number, count: number, to: number, verb: string): number {
  const i32 = v.i32;
  const from = to ^ EXT_UNWRITTEN;
  const end = lblk + count;
  let changed = 0;
  let i = firstEndingAfter(v, ino, lblk);
  while (i < extentCount(v, ino)) {
    const e = extentWord(v.layout, ino, i);
    const s = i32[e + E_LBLK];
    const len = i32[e + E_LEN];
    if (s >= end) break;
    if ((i32[e + E_FLAGS] & EXT_UNWRITTEN) !== from) {
      i++;
      continue;
    }
    const pblk = i32[e + E_PBLK];
    const a = Math.max(s, lblk);
    const b = Math.min(s + len, end);
    const pieces = (a > s ? 1 : 0) + 1 + (b < s + len ? 1 : 0);
    if (pieces - 1 > extentRoom(v, ino)) {
      throw new DioreadError('ENOSPC', `extent table of inode ${ino} is full (${v.layout.extentsPerFile} extents): cannot split extent ${i} to ${verb} [${a},${b})`);
    }
    let at = i;
    if (pieces > 1) makeRoom(v, ino, i + 1, pieces - 1);
    if (a > s) writeRecord(v, ino, at++, s, a - s, pblk, from);
    writeRecord(v, ino, at, a, b - a, pblk + (a - s), to);
    const mid = at++;
    if (b < s + len) writeRecord(v, ino, at++, b, s + len - b, pblk + (b - s), from);
    changed += b - a;
    // Merge the changed piece with its neighbours.
    let m = mid;
    if (tryMerge(v, ino, m - 1)) m--;
    tryMerge(v, ino, m);
    i = firstEndingAfter(v, ino, b);
  }
  return changed;
}

/**
 * Extra extent records that converting [lblk, lblk+count) needs for its splits (at most 2 per
 * unwritten extent it touches; merges afterwards may give some back). Caller holds i_mutex.
 */
export function conversionSplits(v: Volume, ino: number, lblk: number, count: number): number {
  let need = 0;
  for (const [s, len] of unwrittenExtentsIn(v, ino, lblk, count)) need += (lblk > s ? 1 : 0) + (lblk + count < s + len ? 1 : 0);
  return need;
}

/** The unwritten extents that [lblk, lblk+count) touches, as [lblk, len, pblk]. Caller holds i_mutex. */
export function unwrittenExtentsIn(v: Volume, ino: number, lblk: number, count: number): Array<[number, number, number]> {
  const i32 = v.i32;
  const out: Array<[number, number, number]> = [];
  for (let i = firstEndingAfter(v, ino, lblk); i < extentCount(v, ino); i++) {
    const e = extentWord(v.layout, ino, i);
    if (i32[e + E_LBLK] >= lblk + count) break;
    if (i32[e + E_FLAGS] & EXT_UNWRITTEN) out.push([i32[e + E_LBLK], i32[e + E_LEN], i32[e + E_PBLK]]);
  }
  return out;
}

/**
 * Drop every block at or past `fromLblk` (ext4_ext_truncate / ext4_ext_remove_space). Calls
 * `free(pblk, count)` for each physical run released. Caller holds i_mutex inside the seqlock
 * write section. Returns blocks released.
 * Model: model/dioread.pml truncate T_unmap; model/journal.pml truncA T_unmap (docs/MODEL.md).
 */
export function truncateExtents(v: Volume, ino: number, fromLblk: number, free: (pblk: number, count: number) => void): number {
  assertExtentWriter(v, ino, 'extent truncate');
  const i32 = v.i32;
  let released = 0;
  let i = firstEndingAfter(v, ino, fromLblk);
  const n = extentCount(v, ino);
  if (i >= n) return 0;
  const e = extentWord(v.layout, ino, i);
  const s = i32[e + E_LBLK];
  if (s < fromLblk) {
    // Keep the head of this extent.
    const keep = fromLblk - s;
    const drop = i32[e + E_LEN] - keep;
    free(i32[e + E_PBLK] + keep, drop);
    released += drop;
    setRecordLen(v, ino, i, keep);
    i++;
  }
  for (let j = i; j < n; j++) {
    const x = extentWord(v.layout, ino, j);
    free(i32[x + E_PBLK], i32[x + E_LEN]);
    released += i32[x + E_LEN];
  }
  if (i < n) removeRecords(v, ino, i, n - i);
  return released;
}

/**
 * Unmap [lblk, lblk+count) (fallocate's punch hole: ext4_ext_remove_space over a range, as
 * ext4_punch_hole calls it). Extents that stick out keep their outer parts; one that covers the
 * whole range splits in two, which needs a free record (ENOSPC before any change when there is
 * none). Calls `free(pblk, count)` for each physical run released. Caller holds i_mutex inside the
 * seqlock write section. Returns blocks released.
 */
export function removeExtentRange(v: Volume, ino: number, lblk: number, count: number, free: (pblk: number, count: number) => void): number {
  assertExtentWriter(v, ino, 'punch hole');
  const i32 = v.i32;
  const end = lblk + count;
  const i = firstEndingAfter(v, ino, lblk);
  if (i >= extentCount(v, ino)) return 0;
  const e = extentWord(v.layout, ino, i);
  const s = i32[e + E_LBLK];
  const len = i32[e + E_LEN];
  if (s < lblk && s + len > end) {
    if (extentRoom(v, ino) < 1) {
      throw new DioreadError('ENOSPC', `extent table of inode ${ino} is full (${v.layout.extentsPerFile} extents): cannot split extent ${i} to punch [${lblk},${end})`);
    }
    const pblk = i32[e + E_PBLK];
    const flags = i32[e + E_FLAGS];
    makeRoom(v, ino, i + 1, 1);
    writeRecord(v, ino, i, s, lblk - s, pblk, flags);
    writeRecord(v, ino, i + 1, end, s + len - end, pblk + (end - s), flags);
    free(pblk + (lblk - s), count);
    return count;
  }
  let released = 0;
  let first = i;
  if (s < lblk) {
    const keep = lblk - s;
    free(i32[e + E_PBLK] + keep, len - keep);
    released += len - keep;
    setRecordLen(v, ino, i, keep);
    first++;
  }
  let j = first;
  for (; j < extentCount(v, ino); j++) {
    const x = extentWord(v.layout, ino, j);
    if (i32[x + E_LBLK] + i32[x + E_LEN] > end) break;
    free(i32[x + E_PBLK], i32[x + E_LEN]);
    released += i32[x + E_LEN];
  }
  if (j > first) removeRecords(v, ino, first, j - first);
  if (first < extentCount(v, ino)) {
    const x = extentWord(v.layout, ino, first);
    const xs = i32[x + E_LBLK];
    if (xs < end) {
      const cut = end - xs;
      free(i32[x + E_PBLK], cut);
      released += cut;
      writeRecord(v, ino, first, end, i32[x + E_LEN] - cut, i32[x + E_PBLK] + cut, i32[x + E_FLAGS]);
    }
  }
  return released;
}

/** Check the invariants of one inode's extents; returns the problems found (fsck, tests). */
export function checkExtents(v: Volume, ino: number, firstDataBlock: number, blockCount: number): string[] {
  const i32 = v.i32;
  const n = extentCount(v, ino);
  const problems: string[] = [];
  if (n < 0 || n > v.layout.extentsPerFile) return [`inode ${ino}: extent count ${n} outside 0..${v.layout.extentsPerFile}`];
  let prevEnd = -1;
  for (let i = 0; i < n; i++) {
    const e = extentWord(v.layout, ino, i);
    const s = i32[e + E_LBLK];
    const len = i32[e + E_LEN];
    const p = i32[e + E_PBLK];
    if (len < 1 || len > EXT_MAX_LEN) problems.push(`inode ${ino} extent ${i}: length ${len}`);
    if (s < prevEnd) problems.push(`inode ${ino} extent ${i}: lblk ${s} overlaps the previous extent (ends ${prevEnd})`);
    if (p < firstDataBlock || p + len > blockCount) problems.push(`inode ${ino} extent ${i}: pblk ${p}+${len} outside data blocks ${firstDataBlock}..${blockCount - 1}`);
    if (i32[e + E_FLAGS] & ~EXT_UNWRITTEN) problems.push(`inode ${ino} extent ${i}: unknown flags ${i32[e + E_FLAGS]}`);
    prevEnd = s + len;
  }
  return problems;
}
const ZERO_BLOCK = new Uint8Array(BLOCK_SIZE);

/**
 * ext4_ext_zeroout (EXT4_EXT_MAY_ZEROOUT) for a conversion that cannot split: make every block of
 * the unwritten extents that [lblk, lblk+count) touches hold, on the device, what a reader must see
 * there, so that the whole extents can be marked written. A cached page is written as it is (under
 * its page lock, which also waits out writeback in flight); an uncached block whose data another
 * queued io_end already put on the device is left alone; any other block gets zeros, as an
 * unwritten block reads. `queued` are the ranges other io_ends on the inode's completed list still
 * hold (page-io.ts queuedRanges). Caller holds the inode mutex (no write, truncate or conversion
 * runs), outside the seqlock write section (this does I/O). Returns the range to convert.
 */
export function extZeroout(v: Volume, ino: number, lblk: number, count: number, queued: Array<[number, number]>): [number, number] {
  assertInodeLocked(v, ino, 'zero-out');
  const end = lblk + count;
  let from = lblk;
  let to = end;
  for (const [s, len, pblk] of unwrittenExtentsIn(v, ino, lblk, count)) {
    from = Math.min(from, s);
    to = Math.max(to, s + len);
    for (let x = s; x < s + len; x++) {
      if (x >= lblk && x < end) continue; // this io_end's data is on the device
      if (writeCachedPage(v, ino, x, pblk + (x - s))) continue;
      if (queued.some(([l, c]) => x >= l && x < l + c)) continue;
      v.dev.writeMeta((pblk + (x - s)) * BLOCK_SIZE, ZERO_BLOCK); // buffered fd: any alignment
    }
  }
  return [from, to];
}

/** Write the cached, uptodate page of (ino, index) to `pblk` under its page lock; false if none. */
function writeCachedPage(v: Volume, ino: number, index: number, pblk: number): boolean {
  const p = findGetPage(v, ino, index);
  if (p < 0) return false;
  const lt = lockPage(v, p);
  try {
    if (pageIno(v, p) !== ino || pageIndex(v, p) !== index || !(pageFlags(v, p) & PG_UPTODATE)) return false;
    v.dev.writeBlocks(pblk, 1, v.frames, frameOf(v, p));
    return true;
  } finally {
    unlockPage(v, p, lt);
    putPage(v, p);
  }
}
