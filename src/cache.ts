// Page cache: fixed frames in a SharedArrayBuffer, descriptors with PG_* flags and reference
// counts, an (inode, index) hash, and CLOCK eviction.
// ext4/kernel counterpart: mm/filemap.c (find_get_page, find_or_create_page / grab_cache_page,
// lock_page, delete_from_page_cache) and the reclaim side of mm/vmscan.c, cut down to one CLOCK hand.
//
// Thread safety:
// - mapping_lock (H_HASH_LOCK, a spinlock) guards hash chains and page identity (P_INO, P_INDEX)
//   and the claim of a free frame. Identity changes happen inside an odd P_SEQ section.
// - The page lock (P_LOCK, PG_locked) is held to fill a page, to copy data into it, and across its
//   writeback I/O. It is never held while waiting for an io_end or an inode mutex.
// - A cache hit takes no lock and no reference: it validates with P_SEQ (readPageFast). That is what
//   lets readers scale: a hit costs a hash probe, two sequence loads and a copy.
// Invariants: a page with refcount > 0, PG_DIRTY or a held page lock is never evicted; pages
// awaiting conversion hold a reference from their io_end (the seed's get_page in ext4_set_bh_endio).

import { DioreadError, InvariantError, detail } from './errors.js';
import {
  H_CLOCK_HAND,
  H_CONVERSIONS,
  H_EVICTIONS,
  H_HASH_LOCK,
  H_HASH_MASK,
  H_HASH_SEQ,
  LC_MAPPING,
  LC_PAGE,
  P_FLAGS,
  P_HASH_NEXT,
  P_INDEX,
  P_INO,
  P_LOCK,
  P_PBLK,
  P_REFCOUNT,
  P_REFERENCED,
  P_SEQ,
  frameOffset,
  hashBucketWord,
  pageWord,
  PG_DIRTY,
  PG_UNINIT,
  PG_UPTODATE,
  PG_WRITEBACK,
} from './shm/layout.js';
import { assertHeld, lock, spinLock, tryLock, unlock } from './sync/lock.js';
import type { Volume } from './volume.js';

export function pageHash(ino: number, index: number): number {
  return (Math.imul(ino + 1, 0x9e3779b1) ^ Math.imul(index, 0x85ebca6b)) >>> 0;
}

/**
 * What reclaim needs from the I/O layer: write back a dirty page, drain an inode's completed list
 * (so pinned pages unpin), wake the conversion worker. The kernel's address_space_operations:
 * writeback.ts registers them when it loads, so the cache calls down without importing up.
 */
export interface ReclaimOps {
  writepage(v: Volume, p: number, heldIno: number): boolean;
  flushCompletedIO(v: Volume, ino: number): number;
  kickConversion(v: Volume): void;
}

let registered: ReclaimOps | null = null;

export function registerReclaimOps(ops: ReclaimOps): void {
  registered = ops;
}

function reclaimOps(): ReclaimOps {
  if (registered === null) throw new InvariantError('page cache: reclaim needs writeback, and writeback.ts registered none (not loaded in this thread?)');
  return registered;
}

/** Descriptor word index of page p. */
export function pd(v: Volume, p: number): number {
  return pageWord(v.layout, p, 0);
}

export function frameOf(v: Volume, p: number): number {
  return frameOffset(v.frameByteOffset, p);
}

/**
 * Lockless probe: the page caching (ino, index), or -1. The answer is a hint; callers validate.
 * Model: model/pagehash.pml inline find_page (model/dioread.pml: inline lookup) (docs/MODEL.md).
 */
export function findPage(v: Volume, ino: number, index: number): number {
  const i32 = v.i32;
  const l = v.layout;
  let p = i32[hashBucketWord(l, pageHash(ino, index), i32[H_HASH_MASK])];
  let steps = 0;
  while (p >= 0) {
    const d = pageWord(l, p, 0);
    if (i32[d + P_INDEX] === index && i32[d + P_INO] === ino) return p;
    p = i32[d + P_HASH_NEXT];
    if (++steps > l.cachePages) return -1; // a chain changed under us: give up, the slow path locks
  }
  return -1;
}

