// The inode's reader-writer semaphore (i_rwsem), for readLocking 'shared'.
// kernel counterpart: struct rw_semaphore (kernel/locking/rwsem.c): inode_lock_shared() /
// inode_lock() as ext4 takes them since 5.5 for direct reads and writes, and XFS's IOLOCK_SHARED.
//
// Word format (one Int32, I_RWSEM of the inode):
//   bits 0..15   active readers
//   bit 16       RW_WAITERS: someone sleeps on the word (release must notify)
//   bit 17       RW_WRITER_PENDING: a writer waits for the readers to drain; new readers wait
//   bits 18..30  owner slot + 1 of the writer holding it (0: no writer)
// Writer-preferring: once a writer is pending no new reader enters, so a stream of readers cannot
// starve a writer; a released writer wakes everyone and readers and writers race again.
//
// Lock scope: held shared across a whole read (cache hits, fills, device reads) and exclusive
// across a whole write or truncate, outside i_mutex (lock order: i_rwsem > i_mutex > page lock).
// The conversion worker and sync never take it: they take i_mutex only, as modern ext4 converts
// under i_data_sem without i_rwsem. That matters: a writer waiting here for readers holds no
// other inode lock, so a reader that needs a frame (which may need a conversion) can finish.
//
// Dead owners (invariant 10): the writer is recorded in the word; each reader records the word in
// its slot's S_SHARED_LOCK, so a waiter that times out can find a dead holder of either kind.
//
// Thread safety: any thread; only worker threads sleep (Atomics.wait), as in lock.ts.

import { DioreadError, InvariantError } from '../errors.js';
import { H_STATS_LEVEL, S_SHARED_LOCK, S_STATE, SLOT_DEAD, STATS_TIMING, slotWord } from '../shm/layout.js';
import { DEAD_OWNER_CHECK_MS, MUTEX_SPINS, account, accountHold, holderOpOf, lockName, sampleHold, type LockContext } from './lock.js';
import { nowNs } from './trace.js';

export const RW_READER_MASK = 0xffff;
export const RW_WAITERS = 1 << 16;
export const RW_WRITER_PENDING = 1 << 17;
const RW_OWNER_SHIFT = 18;

/** Slot of the writer holding word value `v`, or -1. */
export function rwsemWriterSlot(v: number): number {
  return (v >>> RW_OWNER_SHIFT) - 1;
}

/** down_read. Returns a hold token for upRead. */
export function downRead(c: LockContext, word: number, cls: number): number {
  const i32 = c.i32;
  let v = Atomics.load(i32, word);
  if ((v & ~(RW_READER_MASK | RW_WAITERS)) === 0 && Atomics.compareExchange(i32, word, v, v + 1) === v) return readAcquired(c, word, cls, -1, -1);
  return downReadSlow(c, word, cls);
}

function readAcquired(c: LockContext, word: number, cls: number, t0: number, holderOp: number): number {
  if ((Atomics.load(c.i32, word) & RW_READER_MASK) === 0) throw new InvariantError(`${lockName(cls, word)}: reader count 0 right after a reader entered`);
  c.i32[slotWord(c.layout, c.slot, S_SHARED_LOCK)] = word;
  c.held++;
  const level = Atomics.load(c.i32, H_STATS_LEVEL);
  if (level === 0) return 0;
  if (t0 < 0) {
    account(c, cls, -1, false, 0);
    return level >= STATS_TIMING ? sampleHold(c, level) : 0;
  }
  const t1 = level >= STATS_TIMING ? nowNs() : 0;
  account(c, cls, level >= STATS_TIMING ? t1 - t0 : -1, true, holderOp < 0 ? 0 : holderOp);
  return t1;
}

function downReadSlow(c: LockContext, word: number, cls: number): number {
  const i32 = c.i32;
  const t0 = Atomics.load(i32, H_STATS_LEVEL) >= STATS_TIMING ? nowNs() : 0;
  let holderOp = -1;
  let sleptMs = 0;
  for (let i = 0; ; i++) {
    const v = Atomics.load(i32, word);
    if ((v & ~(RW_READER_MASK | RW_WAITERS)) === 0) {
      if ((v & RW_READER_MASK) === RW_READER_MASK) throw new InvariantError(`${lockName(cls, word)}: reader count overflow`);
      if (Atomics.compareExchange(i32, word, v, v + 1) === v) return readAcquired(c, word, cls, t0, holderOp);
      continue;
    }
    if (holderOp < 0 && rwsemWriterSlot(v) >= 0) holderOp = holderOpOf(c, (rwsemWriterSlot(v) + 1) << 2);
    if (i < MUTEX_SPINS) continue;
    if (!c.canBlock) throw new InvariantError(`${lockName(cls, word)} is held by a writer and the main thread may not wait on it`);
    if ((v & RW_WAITERS) === 0 && Atomics.compareExchange(i32, word, v, v | RW_WAITERS) !== v) continue;
    if (Atomics.wait(i32, word, v | RW_WAITERS, DEAD_OWNER_CHECK_MS) === 'timed-out') {
      sleptMs += DEAD_OWNER_CHECK_MS;
      checkRwsemOwnersAlive(c, word, cls, sleptMs);
    }
  }
}

