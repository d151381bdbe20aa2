// io_end lifecycle, the per-inode completed list, writeback, and the conversion queue.
// ext4 counterpart: fs/ext4/page-io.c and the seed's additions to fs/ext4/inode.c:
// ext4_init_io_end (with the retry loop of ext4_set_bh_endio), ext4_free_io_end,
// ext4_end_io_buffer_write, ext4_end_io_nolock, flush_completed_IO, ext4_invalidatepage_free_endio,
// and queue_work on dio_unwritten_wq.
//
// Lifetimes (one owner at a time, as the seed's get/put pairs):
//   allocIoEnd          the writer owns it (IOS_ALLOCATED, not linked)
//   endIoWrite          it is linked on the inode's i_completed_io_list: the list owns it
//   flushCompletedIO    whoever holds the inode mutex peeks the head, converts it with the spinlock
//                       dropped, unlinks it under the spinlock and frees it: the mutex is what stops
//                       the worker and sync() from converting the same io_end twice
//   freeIoEndsBeyond    truncate unlinks and frees io_ends of dropped pages without converting them
// A page written back while its block is UNWRITTEN stays pinned (a reference per io_end) until the
// io_end is freed, so it cannot be evicted before conversion (DESIGN.md invariant 3).
//
// Lock scope: i_completed_io_lock is a spinlock held only to link or unlink (invariant 5): never
// across I/O, a conversion, a free or a wait. Lock order: i_mutex > page lock > mapping_lock /
// i_completed_io_lock / io_end_pool / wq_lock / alloc_lock (the last five are leaves).

import { DioreadError, InvariantError } from './errors.js';
import {
  BLOCK_SIZE,
  EXT4_IO_UNWRITTEN,
  H_CONVERSION_ERRORS,
  H_CONVERSIONS,
  H_DIRTY_PAGES,
  H_DOORBELL,
  H_IOEND_FREE_COUNT,
  H_IOEND_FREE_HEAD,
  H_IOEND_LOCK,
  H_IOEND_WAITS,
  H_WQ_HEAD,
  H_WQ_LOCK,
  H_WQ_TAIL,
  H_WRITEBACKS,
  I_COMPLETED_HEAD,
  I_COMPLETED_LEN,
  I_COMPLETED_LOCK,
  I_COMPLETED_TAIL,
  I_MUTEX,
  I_SEQ,
  I_WQ_QUEUED,
  IO_COUNT,
  IO_FLAG,
  IO_INO,
  IO_LBLK,
  IO_LINKED,
  IO_NEXT,
  IO_PAGE,
  IO_PREV,
  IO_STATE,
  IOS_ALLOCATED,
  IOS_FREE,
  LC_COMPLETED_IO,
  LC_IO_END_POOL,
  LC_WQ,
  OP_WRITEBACK,
  PG_DIRTY,
  PG_UNINIT,
  PG_UPTODATE,
  PG_WRITEBACK,
  TK_CONVERT,
  TK_LIST_LEN,
  type Layout,
  inodeWord,
  ioEndWord,
} from './shm/layout.js';
import { holds, seqWriteBegin, seqWriteEnd, spinLock, unlock } from './sync/lock.js';
import {
  clearPageFlags,
  findGetPage,
  findPageSure,
  frameOf,
  getPage,
  inodePages,
  isPageLocked,
  lockPage,
  pageFlags,
  pageIndex,
  pageIno,
  pagePblk,
  putPage,
  setPageFlags,
  tryLockPage,
  unlockPage,
} from './cache.js';
import { conversionSplits, convertUnwritten, extentRoom, unwrittenExtentsIn } from './extents.js';
import { nowNs, traceEvent, tracing } from './sync/trace.js';
import { inHandle, markInodeDirty } from './transaction.js';
import type { Volume } from './volume.js';

/** Lay out the free list at setup (before any thread attaches). */
export function initIoEndPool(i32: Int32Array, l: Layout): void {
  for (let io = 0; io < l.ioEnds; io++) {
    i32[ioEndWord(l, io, IO_STATE)] = IOS_FREE;
    i32[ioEndWord(l, io, IO_NEXT)] = io + 1 < l.ioEnds ? io + 1 : -1;
    i32[ioEndWord(l, io, IO_LINKED)] = 0;
  }
  i32[H_IOEND_FREE_HEAD] = l.ioEnds > 0 ? 0 : -1;
  i32[H_IOEND_FREE_COUNT] = l.ioEnds;
}