/**
 * The cache-hit read: copy `len` bytes at `pageOff` of page (ino, index) into dst[dstOff..] with no
 * lock and no reference, validated by the page seqcount. False means "not served: take the slow path".
 * Model: model/dioread.pml inlines fast_sample, fast_copy (docs/MODEL.md).
 */
export function readPageFast(v: Volume, ino: number, index: number, dst: Uint8Array, dstOff: number, pageOff: number, len: number): boolean {
  const p = findPage(v, ino, index);
  if (p < 0) return false;
  const i32 = v.i32;
  const d = pageWord(v.layout, p, 0);
  const s = Atomics.load(i32, d + P_SEQ);
  if (s & 1) return false;
  if ((Atomics.load(i32, d + P_FLAGS) & PG_UPTODATE) === 0) return false;
  if (i32[d + P_INDEX] !== index || i32[d + P_INO] !== ino) return false;
  // TypedArray#set of a view, not Buffer#copy: the same copy without node's argument checks
  // (about 30 ns of a ~500 ns hit here). bench/readers/sab-memcpy.ts copies the same way.
  dst.set(new Uint8Array(v.frames.buffer, frameOffset(v.frameByteOffset, p) + pageOff, len), dstOff);
  if (Atomics.load(i32, d + P_SEQ) !== s) return false;
  if (i32[d + P_REFERENCED] === 0) i32[d + P_REFERENCED] = 1; // plain store, no RMW: PG_referenced
  return true;
}

/**
 * The page of (ino, index) in the hash, or -1; the caller holds mapping_lock.
 * Model: model/dioread.pml inline lookup (docs/MODEL.md).
 */
function lookupLocked(v: Volume, ino: number, index: number): number {
  const i32 = v.i32;
  let p = i32[hashBucketWord(v.layout, pageHash(ino, index), i32[H_HASH_MASK])];
  let steps = 0;
  while (p >= 0) {
    const d = pd(v, p);
    if (i32[d + P_INDEX] === index && i32[d + P_INO] === ino) return p;
    p = i32[d + P_HASH_NEXT];
    if (++steps > v.layout.cachePages) throw new InvariantError(`page hash: chain for inode ${ino} index ${index} loops`);
  }
  return -1;
}

/**
 * The page hash's change counter (H_HASH_SEQ) is a seqcount: odd from before the first store of a
 * chain change (insert, removal, and the clearing of the removed page's next link) until after the
 * last. A lock-free walk that starts on an even count and finds it unchanged afterwards overlapped
 * no change, so its "not cached" is the truth. (Bumped only before the change, as it once was, a
 * walk that began just after the bump could stand on a page whose next link was then cleared and
 * miss the pages behind it, trusting the miss: direct reads returned older bytes from the device
 * while a dirty page held the newer ones, issue 7 bug 5.) Caller holds mapping_lock.
 * Model: model/pagehash.pml first step of inlines evict and insert (docs/MODEL.md).
 */
function hashChangeBegin(v: Volume): void {
  assertHeld(v, H_HASH_LOCK, LC_MAPPING, 'a page-hash chain change');
  const s = Atomics.add(v.i32, H_HASH_SEQ, 1);
  if (s & 1) throw new InvariantError(`page hash: change counter odd (${s}) at the start of a change`);
}
// Model: model/pagehash.pml last step of inlines evict and insert (docs/MODEL.md).
function hashChangeEnd(v: Volume): void {
  Atomics.add(v.i32, H_HASH_SEQ, 1);
}

/**
 * A snapshot of the hash's change counter for a lock-free walk (odd: a change is under way).
 * Model: model/pagehash.pml inline walk_begin (docs/MODEL.md).
 */
export function hashWalkBegin(v: Volume): number {
  return Atomics.load(v.i32, H_HASH_SEQ);
}
/**
 * True when no chain changed since `s` was taken (and none was changing then).
 * Model: model/pagehash.pml inline walk_end (docs/MODEL.md).
 */
export function hashWalkValid(v: Volume, s: number): boolean {
  return (s & 1) === 0 && Atomics.load(v.i32, H_HASH_SEQ) === s;
}

