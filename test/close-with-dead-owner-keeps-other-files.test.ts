// Guards DESIGN.md invariants 7 and 10 against issue 7's bug 7: a worker died holding one file's
// inode mutex; close() used to reject at that file and skip every file after it, losing their
// unsynced data. Close must write back and commit every other file, then report the dead one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DioreadError } from '../src/index.js';
import { cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

test('close with a dead mutex owner on one file writes back and commits every other file, then reports EOWNERDEAD', async (t) => {
  const image = await freshImage(16 << 20);
  const eng = await openImage(image, { cachePages: 64 });
  // Files on both sides of the dead one in inode order, each with unsynced data.
  const names = ['before', 'f', 'after1', 'after2'];
  const want = new Map<string, Buffer>();
  for (const [i, name] of names.entries()) {
    const h = await eng.open(name, 'w+');
    if (name !== 'f') {
      const data = pattern(50 + i, 0, 3 * 4096 + 77);
      await h.write(data, 0, data.length, 0);
      want.set(name, data);
    }
    await h.close();
  }
  const w = new Worker(new URL('./workers/dead-owner-worker.js', import.meta.url), { workerData: { desc: eng.share(), role: 'die-holding' } });
  w.on('error', () => undefined); // its death is the point
  assert.equal(await new Promise((resolve) => w.once('message', resolve)), 'locked');
  await new Promise((resolve) => w.once('exit', resolve));
  const err = await eng.close().then(() => null, (e: unknown) => e);
  assert.ok(err instanceof DioreadError, `close rejected with ${String(err)}`);
  assert.equal(err.code, 'EOWNERDEAD', err.message);
  const r = fsck(image);
  assert.equal(r.errors.length, 0, r.summary);
  const eng2 = await openImage(image);
  for (const [name, data] of want) {
    const h = await eng2.open(name);
    assert.ok((await readWhole(h, data.length + 1)).equals(data), `${name}'s unsynced data survived close`);
    await h.close();
  }
  await eng2.close();
  t.diagnostic(`close: ${err.message.slice(0, 200)}`);
  assert.match(err.message, /\bf: /, 'the message names the dead file');
  cleanup(image);
});