/** up_read. */
export function upRead(c: LockContext, word: number, cls: number, token: number): void {
  const i32 = c.i32;
  const old = Atomics.sub(i32, word, 1);
  if ((old & RW_READER_MASK) === 0) throw new InvariantError(`${lockName(cls, word)}: up_read by thread slot ${c.slot} with no reader inside (word ${old})`);
  i32[slotWord(c.layout, c.slot, S_SHARED_LOCK)] = 0;
  c.held--;
  // The last reader out wakes a pending writer (and whoever else sleeps on the word).
  if ((old & RW_READER_MASK) === 1 && old & (RW_WAITERS | RW_WRITER_PENDING)) Atomics.notify(i32, word);
  if (token !== 0) accountHold(c, cls, token);
}

/** down_write. Returns a hold token for upWrite. */
export function downWrite(c: LockContext, word: number, cls: number): number {
  const i32 = c.i32;
  const me = (c.slot + 1) << RW_OWNER_SHIFT;
  if (Atomics.compareExchange(i32, word, 0, me) === 0) {
    c.held++;
    const level = Atomics.load(i32, H_STATS_LEVEL);
    if (level === 0) return 0;
    account(c, cls, -1, false, 0);
    return level >= STATS_TIMING ? sampleHold(c, level) : 0;
  }
  return downWriteSlow(c, word, cls);
}

function downWriteSlow(c: LockContext, word: number, cls: number): number {
  const i32 = c.i32;
  const me = (c.slot + 1) << RW_OWNER_SHIFT;
  const level = Atomics.load(i32, H_STATS_LEVEL);
  const t0 = level >= STATS_TIMING ? nowNs() : 0;
  if (rwsemWriterSlot(Atomics.load(i32, word)) === c.slot) throw new InvariantError(`${lockName(cls, word)} taken again by its writer, thread slot ${c.slot}`);
  let holderOp = -1;
  let sleptMs = 0;
  for (let i = 0; ; i++) {
    const v = Atomics.load(i32, word);
    if ((v & ~(RW_WAITERS | RW_WRITER_PENDING)) === 0) {
      // No reader, no writer: take it; keep the waiters bit (others may sleep), drop pending
      // (a writer still pending sets it again when it wakes).
      if (Atomics.compareExchange(i32, word, v, me | (v & RW_WAITERS)) === v) {
        c.held++;
        if (level === 0) return 0;
        const t1 = level >= STATS_TIMING ? nowNs() : 0;
        account(c, cls, level >= STATS_TIMING ? t1 - t0 : -1, true, holderOp < 0 ? 0 : holderOp);
        return t1;
      }
      continue;
    }
    if (holderOp < 0 && rwsemWriterSlot(v) >= 0) holderOp = holderOpOf(c, (rwsemWriterSlot(v) + 1) << 2);
    // Readers inside: ask them to drain (no new reader enters while pending).
    const want = v | ((v & RW_READER_MASK) !== 0 ? RW_WRITER_PENDING : 0) | (i >= MUTEX_SPINS ? RW_WAITERS : 0);
    if (want !== v) {
      if (Atomics.compareExchange(i32, word, v, want) !== v) continue;
    }
    if (i < MUTEX_SPINS) continue;
    if (!c.canBlock) throw new InvariantError(`${lockName(cls, word)} is contended and the main thread may not wait on it`);
    if (Atomics.wait(i32, word, want, DEAD_OWNER_CHECK_MS) === 'timed-out') {
      sleptMs += DEAD_OWNER_CHECK_MS;
      checkRwsemOwnersAlive(c, word, cls, sleptMs);
    }
  }
}

/** up_write. */
export function upWrite(c: LockContext, word: number, cls: number, token: number): void {
  const i32 = c.i32;
  let old = Atomics.load(i32, word);
  for (;;) {
    if (rwsemWriterSlot(old) !== c.slot) {
      throw new InvariantError(`${lockName(cls, word)} released by thread slot ${c.slot} but its word says writer slot ${rwsemWriterSlot(old)}`);
    }
    const seen = Atomics.compareExchange(i32, word, old, 0);
    if (seen === old) break;
    old = seen; // a waiter set a bit meanwhile
  }
  c.held--;
  if (old & (RW_WAITERS | RW_WRITER_PENDING)) Atomics.notify(i32, word);
  if (token !== 0) accountHold(c, cls, token);
}

/** True when the calling thread holds `word` for writing (for assertions). */
export function holdsWrite(c: LockContext, word: number): boolean {
  return rwsemWriterSlot(Atomics.load(c.i32, word)) === c.slot;
}

/** Invariant 10 for the rwsem: a dead writer, or a dead reader recorded in its slot, fails the waiter. */
function checkRwsemOwnersAlive(c: LockContext, word: number, cls: number, waitedMs: number): void {
  const i32 = c.i32;
  const l = c.layout;
  const v = Atomics.load(i32, word);
  const writer = rwsemWriterSlot(v);
  if (writer >= l.maxThreads) throw new InvariantError(`${lockName(cls, word)} holds writer slot ${writer}, outside 0..${l.maxThreads - 1}`);
  if (writer >= 0 && Atomics.load(i32, slotWord(l, writer, S_STATE)) === SLOT_DEAD) {
    throw new DioreadError('EOWNERDEAD', `${lockName(cls, word)} is held for writing by thread slot ${writer}, whose thread died; waited ${waitedMs} ms`);
  }
  if ((v & RW_READER_MASK) === 0) return;
  for (let s = 0; s < l.maxThreads; s++) {
    if (Atomics.load(i32, slotWord(l, s, S_STATE)) === SLOT_DEAD && Atomics.load(i32, slotWord(l, s, S_SHARED_LOCK)) === word) {
      throw new DioreadError('EOWNERDEAD', `${lockName(cls, word)} is held shared by thread slot ${s}, whose thread died; waited ${waitedMs} ms`);
    }
  }
}
