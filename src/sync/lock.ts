// Shared-memory locks: the futex-style mutex and the spinlock, with lock_stat accounting.
// ext4/kernel counterpart: struct mutex (kernel/locking/mutex.c), spinlock_t, and lock_stat
// (kernel/locking/lockdep.c, CONFIG_LOCK_STAT) that counts per lock class.
//
// Lock word format (one Int32 in the meta SAB):
//   0                          unlocked
//   (owner << 2) | H | W       locked by thread slot `owner - 1`
//   H | W  (owner 0, H set)    unlocked but reserved: handed off to a woken waiter
// W (LW_WAITERS) = sleepers may be waiting; H (LW_HANDOFF) = a waiter is starving.
// The owner id in the word is what makes a dead owner detectable (DESIGN.md invariant 10) and lets
// unlock assert that the releasing thread is the holder.
//
// Fairness: like the kernel mutex (MUTEX_FLAG_HANDOFF), a waiter that was woken and still lost the
// race sets H; the next unlock then leaves the word reserved instead of free, so a thread that
// keeps re-taking the lock (a writer in a loop) cannot starve the sleepers forever. Only a waiter
// whose wait ended by a notify or a timeout, or the starving one, may take a reserved word.
//
// Thread safety: every function here may run on any thread. Only worker threads may sleep: the
// main thread must never call Atomics.wait (it would freeze the event loop), so a lock that is
// still contended after its spin throws there instead of sleeping (the engine never takes a
// lock on the main thread; the assertion keeps it that way).
//
// Invariants: a word is released only by its owner; a thread never re-acquires a lock it holds
// (both are asserted, cheaply, from the word itself).

import { DioreadError, InvariantError } from '../errors.js';
import {
  H_STATS_LEVEL,
  LOCK_CLASSES,
  OP_OTHER,
  OPS,
  SLOT_DEAD,
  STATS_TRACE,
  S_OP,
  TK_LOCK_HOLD,
  TK_LOCK_WAIT,
  TRACE_HOLD_MIN_NS,
  ST_ACQ,
  ST_CONT,
  ST_HOLD_COUNT,
  ST_HOLD_MAX,
  ST_HOLD_MIN,
  ST_HOLD_TOTAL,
  ST_WAIT_MAX,
  ST_WAIT_MIN,
  ST_WAIT_TOTAL,
  STATS_TIMING,
  S_STATE,
  type Layout,
  slotWord,
  statHolderField,
  statRecordIndex,
  statPointField,
} from '../shm/layout.js';
import { nowNs, traceEvent, type TraceContext } from './trace.js';

/** What a lock operation needs to know about the calling thread. One per attached view. */
export interface LockContext extends TraceContext {
  readonly i32: Int32Array;
  readonly st: Float64Array;
  readonly layout: Layout;
  /** Thread slot of this view; lock words record slot + 1. */
  readonly slot: number;
  /** Contention point: the operation this thread is doing now (OP_*). */
  op: number;
  /** False on the main thread: no Atomics.wait there. */
  readonly canBlock: boolean;
  /** Test hook: spin iterations before sleeping (0 = the defaults below). */
  readonly spinOverride: number;
  /** Uncontended acquisitions seen at the timing level (picks which holds are timed). */
  holdSamples: number;
  /** Locks this thread holds now: at thread exit, > 0 marks its slot dead (invariant 10). */
  held: number;
}

/**
 * Uncontended acquisitions time their hold one time in HOLD_SAMPLE_EVERY: two clock reads per lock
 * pair would cost a cached lock-mode read ~20%. Waits (contended acquisitions) are always timed,
 * and so are their holds. lockStats() scales holdtime-total up to all acquisitions.
 */
export const HOLD_SAMPLE_EVERY = 4;

export function sampleHold(c: LockContext, level: number): number {
  // While tracing every hold is timed: long holds become trace events.
  return level === STATS_TRACE || ++c.holdSamples % HOLD_SAMPLE_EVERY === 0 ? now() : 0;
}

/** A mutex spins this many times before it sleeps: a wake-up costs ~70 µs here, a spin ~10 ns. */
export const MUTEX_SPINS = 200;
/** A spinlock guards a few stores, so it spins longer before it sleeps. */
export const SPINLOCK_SPINS = 4000;
/** A seqlock reader gives up on a sequence that stays odd this long (about 1 ms per wait). */
export const SEQ_WAIT_MS = 60_000;

/** A sleeper wakes this often to see whether the owner died (invariant 10). */
export const DEAD_OWNER_CHECK_MS = 250;

const now = nowNs;

export const LW_WAITERS = 1;
export const LW_HANDOFF = 2;
const LW_OWNER_SHIFT = 2;
/** Thread slot owning a lock word, or -1 when free or reserved. */
export function lockOwnerSlot(v: number): number {
  return (v >>> LW_OWNER_SHIFT) - 1;
}

