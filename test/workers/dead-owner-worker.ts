// Worker for dead-owner-fails-waiters.test.ts: holds a file's inode mutex and dies (or not), or
// waits for that mutex through a write.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';
import { lockInode, unlockInode } from '../../src/inode.js';

const { desc, role } = workerData as { desc: never; role: 'die-holding' | 'hold-forever' | 'hold-then-release' | 'waiter' };
const view = attach(desc);
const fh = view.openSync('f', { create: true });
if (role === 'waiter') {
  try {
    fh.writeSync(Buffer.from('after'), { position: 0 });
    parentPort!.postMessage({ ok: true });
  } catch (err) {
    parentPort!.postMessage({ ok: false, code: (err as { code?: string }).code, message: (err as Error).message });
  }
} else {
  const tok = lockInode(view.volume, fh.ino);
  parentPort!.postMessage('locked');
  if (role === 'die-holding') {
    setTimeout(() => {
      throw new Error('the holder dies with the inode mutex held');
    }, 10);
  } else if (role === 'hold-forever') {
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  } else {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600); // alive, longer than a dead-owner check
    unlockInode(view.volume, fh.ino, tok);
    fh.closeSync();
    view.detach();
    parentPort!.postMessage('released');
  }
}
