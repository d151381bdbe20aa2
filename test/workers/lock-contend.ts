// Worker for lock-stat-profile.test.ts: two threads on one mutex word, arranged so that the second
// one always finds it held (the holder waits until the other is asleep on the word).
import { parentPort, workerData } from 'node:worker_threads';
import { Volume } from '../../src/volume.js';
import { LW_WAITERS, lock, unlock } from '../../src/sync/lock.js';
import { LC_I_MUTEX, OP_READ, OP_WRITE, SLOT_ROLE_USER } from '../../src/shm/layout.js';

const { desc, word, role, rounds, flags } = workerData as { desc: never; word: number; role: 'holder' | 'waiter'; rounds: number; flags: SharedArrayBuffer };
const v = new Volume(desc, SLOT_ROLE_USER);
v.spinOverride = 1; // go to sleep at once, so the waiters bit shows up in the word
const f = new Int32Array(flags); // f[0]: round the holder holds; f[1]: round the waiter is in
const deadline = Date.now() + 20_000;
for (let r = 1; r <= rounds; r++) {
  if (role === 'holder') {
    v.setOp(OP_WRITE);
    const t = lock(v, word, LC_I_MUTEX);
    Atomics.store(f, 0, r);
    Atomics.notify(f, 0);
    // Hold until the waiter sleeps on the word (the waiters bit is set): a sure contention.
    while ((Atomics.load(v.i32, word) & LW_WAITERS) === 0) {
      if (Date.now() > deadline) throw new Error('waiter never blocked');
    }
    unlock(v, word, LC_I_MUTEX, t);
    while (Atomics.load(f, 1) < r) Atomics.wait(f, 1, Atomics.load(f, 1), 50);
  } else {
    v.setOp(OP_READ);
    while (Atomics.load(f, 0) < r) Atomics.wait(f, 0, Atomics.load(f, 0), 50);
    const t = lock(v, word, LC_I_MUTEX);
    unlock(v, word, LC_I_MUTEX, t);
    Atomics.store(f, 1, r);
    Atomics.notify(f, 1);
  }
}
v.detach();
parentPort!.postMessage('done');