function statBase(c: LockContext, cls: number): number {
  return statRecordIndex(c.slot, cls);
}

/**
 * Count an acquisition (and, if it waited, the contention, the holder's operation and the wait).
 * Plain stores: this slot owns its stats.
 */
export function account(c: LockContext, cls: number, waitedNs: number, contended: boolean, holderOp: number): void {
  const st = c.st;
  const b = statBase(c, cls);
  st[b + ST_ACQ]++;
  st[b + statPointField(c.op, 0)]++;
  if (contended) {
    st[b + ST_CONT]++;
    st[b + statPointField(c.op, 1)]++;
    st[b + statHolderField(c.op, holderOp)]++;
    if (waitedNs >= 0) {
      st[b + ST_WAIT_TOTAL] += waitedNs;
      if (st[b + ST_WAIT_MIN] === 0 || waitedNs < st[b + ST_WAIT_MIN]) st[b + ST_WAIT_MIN] = waitedNs || 1;
      if (waitedNs > st[b + ST_WAIT_MAX]) st[b + ST_WAIT_MAX] = waitedNs;
    }
  }
}

/**
 * Record a contention without an acquisition (seqlock read retries: the "holder" is the writer
 * whose section moved the sequence; trylock failures).
 */
export function accountContention(c: LockContext, cls: number, holderOp = OP_OTHER): void {
  if (Atomics.load(c.i32, H_STATS_LEVEL) === 0) return;
  const b = statBase(c, cls);
  c.st[b + ST_CONT]++;
  c.st[b + statPointField(c.op, 1)]++;
  c.st[b + statHolderField(c.op, holderOp)]++;
}

/** Record an acquisition of a lock-free section (seqlock reads). */
export function accountAcquire(c: LockContext, cls: number): void {
  if (Atomics.load(c.i32, H_STATS_LEVEL) === 0) return;
  const b = statBase(c, cls);
  c.st[b + ST_ACQ]++;
  c.st[b + statPointField(c.op, 0)]++;
}

export function lockName(cls: number, word: number): string {
  return `${LOCK_CLASSES[cls]} (word ${word})`;
}

/**
 * Take the lock at `word`. Returns a hold token to hand back to `unlock` (the acquire time in ns
 * when timing is on, else 0).
 */
export function lock(c: LockContext, word: number, cls: number, spins = MUTEX_SPINS): number {
  const i32 = c.i32;
  const me = (c.slot + 1) << LW_OWNER_SHIFT;
  if (Atomics.compareExchange(i32, word, 0, me) === 0) {
    c.held++;
    const level = Atomics.load(i32, H_STATS_LEVEL);
    if (level === 0) return 0;
    account(c, cls, -1, false, 0);
    return level >= STATS_TIMING ? sampleHold(c, level) : 0;
  }
  return lockSlow(c, word, cls, c.spinOverride || spins);
}

/** A spinlock: the same word format, spinning longer before sleeping; held only across a few stores. */
export function spinLock(c: LockContext, word: number, cls: number): number {
  return lock(c, word, cls, SPINLOCK_SPINS);
}

function lockSlow(c: LockContext, word: number, cls: number, spins: number): number {
  const i32 = c.i32;
  const me = (c.slot + 1) << LW_OWNER_SHIFT;
  const level = Atomics.load(i32, H_STATS_LEVEL);
  const t0 = level >= STATS_TIMING ? now() : 0;
  let v = Atomics.load(i32, word);
  if (lockOwnerSlot(v) === c.slot) {
    throw new InvariantError(`${lockName(cls, word)} taken again by its owner, thread slot ${c.slot}`);
  }
  // What the holder is doing, sampled the first time we see an owner (a reserved word has none).
  let holderOp = lockOwnerSlot(v) >= 0 ? holderOpOf(c, v) : -1;
  for (let i = 0; i < spins; i++) {
    v = Atomics.load(i32, word);
    if (v === 0 && Atomics.compareExchange(i32, word, 0, me) === 0) return acquired(c, cls, level, t0, holderOp);
    if (holderOp < 0 && v >>> LW_OWNER_SHIFT !== 0) holderOp = holderOpOf(c, v);
  }
  if (!c.canBlock) {
    throw new InvariantError(`${lockName(cls, word)} is contended and the main thread may not wait on it`);
  }
  // Sleep phase (Drepper, "Futexes are tricky", mutex 2, plus the kernel's handoff): once we have
  // slept we take the lock with the waiters bit set, because other sleepers may still be queued.
  let sleptMs = 0;
  let mayTakeReserved = false;
  let starving = false;
  for (;;) {
    v = Atomics.load(i32, word);
    if (v === 0) {
      if (Atomics.compareExchange(i32, word, 0, me | LW_WAITERS) === 0) return acquired(c, cls, level, t0, holderOp);
      continue;
    }
    if (v >>> LW_OWNER_SHIFT === 0) {
      // Reserved by a handoff: ours to take only if we were woken for it or are the starving one.
      if (mayTakeReserved || starving) {
        if (Atomics.compareExchange(i32, word, v, me | LW_WAITERS) === v) return acquired(c, cls, level, t0, holderOp);
        continue;
      }
    } else {
      if (holderOp < 0) holderOp = holderOpOf(c, v);
      const want = v | LW_WAITERS | (starving ? LW_HANDOFF : 0);
      if (want !== v && Atomics.compareExchange(i32, word, v, want) !== v) continue;
      v = want;
    }
    const r = Atomics.wait(i32, word, v, DEAD_OWNER_CHECK_MS);
    if (r === 'ok') {
      if (mayTakeReserved) starving = true; // woken before and still lost: ask for a handoff
      mayTakeReserved = true;
    } else if (r === 'timed-out') {
      mayTakeReserved = true;
      sleptMs += DEAD_OWNER_CHECK_MS;
      checkOwnerAlive(c, word, cls, sleptMs);
    }
  }
}