// Model: model/pagehash.pml inline insert, label M_hook (docs/MODEL.md).
function hashInsert(v: Volume, p: number, ino: number, index: number): void {
  const i32 = v.i32;
  const b = hashBucketWord(v.layout, pageHash(ino, index), i32[H_HASH_MASK]);
  i32[pd(v, p) + P_HASH_NEXT] = i32[b];
  Atomics.store(i32, b, p);
}

// Model: model/pagehash.pml inline evict, label M_unhook (docs/MODEL.md).
function hashRemove(v: Volume, p: number): void {
  const i32 = v.i32;
  const d = pd(v, p);
  const ino = i32[d + P_INO];
  if (ino < 0) return;
  const b = hashBucketWord(v.layout, pageHash(ino, i32[d + P_INDEX]), i32[H_HASH_MASK]);
  let cur = i32[b];
  if (cur === p) {
    Atomics.store(i32, b, i32[d + P_HASH_NEXT]);
    return;
  }
  let steps = 0;
  while (cur >= 0) {
    const cd = pd(v, cur);
    if (i32[cd + P_HASH_NEXT] === p) {
      Atomics.store(i32, cd + P_HASH_NEXT, i32[d + P_HASH_NEXT]);
      return;
    }
    cur = i32[cd + P_HASH_NEXT];
    if (++steps > v.layout.cachePages) break;
  }
  throw new InvariantError(`page hash: page ${p} (inode ${ino}) is not on its chain`);
}

/** get_page: take a reference (caller already holds one, or holds mapping_lock). */
export function getPage(v: Volume, p: number): void {
  Atomics.add(v.i32, pd(v, p) + P_REFCOUNT, 1);
}

/** put_page. */
export function putPage(v: Volume, p: number): void {
  const old = Atomics.sub(v.i32, pd(v, p) + P_REFCOUNT, 1);
  if (old <= 0) throw new InvariantError(`page ${p}: reference count went below zero (was ${old})`);
}

export function lockPage(v: Volume, p: number): number {
  return lock(v, pd(v, p) + P_LOCK, LC_PAGE);
}
/** Returns a hold token (>= 0) when locked, -1 when the page was locked by someone else. */
export function tryLockPage(v: Volume, p: number): number {
  return tryLock(v, pd(v, p) + P_LOCK, LC_PAGE);
}
export function unlockPage(v: Volume, p: number, tok: number): void {
  unlock(v, pd(v, p) + P_LOCK, LC_PAGE, tok);
}

export function isPageLocked(v: Volume, p: number): boolean {
  return Atomics.load(v.i32, pd(v, p) + P_LOCK) !== 0;
}

export function pageFlags(v: Volume, p: number): number {
  return Atomics.load(v.i32, pd(v, p) + P_FLAGS);
}
export function setPageFlags(v: Volume, p: number, bits: number): number {
  return Atomics.or(v.i32, pd(v, p) + P_FLAGS, bits);
}
export function clearPageFlags(v: Volume, p: number, bits: number): number {
  return Atomics.and(v.i32, pd(v, p) + P_FLAGS, ~bits);
}

/**
 * Open / close a section that changes a frame's bytes or a page's identity (readers retry).
 * Model: model/dioread.pml writer W_copy, page_seq_touch (docs/MODEL.md).
 */
export function pageSeqBegin(v: Volume, p: number): void {
  const s = Atomics.add(v.i32, pd(v, p) + P_SEQ, 1);
  if (s & 1) throw new InvariantError(`page ${p}: seqcount entered while odd (${s})`);
}
// Model: model/dioread.pml writer W_copy, page_seq_touch (docs/MODEL.md).
export function pageSeqEnd(v: Volume, p: number): void {
  Atomics.add(v.i32, pd(v, p) + P_SEQ, 1);
}

/**
 * Is (ino, index) cached? A lockless probe whose "no" is trusted only if no hash chain changed
 * during it (H_HASH_SEQ); otherwise it asks again under mapping_lock. Returns a page with a
 * reference taken, or -1: an authoritative miss without touching a shared lock in the common case.
 * Model: model/pagehash.pml probe1; model/dioread.pml dreader D_probe (docs/MODEL.md).
 */