const W = (v: Volume, io: number, f: number) => ioEndWord(v.layout, io, f);

/**
 * ext4_init_io_end with the seed's retry loop (ext4_set_bh_endio): when the pool is empty, wait for
 * a free and retry; never fail. While waiting, a caller that holds an inode mutex (`heldIno`)
 * drains that inode's completed list itself, because the conversion worker would need that mutex:
 * that is what keeps a tiny pool from deadlocking.
 */
export function allocIoEnd(v: Volume, ino: number, heldIno: number): number {
  const i32 = v.i32;
  const start = performance.now();
  for (let tries = 0; ; tries++) {
    const tok = spinLock(v, H_IOEND_LOCK, LC_IO_END_POOL);
    const io = i32[H_IOEND_FREE_HEAD];
    if (io >= 0) {
      if (i32[W(v, io, IO_STATE)] !== IOS_FREE) {
        unlock(v, H_IOEND_LOCK, LC_IO_END_POOL, tok);
        throw new InvariantError(`io_end pool: free-list head ${io} is not free (state ${i32[W(v, io, IO_STATE)]})`);
      }
      i32[H_IOEND_FREE_HEAD] = i32[W(v, io, IO_NEXT)];
      Atomics.sub(i32, H_IOEND_FREE_COUNT, 1);
      i32[W(v, io, IO_STATE)] = IOS_ALLOCATED;
      unlock(v, H_IOEND_LOCK, LC_IO_END_POOL, tok);
      i32[W(v, io, IO_FLAG)] = 0;
      i32[W(v, io, IO_INO)] = ino;
      i32[W(v, io, IO_LBLK)] = 0;
      i32[W(v, io, IO_COUNT)] = 0;
      i32[W(v, io, IO_PAGE)] = -1;
      i32[W(v, io, IO_NEXT)] = -1;
      i32[W(v, io, IO_PREV)] = -1;
      i32[W(v, io, IO_LINKED)] = 0;
      return io;
    }
    unlock(v, H_IOEND_LOCK, LC_IO_END_POOL, tok);
    if (tries === 0) Atomics.add(i32, H_IOEND_WAITS, 1);
    if (heldIno >= 0) flushCompletedIO(v, heldIno);
    kickConversionWorker(v);
    if (!v.canBlock) throw new InvariantError('io_end pool empty on the main thread, which may not wait');
    // Bounded (TigerBeetle's rule): io_ends come back as conversions run; none for this long means
    // conversion is stuck (a dead owner's inode mutex, a failing device), not that we should wait on.
    if (performance.now() - start > IO_END_WAIT_MS) {
      throw new DioreadError('EIO', `io_end pool: none of ${v.layout.ioEnds} io_ends came back for ${IO_END_WAIT_MS} ms (conversions are not making progress)`);
    }
    Atomics.wait(i32, H_IOEND_FREE_COUNT, 0, 5);
  }
}

/** How long a writer waits for a free io_end before it reports the pool stuck. */
export const IO_END_WAIT_MS = 60_000;

/**
 * ext4_free_io_end: drop the page pins, return the record to the pool. The caller owns `io`
 * (it is not linked on any list).
 */
export function freeIoEnd(v: Volume, io: number): void {
  const i32 = v.i32;
  if (i32[W(v, io, IO_STATE)] !== IOS_ALLOCATED) throw new InvariantError(`io_end ${io}: freed while not allocated (state ${i32[W(v, io, IO_STATE)]})`);
  if (i32[W(v, io, IO_LINKED)] !== 0) throw new InvariantError(`io_end ${io}: freed while still on inode ${i32[W(v, io, IO_INO)]}'s completed list`);
  if (i32[W(v, io, IO_PAGE)] >= 0) unpinRange(v, i32[W(v, io, IO_INO)], i32[W(v, io, IO_LBLK)], i32[W(v, io, IO_COUNT)]);
  i32[W(v, io, IO_PAGE)] = -1;
  const tok = spinLock(v, H_IOEND_LOCK, LC_IO_END_POOL);
  i32[W(v, io, IO_STATE)] = IOS_FREE;
  i32[W(v, io, IO_NEXT)] = i32[H_IOEND_FREE_HEAD];
  i32[H_IOEND_FREE_HEAD] = io;
  Atomics.add(i32, H_IOEND_FREE_COUNT, 1);
  unlock(v, H_IOEND_LOCK, LC_IO_END_POOL, tok);
  Atomics.notify(i32, H_IOEND_FREE_COUNT, 1);
}