/** What the holder of lock word value `v` is doing (its slot's S_OP), or OP_OTHER if unknown. */
export function holderOpOf(c: LockContext, v: number): number {
  const owner = lockOwnerSlot(v);
  if (owner < 0 || owner >= c.layout.maxThreads) return OP_OTHER;
  const op = c.i32[slotWord(c.layout, owner, S_OP)];
  return op >= 0 && op < OPS.length ? op : OP_OTHER;
}

function acquired(c: LockContext, cls: number, level: number, t0: number, holderOpSeen: number): number {
  c.held++;
  if (level === 0) return 0;
  const holderOp = holderOpSeen < 0 ? OP_OTHER : holderOpSeen;
  if (level >= STATS_TIMING) {
    const t1 = now();
    account(c, cls, t1 - t0, true, holderOp);
    if (level === STATS_TRACE) traceEvent(c, TK_LOCK_WAIT, t0, t1 - t0, cls, c.op, holderOp);
    return t1;
  }
  account(c, cls, -1, true, holderOp);
  return 0;
}

/** Invariant 10: a waiter that finds the owner's thread slot dead fails instead of hanging. */
export function checkOwnerAlive(c: LockContext, word: number, cls: number, waitedMs: number): void {
  const v = Atomics.load(c.i32, word);
  if (v === 0) return;
  const ownerSlot = lockOwnerSlot(v);
  if (ownerSlot < 0) return; // reserved for a woken waiter, nobody holds it
  if (ownerSlot >= c.layout.maxThreads) {
    throw new InvariantError(`${lockName(cls, word)} holds owner slot ${ownerSlot}, outside 0..${c.layout.maxThreads - 1}`);
  }
  if (Atomics.load(c.i32, slotWord(c.layout, ownerSlot, S_STATE)) === SLOT_DEAD) {
    throw new DioreadError(
      'EOWNERDEAD',
      `${lockName(cls, word)} is held by thread slot ${ownerSlot}, whose thread died; waited ${waitedMs} ms`,
    );
  }
}

/** Try once: returns a hold token (>= 0) when taken, -1 when not. A failed try counts as a contention. */
export function tryLock(c: LockContext, word: number, cls: number): number {
  const me = (c.slot + 1) << LW_OWNER_SHIFT;
  if (Atomics.compareExchange(c.i32, word, 0, me) === 0) {
    c.held++;
    const level = Atomics.load(c.i32, H_STATS_LEVEL);
    if (level === 0) return 0;
    account(c, cls, -1, false, 0);
    return level >= STATS_TIMING ? sampleHold(c, level) : 0;
  }
  accountContention(c, cls, holderOpOf(c, Atomics.load(c.i32, word)));
  return -1;
}

/** Release. `token` is what lock() returned (for hold times). */
export function unlock(c: LockContext, word: number, cls: number, token: number): void {
  const i32 = c.i32;
  let old = Atomics.load(i32, word);
  for (;;) {
    if (lockOwnerSlot(old) !== c.slot) {
      throw new InvariantError(`${lockName(cls, word)} released by thread slot ${c.slot} but its word says owner slot ${lockOwnerSlot(old)}`);
    }
    // A starving waiter asked for a handoff: leave the word reserved (owner 0) for the woken waiter.
    const next = old & LW_HANDOFF ? LW_HANDOFF | LW_WAITERS : 0;
    const seen = Atomics.compareExchange(i32, word, old, next);
    if (seen === old) break;
    old = seen; // a waiter set a bit meanwhile
  }
  c.held--;
  if (old & (LW_WAITERS | LW_HANDOFF)) Atomics.notify(i32, word, 1);
  if (token !== 0) accountHold(c, cls, token);
}