export function findGetPageFast(v: Volume, ino: number, index: number): number {
  const s = hashWalkBegin(v);
  const p = findPage(v, ino, index);
  if (p < 0 && hashWalkValid(v, s)) return -1;
  return findGetPage(v, ino, index);
}

/**
 * The page caching (ino, index), found for certain: the lockless probe, and when it misses, a look
 * under mapping_lock (a lockless walk can miss when a chain changes under it). No reference is
 * taken: for callers whose page cannot change identity meanwhile (it is pinned).
 * Model: model/dioread.pml inline lookup (docs/MODEL.md).
 */
export function findPageSure(v: Volume, ino: number, index: number): number {
  const p = findPage(v, ino, index);
  if (p >= 0) return p;
  const tok = spinLock(v, H_HASH_LOCK, LC_MAPPING);
  try {
    return lookupLocked(v, ino, index);
  } finally {
    unlock(v, H_HASH_LOCK, LC_MAPPING, tok);
  }
}

/**
 * find_get_page: the page caching (ino, index) with a reference, or -1; mapping_lock is released
 * even if the walk throws.
 * Model: model/dioread.pml dreader D_probe (docs/MODEL.md).
 */
export function findGetPage(v: Volume, ino: number, index: number): number {
  const tok = spinLock(v, H_HASH_LOCK, LC_MAPPING);
  try {
    const p = lookupLocked(v, ino, index);
    if (p >= 0) getPage(v, p);
    return p;
  } finally {
    unlock(v, H_HASH_LOCK, LC_MAPPING, tok);
  }
}

/** What grabPage hands back: the page, locked and referenced, and the hold token of its lock. */
export interface Grabbed {
  page: number;
  lockToken: number;
}

/**
 * find_or_create_page: the page caching (ino, index), locked, with a reference. A new page is not
 * PG_uptodate: the caller fills it. `heldIno` is the inode whose mutex the caller holds (-1 if none),
 * so that reclaim may drain that inode's completed list itself instead of waiting on it.
 * Model: model/dioread.pml inlines grab_page, grab_page_held; model/pagehash.pml mutator insert (docs/MODEL.md).
 */
export function grabPage(v: Volume, ino: number, index: number, heldIno: number, out: Grabbed): void {
  for (let tries = 0; ; tries++) {
    if (tries > GRAB_RETRIES) throw new InvariantError(`grabPage: the page of inode ${ino} index ${index} changed identity under its lock ${GRAB_RETRIES} times in a row`);
    let p = findGetPage(v, ino, index);
    if (p < 0) {
      const fresh = allocFrame(v, heldIno); // locked, refcount 1, unhashed
      p = insertOrGet(v, fresh, ino, index);
      if (p === fresh) {
        out.page = fresh;
        out.lockToken = v.claimToken;
        return;
      }
    }
    const lt = lockPage(v, p);
    const d = pd(v, p);
    if (v.i32[d + P_INO] === ino && v.i32[d + P_INDEX] === index) {
      out.page = p;
      out.lockToken = lt;
      return;
    }
    // Truncated or reclaimed while we waited for its lock: try again.
    unlockPage(v, p, lt);
    putPage(v, p);
  }
}

/** A page can be truncated or reclaimed between its lookup and its lock; this many tries is a bug. */
const GRAB_RETRIES = 100_000;


/**
 * Hash the fresh frame as (ino, index) and return it, or, if someone inserted that page while we
 * reclaimed, give the frame back and return theirs (with a reference). mapping_lock is released on
 * every path, an assertion's included.
 */
function insertOrGet(v: Volume, fresh: number, ino: number, index: number): number {
  const tok = spinLock(v, H_HASH_LOCK, LC_MAPPING);
  let held = true;
  try {
    const p = lookupLocked(v, ino, index);
    if (p >= 0) {
      getPage(v, p);
      unlock(v, H_HASH_LOCK, LC_MAPPING, tok);
      held = false;
      releaseFreshFrame(v, fresh);
      return p;
    }
    const d = pd(v, fresh);
    hashChangeBegin(v);
    pageSeqBegin(v, fresh);
    v.i32[d + P_INO] = ino;
    v.i32[d + P_INDEX] = index;
    hashInsert(v, fresh, ino, index);
    pageSeqEnd(v, fresh);
    hashChangeEnd(v);
    return fresh;
  } finally {
    if (held) unlock(v, H_HASH_LOCK, LC_MAPPING, tok);
  }
}