/** put_page for each page of [lblk, lblk+count): the pins an io_end took at writeback. */
function unpinRange(v: Volume, ino: number, lblk: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const p = findPageSure(v, ino, lblk + i);
    if (p < 0) throw new InvariantError(`io_end pin: page of inode ${ino} index ${lblk + i} is not in the cache though pinned`);
    putPage(v, p);
  }
}

/** Ring the conversion worker's doorbell. */
export function kickConversionWorker(v: Volume): void {
  Atomics.add(v.i32, H_DOORBELL, 1);
  Atomics.notify(v.i32, H_DOORBELL, 1);
}

/**
 * queue_work(dio_unwritten_wq): put the inode on the ring once and ring the doorbell. The
 * conversion worker requeues an inode whose mutex is busy with `kick` false: it retries on a timer.
 */
export function queueConversion(v: Volume, ino: number, kick = true): void {
  const i32 = v.i32;
  if (Atomics.compareExchange(i32, inodeWord(v.layout, ino, I_WQ_QUEUED), 0, 1) !== 0) return; // already queued
  const tok = spinLock(v, H_WQ_LOCK, LC_WQ);
  const tail = i32[H_WQ_TAIL];
  if (tail - i32[H_WQ_HEAD] >= v.layout.maxFiles) {
    unlock(v, H_WQ_LOCK, LC_WQ, tok);
    throw new InvariantError(`conversion ring: full with ${v.layout.maxFiles} inodes though each is queued once`);
  }
  i32[v.layout.wqRingBase + (tail % v.layout.maxFiles)] = ino;
  i32[H_WQ_TAIL] = tail + 1;
  unlock(v, H_WQ_LOCK, LC_WQ, tok);
  if (kick) kickConversionWorker(v);
}

/** The conversion worker's side of the ring: next queued inode, or -1. */
export function wqPop(v: Volume): number {
  const i32 = v.i32;
  const tok = spinLock(v, H_WQ_LOCK, LC_WQ);
  try {
    const head = i32[H_WQ_HEAD];
    if (head === i32[H_WQ_TAIL]) return -1;
    i32[H_WQ_HEAD] = head + 1;
    return i32[v.layout.wqRingBase + (head % v.layout.maxFiles)];
  } finally {
    unlock(v, H_WQ_LOCK, LC_WQ, tok);
  }
}

export function wqEmpty(v: Volume): boolean {
  return Atomics.load(v.i32, H_WQ_HEAD) === Atomics.load(v.i32, H_WQ_TAIL);
}

/**
 * ext4_end_io_buffer_write: the data of `io` is on the device. Mark it unwritten-pending, link it on
 * the inode's completed list under i_completed_io_lock, and queue the conversion. Unlike the seed,
 * nothing is ever discarded here, not even while the engine closes (invariant 7): close drains.
 */
export function endIoWrite(v: Volume, io: number): void {
  const i32 = v.i32;
  const ino = i32[W(v, io, IO_INO)];
  i32[W(v, io, IO_FLAG)] = EXT4_IO_UNWRITTEN;
  const lockWord = inodeWord(v.layout, ino, I_COMPLETED_LOCK);
  const tok = spinLock(v, lockWord, LC_COMPLETED_IO);
  // list_add_tail(&io_end->list, &ei->i_completed_io_list)
  const tail = i32[inodeWord(v.layout, ino, I_COMPLETED_TAIL)];
  i32[W(v, io, IO_PREV)] = tail;
  i32[W(v, io, IO_NEXT)] = -1;
  if (tail >= 0) i32[W(v, tail, IO_NEXT)] = io;
  else i32[inodeWord(v.layout, ino, I_COMPLETED_HEAD)] = io;
  i32[inodeWord(v.layout, ino, I_COMPLETED_TAIL)] = io;
  i32[W(v, io, IO_LINKED)] = 1;
  const len = Atomics.add(i32, inodeWord(v.layout, ino, I_COMPLETED_LEN), 1) + 1;
  unlock(v, lockWord, LC_COMPLETED_IO, tok);
  if (tracing(v)) traceEvent(v, TK_LIST_LEN, nowNs(), 0, ino, len, 0);
  queueConversion(v, ino);
}

