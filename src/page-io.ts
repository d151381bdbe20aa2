// io_end lifecycle and the per-inode completed list (writeback is in writeback.ts, the conversion
// queue in workqueue.ts, the zero-out fallback in extents.ts).
// ext4 counterpart: fs/ext4/page-io.c and the seed's additions to fs/ext4/inode.c:
// ext4_init_io_end (with the retry loop of ext4_set_bh_endio), ext4_free_io_end,
// ext4_end_io_buffer_write, ext4_end_io_nolock, flush_completed_IO, ext4_invalidatepage_free_endio.
//
// Lifetimes (one owner at a time, as the seed's get/put pairs):
//   allocIoEnd          the writer owns it (IOS_ALLOCATED, not linked)
//   endIoWrite          it is linked on the inode's i_completed_io_list: the list owns it
//   flushCompletedIO    whoever holds the inode mutex peeks the head, converts it with the spinlock
//                       dropped, unlinks it under the spinlock and frees it: the mutex is what stops
//                       the worker and sync() from converting the same io_end twice
//   invalidatepageFreeEndio    truncate unlinks and frees io_ends of dropped pages without converting them
// A page written back while its block is UNWRITTEN stays pinned (a reference per io_end) until the
// io_end is freed, so it cannot be evicted before conversion (DESIGN.md invariant 3).
//
// Lock scope: i_completed_io_lock is a spinlock held only to link or unlink (invariant 5): never
// across I/O, a conversion, a free or a wait. Lock order: i_mutex > page lock > mapping_lock /
// i_completed_io_lock / io_end_pool / wq_lock / alloc_lock (the last five are leaves).

import { DioreadError, InvariantError } from './errors.js';
import {
  EXT4_IO_UNWRITTEN,
  H_CONVERSION_ERRORS,
  H_CONVERSIONS,
  H_IOEND_FREE_COUNT,
  H_IOEND_FREE_HEAD,
  H_IOEND_LOCK,
  H_IOEND_WAITS,
  I_COMPLETED_HEAD,
  I_COMPLETED_LEN,
  I_COMPLETED_LOCK,
  I_COMPLETED_TAIL,
  I_MUTEX,
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
  PG_UNINIT,
  TK_CONVERT,
  TK_LIST_LEN,
  type Layout,
  inodeWord,
  ioEndWord,
} from './shm/layout.js';
import { assertHeld, holds, spinLock, unlock } from './sync/lock.js';
import {
  clearPageFlags,
  findPageSure,
  getPage,
  putPage,
} from './cache.js';
import { assertInodeLocked, changeExtents, conversionNodes, convertUnwrittenExtents, extZeroout, nodesAvailable } from './extents.js';
import { kickConversionWorker, queueConversion } from './workqueue.js';
import { nowNs, traceEvent, tracing } from './sync/trace.js';
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
 * Model: model/dioread.pml inline alloc_io_end (and io_take in writeback_page) (docs/MODEL.md).
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
 * Model: model/dioread.pml inline free_io_end (docs/MODEL.md).
 */