function releaseFreshFrame(v: Volume, p: number): void {
  unlockPage(v, p, v.claimToken);
  putPage(v, p);
}

/** How long reclaim keeps trying before it reports the cache exhausted. */
const RECLAIM_DEADLINE_MS = 60_000;

/**
 * Reclaim a frame with the CLOCK hand: skip pages that are referenced (clearing the bit), pinned,
 * locked or under writeback; write back dirty ones; claim the first clean unpinned page.
 * Returns it unhashed, locked (hold token in v.claimToken), with refcount 1.
 * Model: model/dioread.pml grab_page's claim branch, grab_page_held's drain branch, flusher, evictor (docs/MODEL.md).
 */
export function allocFrame(v: Volume, heldIno: number): number {
  const i32 = v.i32;
  const n = v.layout.cachePages;
  const start = performance.now();
  let writebackError: DioreadError | null = null;
  for (let round = 0; ; round++) {
    for (let step = 0; step < 2 * n; step++) {
      const p = (Atomics.add(i32, H_CLOCK_HAND, 1) >>> 0) % n;
      const d = pd(v, p);
      if (Atomics.load(i32, d + P_REFCOUNT) !== 0 || Atomics.load(i32, d + P_LOCK) !== 0) continue;
      if (i32[d + P_REFERENCED] !== 0) {
        i32[d + P_REFERENCED] = 0;
        continue;
      }
      const f = Atomics.load(i32, d + P_FLAGS);
      if (f & PG_DIRTY) {
        // Writeback under pressure (only a few per call, so one reader does not clean the world).
        // A page that cannot be written (EIO, a full host) stays dirty: its file's next sync retries
        // it and reports the error until it succeeds. This caller moves on to other pages.
        if (round > 0 || step < 8) {
          try {
            reclaimOps().writepage(v, p, heldIno);
          } catch (err) {
            if (!(err instanceof DioreadError)) throw err;
            writebackError = err;
          }
        }
        continue;
      }
      if (f & PG_WRITEBACK) continue;
      if (claim(v, p)) return p;
    }
    // Two full passes found nothing while dirty pages would not write: do not wait for them.
    if (writebackError !== null && round >= 1) {
      throw markCacheFull(new DioreadError(writebackError.code, `page cache full of dirty pages that cannot be written back (${detail(writebackError)})`));
    }
    // Nothing claimable: pages are pinned by io_ends awaiting conversion, or locked.
    if (heldIno >= 0) reclaimOps().flushCompletedIO(v, heldIno);
    reclaimOps().kickConversion(v);
    if (performance.now() - start > RECLAIM_DEADLINE_MS) {
      throw new DioreadError('EIO', `page cache exhausted: none of ${n} pages could be reclaimed for ${RECLAIM_DEADLINE_MS} ms (all pinned, locked or dirty)`);
    }
    if (v.canBlock) Atomics.wait(i32, H_CONVERSIONS, Atomics.load(i32, H_CONVERSIONS), 2);
  }
}

const CACHE_FULL = Symbol('dioread.cacheFull');

function markCacheFull(err: DioreadError): DioreadError {
  (err as unknown as Record<symbol, boolean>)[CACHE_FULL] = true;
  return err;
}

/** True for allocFrame's "no frame: dirty pages will not write" (a reader can read around the cache). */
export function isCacheFull(err: unknown): boolean {
  return err instanceof DioreadError && (err as unknown as Record<symbol, boolean>)[CACHE_FULL] === true;
}

