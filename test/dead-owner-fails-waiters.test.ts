// Guards DESIGN.md invariant 10: a thread that dies holding a shared lock does not hang the others:
// waiters see the owner's slot dead and fail with EOWNERDEAD; a live slow owner is never declared dead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Engine, DioreadError } from '../src/index.js';

const URL_ = new URL('./workers/dead-owner-worker.js', import.meta.url);

function start(eng: Engine, role: string): { w: Worker; first: Promise<unknown>; exited: Promise<number> } {
  const w = new Worker(URL_, { workerData: { desc: eng.share(), role } });
  w.on('error', () => undefined); // the dying holder's uncaught error is the point
  const first = new Promise((resolve) => w.once('message', resolve));
  const exited = new Promise<number>((resolve) => w.once('exit', resolve));
  return { w, first, exited };
}

async function waiterResult(eng: Engine): Promise<{ ok: boolean; code?: string; message?: string }> {
  const waiter = start(eng, 'waiter');
  const r = (await Promise.race([waiter.first, new Promise((_, reject) => setTimeout(() => reject(new Error('waiter hung for 10 s')), 10_000))])) as {
    ok: boolean;
    code?: string;
  };
  await waiter.exited;
  return r;
}

async function closeExpectingDeadOwner(eng: Engine): Promise<void> {
  // close() syncs every file: the dead owner's mutex makes that fail too, with the same clear error.
  await assert.rejects(eng.close(), (err: unknown) => err instanceof DioreadError && err.code === 'EOWNERDEAD');
}

test('a holder that dies with an uncaught error: the waiter fails with EOWNERDEAD', async () => {
  const eng = await Engine.open({ sizeBytes: 8 << 20 });
  const holder = start(eng, 'die-holding');
  assert.equal(await holder.first, 'locked');
  await holder.exited;
  const r = await waiterResult(eng);
  assert.equal(r.ok, false);
  assert.equal(r.code, 'EOWNERDEAD', r.message);
  assert.match(r.message!, /i_mutex .* thread slot \d+, whose thread died/);
  await closeExpectingDeadOwner(eng);
});

test('a holder killed by worker.terminate(), watched by the engine: the waiter fails with EOWNERDEAD', async () => {
  const eng = await Engine.open({ sizeBytes: 8 << 20 });
  const holder = start(eng, 'hold-forever');
  eng.watchWorker(holder.w);
  assert.equal(await holder.first, 'locked');
  await holder.w.terminate();
  const r = await waiterResult(eng);
  assert.equal(r.code, 'EOWNERDEAD', r.message);
  await closeExpectingDeadOwner(eng);
});

test('a live holder that keeps the mutex past a dead-owner check is waited for, not declared dead', async () => {
  const eng = await Engine.open({ sizeBytes: 8 << 20 });
  try {
    const holder = start(eng, 'hold-then-release');
    assert.equal(await holder.first, 'locked');
    const r = await waiterResult(eng);
    assert.deepEqual(r, { ok: true });
    await holder.exited;
  } finally {
    await eng.close();
  }
});