export function freeIoEnd(v: Volume, io: number): void {
  const i32 = v.i32;
  if (i32[W(v, io, IO_STATE)] !== IOS_ALLOCATED) throw new InvariantError(`io_end ${io}: freed while not allocated (state ${i32[W(v, io, IO_STATE)]})`);
  if (i32[W(v, io, IO_LINKED)] !== 0) throw new InvariantError(`io_end ${io}: freed while still on inode ${i32[W(v, io, IO_INO)]}'s completed list`);
  // ext4_release_io_end's second BUG_ON: an io_end still marked unwritten was never converted.
  if (i32[W(v, io, IO_FLAG)] === EXT4_IO_UNWRITTEN) throw new InvariantError(`io_end ${io}: freed while still EXT4_IO_UNWRITTEN (inode ${i32[W(v, io, IO_INO)]}, lblk ${i32[W(v, io, IO_LBLK)]}: never converted)`);
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
/**
 * ext4_set_bh_endio: the io_end covers [lblk, lblk+count) of its inode, and the written-back pages
 * (consecutive, caller holds their locks) get a reference each — the seed's get_page — so they stay
 * cached until the io_end is freed after conversion (invariant 3). `pages` null: no pin (only the
 * test-only UNSAFE_UNPIN_AT_WRITEBACK mode).
 */
export function setBhEndio(v: Volume, io: number, lblk: number, count: number, pages: number[] | null): void {
  const i32 = v.i32;
  if (i32[W(v, io, IO_STATE)] !== IOS_ALLOCATED || i32[W(v, io, IO_LINKED)] !== 0) throw new InvariantError(`io_end ${io}: set up while not a fresh allocation`);
  i32[W(v, io, IO_LBLK)] = lblk;
  i32[W(v, io, IO_COUNT)] = count;
  if (pages === null) return;
  i32[W(v, io, IO_PAGE)] = pages[0];
  for (const p of pages) getPage(v, p);
}

/** The inode an io_end belongs to. */
export function ioEndIno(v: Volume, io: number): number {
  return v.i32[W(v, io, IO_INO)];
}

/**
 * put_page for each page of [lblk, lblk+count): the pins an io_end took at writeback.
 * Model: model/dioread.pml inline free_io_end (docs/MODEL.md).
 */
function unpinRange(v: Volume, ino: number, lblk: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const p = findPageSure(v, ino, lblk + i);
    if (p < 0) throw new InvariantError(`io_end pin: page of inode ${ino} index ${lblk + i} is not in the cache though pinned`);
    putPage(v, p);
  }
}
/**
 * ext4_end_io_buffer_write: the data of `io` is on the device. Mark it unwritten-pending, link it on
 * the inode's completed list under i_completed_io_lock, and queue the conversion. Unlike the seed,
 * nothing is ever discarded here, not even while the engine closes (invariant 7): close drains.
 * Model: model/dioread.pml inline write_run (second step) and queue_conversion (docs/MODEL.md).
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
/**
 * list_del_init under i_completed_io_lock (caller holds it).
 * Model: model/dioread.pml inline unlink_locked (docs/MODEL.md).
 */
function unlinkLocked(v: Volume, ino: number, io: number): void {
  const i32 = v.i32;
  assertHeld(v, inodeWord(v.layout, ino, I_COMPLETED_LOCK), LC_COMPLETED_IO, `unlinking io_end ${io} from inode ${ino}'s completed list`);
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
 * Model: model/dioread.pml inline end_io_nolock; model/journal.pml writerB W_convert (docs/MODEL.md).
 */
export function endIoNolock(v: Volume, io: number): void {
  const i32 = v.i32;
  if (i32[W(v, io, IO_FLAG)] !== EXT4_IO_UNWRITTEN) return;
  const ino = i32[W(v, io, IO_INO)];
  assertInodeLocked(v, ino, 'end_io conversion');
  const lblk = i32[W(v, io, IO_LBLK)];
  const count = i32[W(v, io, IO_COUNT)];
  const t0 = tracing(v) ? nowNs() : 0;
  // No free block for the tree nodes the splits need: convert whole extents instead, after the
  // zero-out (EXT4_EXT_MAY_ZEROOUT; else the io_end could never convert: sync and close failed with
  // ENOSPC for good and the session's metadata was never written).
  let [at, to] = [lblk, lblk + count];
  if (!nodesAvailable(v, conversionNodes(v, ino, lblk, count))) [at, to] = extZeroout(v, ino, lblk, count, queuedRanges(v, ino, io));
  while (at < to) {
    // A conversion over many leaves goes in pieces, committed between them (changeExtents).
    const next = changeExtents(v, ino, () => convertUnwrittenExtents(v, ino, at, to - at));
    if (next < 0) [at, to] = extZeroout(v, ino, at, to - at, queuedRanges(v, ino, io));
    else at = next;
  }
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
 * Model: model/dioread.pml inline flush_completed_io (docs/MODEL.md).
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
 * Model: model/dioread.pml truncate T_free_endio (docs/MODEL.md).
 */
export function invalidatepageFreeEndio(v: Volume, ino: number, fromIndex: number): number {
  const i32 = v.i32;
  assertInodeLocked(v, ino, 'truncate freeing io_ends');
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
export function completedListLength(v: Volume, ino: number): number {
  return Atomics.load(v.i32, inodeWord(v.layout, ino, I_COMPLETED_LEN));
}