// Model: model/dioread.pml inline claim; model/pagehash.pml mutator evict (M_unhook, M_clear_next) (docs/MODEL.md).
function claim(v: Volume, p: number): boolean {
  const i32 = v.i32;
  const d = pd(v, p);
  const tok = spinLock(v, H_HASH_LOCK, LC_MAPPING);
  try {
    if (Atomics.load(i32, d + P_REFCOUNT) !== 0) return false;
    if (Atomics.load(i32, d + P_FLAGS) & (PG_DIRTY | PG_WRITEBACK | PG_UNINIT)) return false;
    const lt = tryLockPage(v, p);
    if (lt < 0) return false;
    v.claimToken = lt;
    Atomics.store(i32, d + P_REFCOUNT, 1);
    hashChangeBegin(v);
    pageSeqBegin(v, p);
    if (i32[d + P_INO] >= 0) {
      hashRemove(v, p);
      Atomics.add(i32, H_EVICTIONS, 1);
    }
    i32[d + P_INO] = -1;
    i32[d + P_INDEX] = -1;
    i32[d + P_PBLK] = -1;
    i32[d + P_HASH_NEXT] = -1;
    i32[d + P_REFERENCED] = 0;
    Atomics.store(i32, d + P_FLAGS, 0);
    pageSeqEnd(v, p);
    hashChangeEnd(v);
    return true;
  } finally {
    unlock(v, H_HASH_LOCK, LC_MAPPING, tok);
  }
}

/**
 * delete_from_page_cache: unhash a page the caller holds locked with a reference (truncate,
 * invalidation before a direct write). It becomes a free frame once its references are put.
 * Model: model/dioread.pml inline drop_page; model/pagehash.pml mutator evict (docs/MODEL.md).
 */
export function removePage(v: Volume, p: number): void {
  const i32 = v.i32;
  assertHeld(v, pd(v, p) + P_LOCK, LC_PAGE, `removing page ${p} from the cache`);
  const d = pd(v, p);
  const tok = spinLock(v, H_HASH_LOCK, LC_MAPPING);
  try {
    hashChangeBegin(v);
    pageSeqBegin(v, p);
    if (i32[d + P_INO] >= 0) hashRemove(v, p);
    i32[d + P_INO] = -1;
    i32[d + P_INDEX] = -1;
    i32[d + P_PBLK] = -1;
    i32[d + P_HASH_NEXT] = -1;
    Atomics.store(i32, d + P_FLAGS, 0);
    pageSeqEnd(v, p);
    hashChangeEnd(v);
  } finally {
    unlock(v, H_HASH_LOCK, LC_MAPPING, tok);
  }
}

/**
 * Pages of an inode with index >= fromIndex, in index order (a scan: the cache has no per-inode tree).
 * Model: model/dioread.pml the tsel / wsel scans (truncate, writeback_inode) (docs/MODEL.md).
 */
export function inodePages(v: Volume, ino: number, fromIndex: number): number[] {
  const i32 = v.i32;
  const out: number[] = [];
  for (let p = 0; p < v.layout.cachePages; p++) {
    const d = pd(v, p);
    if (i32[d + P_INO] === ino && i32[d + P_INDEX] >= fromIndex) out.push(p);
  }
  out.sort((a, b) => i32[pd(v, a) + P_INDEX] - i32[pd(v, b) + P_INDEX]);
  return out;
}

/**
 * Take a reference on page p if it still caches (ino, index); under mapping_lock.
 * Model: model/dioread.pml drop_page's first step and truncate T_clean (docs/MODEL.md).
 */
export function getPageIfCaching(v: Volume, p: number, ino: number, index: number): boolean {
  const tok = spinLock(v, H_HASH_LOCK, LC_MAPPING);
  try {
    const d = pd(v, p);
    if (v.i32[d + P_INO] !== ino || v.i32[d + P_INDEX] !== index) return false;
    getPage(v, p);
    return true;
  } finally {
    unlock(v, H_HASH_LOCK, LC_MAPPING, tok);
  }
}

export function pageIndex(v: Volume, p: number): number {
  return v.i32[pd(v, p) + P_INDEX];
}
export function pageIno(v: Volume, p: number): number {
  return v.i32[pd(v, p) + P_INO];
}
export function pagePblk(v: Volume, p: number): number {
  return v.i32[pd(v, p) + P_PBLK];
}
export function setPagePblk(v: Volume, p: number, pblk: number): void {
  v.i32[pd(v, p) + P_PBLK] = pblk;
}
export function pageRefcount(v: Volume, p: number): number {
  return Atomics.load(v.i32, pd(v, p) + P_REFCOUNT);
}