/** list_del_init under i_completed_io_lock (caller holds it). */
function unlinkLocked(v: Volume, ino: number, io: number): void {
  const i32 = v.i32;
  const prev = i32[W(v, io, IO_PREV)];
  const next = i32[W(v, io, IO_NEXT)];
  if (prev >= 0) i32[W(v, prev, IO_NEXT)] = next;
  else i32[inodeWord(v.layout, ino, I_COMPLETED_HEAD)] = next;
  if (next >= 0) i32[W(v, next, IO_PREV)] = prev;
  else i32[inodeWord(v.layout, ino, I_COMPLETED_TAIL)] = prev;
  i32[W(v, io, IO_PREV)] = -1;
  i32[W(v, io, IO_NEXT)] = -1;
  i32[W(v, io, IO_LINKED)] = 0;
  const len = Atomics.sub(i32, inodeWord(v.layout, ino, I_COMPLETED_LEN), 1) - 1;
  if (tracing(v)) traceEvent(v, TK_LIST_LEN, nowNs(), 0, ino, len, 0);
}

/**
 * ext4_end_io_nolock: convert the io_end's range if it is still EXT4_IO_UNWRITTEN, then clear the
 * flag. Caller holds the inode mutex. The seqlock write section makes lockless readers retry.
 */
export function endIoNolock(v: Volume, io: number): void {
  const i32 = v.i32;
  if (i32[W(v, io, IO_FLAG)] !== EXT4_IO_UNWRITTEN) return;
  const ino = i32[W(v, io, IO_INO)];
  const lblk = i32[W(v, io, IO_LBLK)];
  const count = i32[W(v, io, IO_COUNT)];
  const seq = inodeWord(v.layout, ino, I_SEQ);
  const t0 = tracing(v) ? nowNs() : 0;
  // No room left for the splits (the extent table is fixed per file): convert whole extents
  // instead, after the zero-out below (else the io_end could never convert: sync and close failed
  // with ENOSPC for good and the session's metadata was never written).
  let [from, to] = [lblk, lblk + count];
  if (conversionSplits(v, ino, lblk, count) > extentRoom(v, ino)) [from, to] = zeroOutForConversion(v, ino, io, lblk, count);
  inHandle(v, ino, () => {
    seqWriteBegin(i32, seq);
    try {
      convertUnwritten(v, ino, from, to - from);
    } finally {
      seqWriteEnd(i32, seq);
    }
    markInodeDirty(v, ino);
  });
  if (t0 !== 0) traceEvent(v, TK_CONVERT, t0, nowNs() - t0, ino, lblk, count);
  i32[W(v, io, IO_FLAG)] = 0;
  // The blocks are written now: the cached pages no longer need the io_end path.
  if (i32[W(v, io, IO_PAGE)] >= 0) {
    for (let i = 0; i < count; i++) {
      const p = findPageSure(v, ino, lblk + i);
      if (p >= 0) clearPageFlags(v, p, PG_UNINIT);
    }
  }
  Atomics.add(i32, H_CONVERSIONS, 1);
  Atomics.notify(i32, H_CONVERSIONS);
}

const ZERO_BLOCK = new Uint8Array(BLOCK_SIZE);

/**
 * ext4_ext_zeroout (EXT4_EXT_MAY_ZEROOUT) for a conversion that cannot split: make every block of
 * the unwritten extents that [lblk, lblk+count) touches hold, on the device, what a reader must see
 * there, so that the whole extents can be marked written. A cached page is written as it is (under
 * its page lock, which also waits out writeback in flight); an uncached block whose data another
 * queued io_end already put on the device is left alone; any other block gets zeros, as an
 * unwritten block reads. Caller holds the inode mutex (no write, truncate or conversion runs),
 * outside the seqlock write section (this does I/O). Returns the range to convert.
 */