/** Record a hold that began at `token` (ns, from lock()'s timing) and ends now. */
export function accountHold(c: LockContext, cls: number, token: number): void {
  const t1 = now();
  const held = t1 - token;
  if (held > TRACE_HOLD_MIN_NS && Atomics.load(c.i32, H_STATS_LEVEL) === STATS_TRACE) {
    traceEvent(c, TK_LOCK_HOLD, token, held, cls, c.op, 0);
  }
  const st = c.st;
  const b = statBase(c, cls);
  st[b + ST_HOLD_TOTAL] += held;
  st[b + ST_HOLD_COUNT]++;
  if (st[b + ST_HOLD_MIN] === 0 || held < st[b + ST_HOLD_MIN]) st[b + ST_HOLD_MIN] = held || 1;
  if (held > st[b + ST_HOLD_MAX]) st[b + ST_HOLD_MAX] = held;
}

/** True when the calling thread's slot owns the lock at `word` (for assertions). */
export function holds(c: LockContext, word: number): boolean {
  return lockOwnerSlot(Atomics.load(c.i32, word)) === c.slot;
}

/**
 * BUG_ON(!mutex_is_locked(...)) for a "caller holds X" rule: one load and a compare, cheap enough
 * for every place that relies on the rule. The message names the lock, its word and what needed it.
 */
export function assertHeld(c: LockContext, word: number, cls: number, what: string): void {
  const v = Atomics.load(c.i32, word);
  if (lockOwnerSlot(v) !== c.slot) {
    throw new InvariantError(`${what} without ${lockName(cls, word)} (thread slot ${c.slot}; the word says owner slot ${lockOwnerSlot(v)})`);
  }
}

/** The seqlock at `word` must be inside a write section (odd) for `what`. */
export function assertSeqWriting(i32: Int32Array, word: number, what: string): void {
  const s = Atomics.load(i32, word);
  if ((s & 1) === 0) throw new InvariantError(`${what} outside the write section of seqlock word ${word} (sequence ${s})`);
}

// ---------------------------------------------------------------------------------------------
// Seqlock (include/linux/seqlock.h). Writers are already serialized by another lock (the inode
// mutex for extents and i_size), so the write side is only the counter; readers never block a
// writer and retry when the counter moved or was odd.
// ---------------------------------------------------------------------------------------------

// Model: model/dioread.pml inline ext_section (docs/MODEL.md).
export function seqWriteBegin(i32: Int32Array, word: number): void {
  const s = Atomics.add(i32, word, 1);
  if (s & 1) throw new InvariantError(`seqlock word ${word} entered for write while already odd (${s})`);
}

// Model: model/dioread.pml inline ext_section (docs/MODEL.md).
export function seqWriteEnd(i32: Int32Array, word: number): void {
  Atomics.add(i32, word, 1);
  Atomics.notify(i32, word); // readers that gave up spinning sleep on the word
}

/**
 * Begin a read section: returns an even sequence, waiting out a writer (spin, then sleep briefly).
 * Model: model/dioread.pml isamp in map_blocks_seq (docs/MODEL.md).
 */
export function seqReadBegin(c: LockContext, word: number, cls: number, writerLockWord = -1): number {
  let s = Atomics.load(c.i32, word);
  if ((s & 1) === 0) return s;
  // The writer holds `writerLockWord` (the inode mutex): what it does is the contending point.
  accountContention(c, cls, writerLockWord >= 0 ? holderOpOf(c, Atomics.load(c.i32, writerLockWord)) : OP_OTHER);
  for (let i = 0; i < SPINLOCK_SPINS; i++) {
    s = Atomics.load(c.i32, word);
    if ((s & 1) === 0) return s;
  }
  if (!c.canBlock) return -1; // the main thread's caller falls back to a worker
  for (let waits = 1; ; waits++) {
    Atomics.wait(c.i32, word, s, 1);
    s = Atomics.load(c.i32, word);
    if ((s & 1) === 0) return s;
    // A writer that died inside its section leaves the sequence odd for ever: the writer holds
    // `writerLockWord`, so its owner's slot tells (invariant 10).
    if (writerLockWord >= 0 && waits % DEAD_OWNER_CHECK_MS === 0) checkOwnerAlive(c, writerLockWord, cls, waits);
    // Bounded even without a writer word to ask: a write section lasts a few stores.
    if (waits >= SEQ_WAIT_MS) throw new DioreadError('EIO', `seqlock word ${word} stayed odd for ${SEQ_WAIT_MS} ms (a writer died inside its section?)`);
  }
}

// Model: model/dioread.pml the imoved tests in fill_page and dreader (docs/MODEL.md).
export function seqReadRetry(i32: Int32Array, word: number, s: number): boolean {
  return Atomics.load(i32, word) !== s;
}

