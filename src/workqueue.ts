// The conversion queue: a ring of inodes whose completed lists wait for the conversion worker, and
// its doorbell.
// ext4 counterpart: queue_work on dio_unwritten_wq (the seed's ext4_end_io_buffer_write queues the
// io_end's work; dioread queues the inode once, and the worker drains its whole list).
//
// Thread safety: the ring (H_WQ_HEAD, H_WQ_TAIL, the slots) changes only under wq_lock, a leaf
// spinlock held for a few stores; an inode sits in the ring at most once (I_WQ_QUEUED, claimed by
// compareExchange), so the ring never holds more than maxFiles entries.

import { InvariantError } from './errors.js';
import {
  H_DOORBELL,
  H_WQ_HEAD,
  H_WQ_LOCK,
  H_WQ_TAIL,
  I_WQ_QUEUED,
  LC_WQ,
  inodeWord,
  wqSlotWord,
} from './shm/layout.js';
import { spinLock, unlock } from './sync/lock.js';
import type { Volume } from './volume.js';


/**
 * Ring the conversion worker's doorbell.
 * Model: model/dioread.pml rung = 1 (docs/MODEL.md).
 */
export function kickConversionWorker(v: Volume): void {
  Atomics.add(v.i32, H_DOORBELL, 1);
  Atomics.notify(v.i32, H_DOORBELL, 1);
}
/**
 * queue_work(dio_unwritten_wq): put the inode on the ring once and ring the doorbell. The
 * conversion worker requeues an inode whose mutex is busy with `kick` false: it retries on a timer.
 * Model: model/dioread.pml inline queue_conversion (docs/MODEL.md).
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
  i32[wqSlotWord(v.layout, tail)] = ino;
  i32[H_WQ_TAIL] = tail + 1;
  unlock(v, H_WQ_LOCK, LC_WQ, tok);
  if (kick) kickConversionWorker(v);
}
/**
 * The conversion worker's side of the ring: next queued inode, or -1.
 * Model: model/dioread.pml worker, the ring tests at end_CW_wait and after CW_flush (docs/MODEL.md).
 */
export function wqPop(v: Volume): number {
  const i32 = v.i32;
  const tok = spinLock(v, H_WQ_LOCK, LC_WQ);
  try {
    const head = i32[H_WQ_HEAD];
    if (head === i32[H_WQ_TAIL]) return -1;
    i32[H_WQ_HEAD] = head + 1;
    return i32[wqSlotWord(v.layout, head)];
  } finally {
    unlock(v, H_WQ_LOCK, LC_WQ, tok);
  }
}
// Model: model/dioread.pml worker, the ring tests at end_CW_wait and after CW_flush (docs/MODEL.md).
export function wqEmpty(v: Volume): boolean {
  return Atomics.load(v.i32, H_WQ_HEAD) === Atomics.load(v.i32, H_WQ_TAIL);
}
