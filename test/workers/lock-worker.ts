// Worker for locks-mutual-exclusion.test.ts: hammers one of the engine's shared locks (src/sync/lock.ts)
// from its own thread slot. 'mutex' and 'spin' do a non-atomic read-modify-write of a shared counter
// inside the lock; 'seq-writer' updates a pair of words inside a seqlock write section (writers are
// serialized by a mutex, as the engine's are by the inode mutex); 'seq-reader' reads the pair under
// the seqlock and counts torn pairs among the reads it accepted. `bypass` is the broken mode that
// proves the detector: no lock for the counter, no retry check for the seqlock reader.
import { parentPort, workerData } from 'node:worker_threads';
import { LC_COMPLETED_IO, LC_I_MUTEX, LC_SEQLOCK, SLOT_ROLE_USER } from '../../src/shm/layout.js';
import { lock, seqReadBegin, seqReadRetry, seqWriteBegin, seqWriteEnd, spinLock, unlock } from '../../src/sync/lock.js';
import { Volume } from '../../src/volume.js';
import { C_COUNTER, C_READY, C_WRITERS_DONE, type LockJob, type LockResult } from '../helpers/lock-control.js';

const job = workerData as LockJob;
const v = new Volume(job.desc, SLOT_ROLE_USER);
v.spinOverride = job.spinOverride;
const c = new Int32Array(job.control);
const i32 = v.i32;

// Everyone starts together (a barrier among the workers; the main thread may not Atomics.wait).
Atomics.add(c, C_READY, 1);
Atomics.notify(c, C_READY);
for (let seen = Atomics.load(c, C_READY); seen < job.workers; seen = Atomics.load(c, C_READY)) Atomics.wait(c, C_READY, seen, 50);

const until = Date.now() + job.deadlineMs;
let done = 0;
let torn = 0;
let retries = 0;
let firstTorn = '';
let sink = 0;

/** A little work inside the critical section, so an unprotected interleaving has room to happen. */
function work(x: number): number {
  let s = x;
  for (let k = 0; k < 20; k++) s = (Math.imul(s, 31) + k) | 0;
  return s;
}

if (job.kind === 'mutex' || job.kind === 'spin') {
  const cls = job.kind === 'mutex' ? LC_I_MUTEX : LC_COMPLETED_IO;
  while (done < job.iterations && ((done & 255) !== 0 || Date.now() < until)) {
    const tok = job.bypass ? 0 : job.kind === 'mutex' ? lock(v, job.lockWord, cls) : spinLock(v, job.lockWord, cls);
    const x = c[C_COUNTER]; // plain load: the lock is what makes this read-modify-write safe
    sink ^= work(x);
    c[C_COUNTER] = x + 1; // plain store
    if (!job.bypass) unlock(v, job.lockWord, cls, tok);
    done++;
  }
} else if (job.kind === 'seq-writer') {
  while (done < job.iterations && ((done & 255) !== 0 || Date.now() < until)) {
    const tok = lock(v, job.lockWord, LC_I_MUTEX);
    seqWriteBegin(i32, job.seqWord);
    const k = (i32[job.pairLo] + 1) | 0;
    i32[job.pairLo] = k;
    sink ^= work(k);
    i32[job.pairHi] = ~k; // the pair's invariant: hi === ~lo
    seqWriteEnd(i32, job.seqWord);
    unlock(v, job.lockWord, LC_I_MUTEX, tok);
    done++;
  }
  Atomics.add(c, C_WRITERS_DONE, 1);
} else {
  // Readers run while any writer does (bounded by the deadline as well).
  while (Atomics.load(c, C_WRITERS_DONE) < job.writers && Date.now() < until + 1000) {
    const s = seqReadBegin(v, job.seqWord, LC_SEQLOCK);
    const lo = i32[job.pairLo];
    sink ^= work(lo);
    const hi = i32[job.pairHi];
    if (!job.bypass && seqReadRetry(i32, job.seqWord, s)) {
      retries++;
      continue;
    }
    if (hi !== ~lo) {
      if (torn === 0) firstTorn = `lo ${lo} hi ${hi} (want ${~lo}) at seq ${s}`;
      torn++;
    }
    done++;
  }
}
v.detach();
parentPort!.postMessage({ kind: job.kind, done, torn, retries, firstTorn, sink } satisfies LockResult & { sink: number });