function zeroOutForConversion(v: Volume, ino: number, io: number, lblk: number, count: number): [number, number] {
  const end = lblk + count;
  const queued = queuedRanges(v, ino, io);
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

/** [lblk, count] of the io_ends other than `except` queued on the inode's list, still unconverted. */
function queuedRanges(v: Volume, ino: number, except: number): Array<[number, number]> {
  const i32 = v.i32;
  const lockWord = inodeWord(v.layout, ino, I_COMPLETED_LOCK);
  const out: Array<[number, number]> = [];
  const tok = spinLock(v, lockWord, LC_COMPLETED_IO);
  try {
    for (let io = i32[inodeWord(v.layout, ino, I_COMPLETED_HEAD)], n = 0; io >= 0 && n < v.layout.ioEnds; io = i32[W(v, io, IO_NEXT)], n++) {
      if (io !== except && i32[W(v, io, IO_FLAG)] === EXT4_IO_UNWRITTEN) out.push([i32[W(v, io, IO_LBLK)], i32[W(v, io, IO_COUNT)]]);
    }
  } finally {
    unlock(v, lockWord, LC_COMPLETED_IO, tok);
  }
  return out;
}

/**
 * flush_completed_IO: convert every io_end on the inode's completed list. The caller holds the inode
 * mutex (sync, the conversion worker, a writer short of io_ends or frames). As in the seed, the
 * spinlock is dropped around each conversion; the head stays linked while it is converted and is
 * unlinked afterwards. Returns the number of io_ends converted and freed.
 */
export function flushCompletedIO(v: Volume, ino: number): number {
  const i32 = v.i32;
  const l = v.layout;
  if (!holds(v, inodeWord(l, ino, I_MUTEX))) {
    throw new InvariantError(`flush_completed_IO of inode ${ino} without its i_mutex (thread slot ${v.slot})`);
  }
  const lockWord = inodeWord(l, ino, I_COMPLETED_LOCK);
  const headWord = inodeWord(l, ino, I_COMPLETED_HEAD);
  let done = 0;
  // Bounded: every io_end this loop meets was allocated from the pool; more conversions than the
  // pool and the cache could ever feed one inode while we hold its mutex means a broken list.
  const bound = 4 * l.ioEnds + l.cachePages;
  let tok = spinLock(v, lockWord, LC_COMPLETED_IO);
  while (i32[headWord] >= 0) {
    if (done > bound) {
      unlock(v, lockWord, LC_COMPLETED_IO, tok);
      throw new InvariantError(`flush_completed_IO of inode ${ino}: more than ${bound} io_ends converted in one pass (completed list loops?)`);
    }
    const io = i32[headWord];
    unlock(v, lockWord, LC_COMPLETED_IO, tok);
    try {
      endIoNolock(v, io);
    } catch (err) {
      // The seed leaves a failed io_end on the list (ret2 < 0); so do we, and report it.
      Atomics.add(i32, H_CONVERSION_ERRORS, 1);
      throw err;
    }
    tok = spinLock(v, lockWord, LC_COMPLETED_IO);
    unlinkLocked(v, ino, io);
    unlock(v, lockWord, LC_COMPLETED_IO, tok);
    freeIoEnd(v, io);
    done++;
    tok = spinLock(v, lockWord, LC_COMPLETED_IO);
  }
  unlock(v, lockWord, LC_COMPLETED_IO, tok);
  return done;
}

/**
 * ext4_invalidatepage_free_endio, for truncate: io_ends whose pages are dropped (index >= fromIndex)
 * are unlinked and freed without conversion; one straddling the cut is trimmed. Caller holds i_mutex.
 */
export function freeIoEndsBeyond(v: Volume, ino: number, fromIndex: number): number {
  const i32 = v.i32;
  const l = v.layout;
  const lockWord = inodeWord(l, ino, I_COMPLETED_LOCK);
  const drop: number[] = [];
  const trims: Array<[number, number]> = [];
  const tok = spinLock(v, lockWord, LC_COMPLETED_IO);
  let io = i32[inodeWord(l, ino, I_COMPLETED_HEAD)];
  for (let steps = 0; io >= 0; steps++) {
    if (steps > l.ioEnds) {
      unlock(v, lockWord, LC_COMPLETED_IO, tok);
      throw new InvariantError(`completed list of inode ${ino}: longer than the ${l.ioEnds}-io_end pool (it loops)`);
    }
    const next = i32[W(v, io, IO_NEXT)];
    const lb = i32[W(v, io, IO_LBLK)];
    const c = i32[W(v, io, IO_COUNT)];
    if (lb >= fromIndex) {
      unlinkLocked(v, ino, io);
      drop.push(io);
    } else if (lb + c > fromIndex) {
      i32[W(v, io, IO_COUNT)] = fromIndex - lb;
      // Only a writeback io_end pins pages (IO_PAGE >= 0); a direct one left queued pins none.
      if (i32[W(v, io, IO_PAGE)] >= 0) trims.push([fromIndex, lb + c - fromIndex]);
    }
    io = next;
  }
  unlock(v, lockWord, LC_COMPLETED_IO, tok);
  for (const [from, n] of trims) unpinRange(v, ino, from, n);
  for (const d of drop) {
    i32[W(v, d, IO_FLAG)] = 0;
    freeIoEnd(v, d);
  }
  return drop.length;
}

/**
 * Write back a run of pages the caller holds locked: consecutive indexes, consecutive physical
 * blocks, all dirty, all with the same PG_UNINIT state. For an UNINIT run `io` is a fresh io_end:
 * it pins the pages and goes on the completed list once the data is on the device.
 */
function writeRun(v: Volume, ino: number, pages: number[], uninit: boolean, io: number): void {
  const i32 = v.i32;
  const pblk = pagePblk(v, pages[0]);
  for (const p of pages) setPageFlags(v, p, PG_WRITEBACK);
  try {
    if (pages.length === 1) v.dev.writeBlocks(pblk, 1, v.frames, frameOf(v, pages[0]));
    else v.dev.writeBlockList(pblk, pages.map((p) => v.frames.subarray(frameOf(v, p), frameOf(v, p) + BLOCK_SIZE)));
  } catch (err) {
    for (const p of pages) clearPageFlags(v, p, PG_WRITEBACK);
    throw err;
  }
  for (const p of pages) {
    if (clearPageFlags(v, p, PG_DIRTY) & PG_DIRTY) Atomics.sub(i32, H_DIRTY_PAGES, 1);
  }
  if (uninit) {
    i32[W(v, io, IO_LBLK)] = pageIndex(v, pages[0]);
    i32[W(v, io, IO_COUNT)] = pages.length;
    if (v.unsafeUnpinAtWriteback) {
      // Test-only broken mode: an ordinary clean page now, evictable before conversion (dccaf33f).
      for (const p of pages) clearPageFlags(v, p, PG_UNINIT);
    } else {
      i32[W(v, io, IO_PAGE)] = pages[0];
      for (const p of pages) getPage(v, p); // the seed's get_page: pinned until converted
    }
    endIoWrite(v, io);
  }
  for (const p of pages) clearPageFlags(v, p, PG_WRITEBACK);
  Atomics.add(i32, H_WRITEBACKS, pages.length);
}

/**
 * Write back one dirty page under memory pressure (ext4_writepage from reclaim). The io_end is taken
 * before the page lock, so nobody sleeps on the pool while holding a page lock. Skips a page
 * someone else holds locked. Returns true if it wrote.
 */
export function writebackPage(v: Volume, p: number, heldIno: number): boolean {
  const f0 = pageFlags(v, p);
  if (!(f0 & PG_DIRTY)) return false;
  const savedOp = v.op;
  v.setOp(OP_WRITEBACK);
  let io = (f0 & PG_UNINIT) !== 0 ? allocIoEnd(v, pageIno(v, p), heldIno) : -1;
  try {
    const lt = tryLockPage(v, p);
    if (lt < 0) return false;
    try {
      const f = pageFlags(v, p);
      const ino = pageIno(v, p);
      if (!(f & PG_DIRTY) || ino < 0) return false;
      const uninit = (f & PG_UNINIT) !== 0;
      if (uninit && (io < 0 || i32Ino(v, io) !== ino)) return false; // changed under us; reclaim moves on
      if (pagePblk(v, p) < 0) throw new InvariantError(`page ${p} (inode ${ino} index ${pageIndex(v, p)}) is dirty with no physical block`);
      writeRun(v, ino, [p], uninit, io);
      if (uninit) io = -1; // the completed list owns it now
      return true;
    } finally {
      unlockPage(v, p, lt);
    }
  } finally {
    if (io >= 0) freeIoEnd(v, io);
    v.setOp(savedOp);
  }
}

function i32Ino(v: Volume, io: number): number {
  return v.i32[W(v, io, IO_INO)];
}

/** Most pages one writev carries. */
const MAX_RUN_PAGES = 64;

/**
 * Write back every dirty page of an inode (filemap_write_and_wait for sync, close, direct I/O).
 * Caller holds the inode mutex. Each page is locked, which also waits out writeback that another
 * thread has in flight, so when this returns every earlier write is on the device and its io_end is
 * on the completed list. Returns pages written.
 */
export function writebackInode(v: Volume, ino: number, fromIndex = 0, toIndex = 0x7fffffff): number {
  const savedOp = v.op;
  v.setOp(OP_WRITEBACK);
  try {
    return writebackInodeRange(v, ino, fromIndex, toIndex);
  } finally {
    v.setOp(savedOp);
  }
}

function writebackInodeRange(v: Volume, ino: number, fromIndex: number, toIndex: number): number {
  const pages = inodePages(v, ino, fromIndex).filter((p) => pageIndex(v, p) < toIndex);
  let written = 0;
  let run: number[] = [];
  let runTokens: number[] = [];
  let runUninit = false;
  // The io_end for an UNINIT run is taken before the run's first page lock, as writebackPage does:
  // allocIoEnd may wait for the pool, and a thread waiting there with page locks held deadlocked
  // with another writeback waiting for one of those locks (a pool of 1 under 4 writers).
  let spare = -1;
  const flush = () => {
    if (run.length === 0) return;
    const pages = run;
    const tokens = runTokens;
    run = [];
    runTokens = [];
    const io = runUninit ? spare : -1;
    if (runUninit) spare = -1;
    try {
      writeRun(v, ino, pages, runUninit, io);
    } catch (err) {
      if (io >= 0) freeIoEnd(v, io);
      throw err;
    } finally {
      for (let i = 0; i < pages.length; i++) unlockPage(v, pages[i], tokens[i]);
    }
    written += pages.length;
  };
  try {
    for (let k = 0; k < pages.length; ) {
      const p = pages[k];
      // Skip clean pages nobody holds; a locked page may be under writeback elsewhere: wait it out.
      if (!(pageFlags(v, p) & PG_DIRTY) && !isPageLocked(v, p)) {
        k++;
        continue;
      }
      // PG_UNINIT is stable here: it is set and cleared only under the inode mutex, which we hold.
      if (run.length === 0 && spare < 0 && pageFlags(v, p) & PG_UNINIT) spare = allocIoEnd(v, ino, ino);
      // With page locks held, only try: the page may have been reclaimed for another inode since
      // the scan, and its new owner may be waiting for one of ours. Without any, wait for it.
      const lt = run.length > 0 ? tryLockPage(v, p) : lockPage(v, p);
      if (lt < 0) {
        flush();
        continue;
      }
      const f = pageFlags(v, p);
      if (pageIno(v, p) !== ino || !(f & PG_DIRTY)) {
        unlockPage(v, p, lt);
        k++;
        continue;
      }
      const uninit = (f & PG_UNINIT) !== 0;
      const last = run.length > 0 ? run[run.length - 1] : -1;
      const contiguous =
        last >= 0 &&
        uninit === runUninit &&
        pageIndex(v, p) === pageIndex(v, last) + 1 &&
        pagePblk(v, p) === pagePblk(v, last) + 1 &&
        run.length < MAX_RUN_PAGES;
      if (run.length > 0 && !contiguous) {
        // Start a new run with no page lock held (it may need an io_end first).
        unlockPage(v, p, lt);
        flush();
        continue;
      }
      if (run.length === 0 && uninit && spare < 0) {
        unlockPage(v, p, lt);
        continue; // became UNINIT after the peek (cannot under the mutex; cheap to handle)
      }
      if (run.length === 0) runUninit = uninit;
      run.push(p);
      runTokens.push(lt);
      k++;
    }
    flush();
  } finally {
    for (let i = 0; i < run.length; i++) unlockPage(v, run[i], runTokens[i]);
    if (spare >= 0) freeIoEnd(v, spare);
  }
  return written;
}

export function dirtyPages(v: Volume): number {
  return Atomics.load(v.i32, H_DIRTY_PAGES);
}

export function completedListLength(v: Volume, ino: number): number {
  return Atomics.load(v.i32, inodeWord(v.layout, ino, I_COMPLETED_LEN));
}
