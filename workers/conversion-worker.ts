// The conversion worker: dioread's dio_unwritten_wq, a dedicated worker_thread.
// ext4 counterpart: the dio_unwritten_wq workqueue running ext4_end_io_work (the seed's version):
// take the inode mutex, convert (ext4_end_io_nolock), unlink under i_completed_io_lock, free.
//
// It sleeps on the doorbell word with Atomics.waitAsync, so its event loop stays free for the
// comlink control calls (pause, resume, drain, stats, shutdown). Worker-side code: it imports the
// engine's thread-side modules and constants, never the main-thread Engine.

import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../src/comlink-node.js';
import { Volume } from '../src/volume.js';
import { flushCompletedIO } from '../src/page-io.js';
import { queueConversion, wqEmpty, wqPop } from '../src/workqueue.js';
import { tryLock } from '../src/sync/lock.js';
import { lockInode, unlockInode } from '../src/inode.js';
import {
  H_DOORBELL,
  H_SHUTDOWN,
  H_WORKER_CONVERSIONS,
  H_WQ_PAUSED,
  I_MUTEX,
  I_WQ_QUEUED,
  LC_I_MUTEX,
  OP_CONVERT,
  SLOT_ROLE_CONVERSION,
  inodeWord,
  type SharedDescriptor,
} from '../src/shm/layout.js';

export interface ConversionStats {
  /** io_ends this worker converted and freed. */
  converted: number;
  /** Inodes taken off the ring. */
  batches: number;
  /** Times the worker woke up. */
  wakeups: number;
  paused: boolean;
  /** The last conversion error, if any (the io_end stays on its list, as in the seed). */
  lastError: string | null;
}

export interface ConversionWorkerApi {
  ready(): boolean;
  pause(): void;
  resume(): void;
  /** Convert everything queued now (even while paused); returns io_ends converted. */
  drain(): number;
  stats(): ConversionStats;
  shutdown(): void;
}

const v = new Volume(workerData as SharedDescriptor, SLOT_ROLE_CONVERSION);
const i32 = v.i32;
const stats: ConversionStats = { converted: 0, batches: 0, wakeups: 0, paused: false, lastError: null };

/** How long the worker waits before it retries inodes whose mutex was busy. */
const BUSY_RETRY_MS = 1;

/**
 * The workqueue's pass over the ring (process_one_work per queued inode): endIoWork for each inode
 * whose mutex it gets. The mutex is only tried, as later ext4 does (mutex_trylock, then requeue
 * the work): a holder of that mutex may be waiting for an io_end, while the io_ends sit on other
 * inodes' lists that only this worker drains; blocking here would close that cycle (a pool of 4
 * deadlocked so under 4 writers). Busy inodes go back on the ring after the pass. `block` (drain
 * and shutdown, control calls) then takes the busy mutexes too, once everything else is converted.
 * Returns io_ends converted and inodes requeued.
 * Model: model/dioread.pml worker, labels end_CW_wait, CW_trylock (docs/MODEL.md).
 */
function processQueued(block: boolean): { converted: number; requeued: number } {
  let n = 0;
  const busy: number[] = [];
  for (let ino = wqPop(v); ino >= 0; ino = wqPop(v)) {
    // Clear the queued flag first: completions from now on queue the inode again.
    Atomics.store(i32, inodeWord(v.layout, ino, I_WQ_QUEUED), 0);
    v.setOp(OP_CONVERT);
    const tok = tryLock(v, inodeWord(v.layout, ino, I_MUTEX), LC_I_MUTEX);
    if (tok < 0) busy.push(ino);
    else n += endIoWork(ino, tok);
  }
  if (block) {
    for (const ino of busy.splice(0)) {
      // A mutex whose owner died (EOWNERDEAD) must not stop the other inodes' conversions.
      let tok: number;
      try {
        tok = lockInode(v, ino);
      } catch (err) {
        stats.lastError = (err as Error).message;
        continue;
      }
      n += endIoWork(ino, tok);
    }
  }
  for (const ino of busy) queueConversion(v, ino, false);
  stats.converted += n;
  Atomics.add(i32, H_WORKER_CONVERSIONS, n);
  return { converted: n, requeued: busy.length };
}

/**
 * ext4_end_io_work for one inode: drain its completed list (flushCompletedIO converts each io_end,
 * unlinks it under i_completed_io_lock, frees it). The seed's version takes the mutex itself, per
 * io_end; here the caller took it (token `tok`), once per inode, and it is released here.
 * Model: model/dioread.pml worker, label CW_flush (docs/MODEL.md).
 */
function endIoWork(ino: number, tok: number): number {
  let n = 0;
  try {
    n = flushCompletedIO(v, ino);
  } catch (err) {
    stats.lastError = (err as Error).message;
    console.error(`dioread conversion worker: failed to convert unwritten extents of inode ${ino}: ${(err as Error).message}`);
  } finally {
    unlockInode(v, ino, tok);
  }
  stats.batches++;
  return n;
}

let stopping = false;

// Model: model/dioread.pml worker, label end_CW_wait (docs/MODEL.md).
async function loop(): Promise<void> {
  for (;;) {
    const seen = Atomics.load(i32, H_DOORBELL);
    const requeued = stats.paused ? 0 : processQueued(false).requeued;
    if (stopping || (Atomics.load(i32, H_SHUTDOWN) === 1 && wqEmpty(v))) break;
    // Inodes requeued because their mutex was busy: retry on a timer (their holders may not ring).
    const w = Atomics.waitAsync(i32, H_DOORBELL, seen, requeued > 0 ? BUSY_RETRY_MS : Infinity);
    if (w.async) await w.value;
    stats.wakeups++;
  }
  v.detach();
  parentPort!.close();
}

const api: ConversionWorkerApi = {
  ready: () => true,
  pause() {
    stats.paused = true;
    Atomics.store(i32, H_WQ_PAUSED, 1);
  },
  resume() {
    stats.paused = false;
    Atomics.store(i32, H_WQ_PAUSED, 0);
    Atomics.add(i32, H_DOORBELL, 1);
    Atomics.notify(i32, H_DOORBELL);
  },
  drain: () => processQueued(true).converted,
  stats: () => ({ ...stats }),
  shutdown() {
    processQueued(true);
    stopping = true;
    Atomics.store(i32, H_SHUTDOWN, 1);
    Atomics.add(i32, H_DOORBELL, 1);
    Atomics.notify(i32, H_DOORBELL);
  },
};

Comlink.expose(api, nodeEndpoint(parentPort as never));
void loop();
