// Guards DESIGN.md invariant 12's second half ("after close() of the engine, no view can read or
// write the image") against issue 7's bug 6: a worker's attached view, and a descriptor from
// share(), still read, wrote and created files after close, and their writes reached an image
// already marked clean. Every call after close must fail with a DioreadError (EBADF) and the image
// must stay byte for byte as close left it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { cleanup, freshImage, fsck, openImage } from './helpers/files.js';

test('after engine.close(), every call of an attached view and a new attach fail with EBADF and write nothing', async () => {
  const image = await freshImage(8 << 20);
  const eng = await openImage(image);
  const f = await eng.open('shared', 'w+');
  await f.write('before close', 0);
  await f.close();
  const go = new SharedArrayBuffer(4);
  const w = new Worker(new URL('./workers/late-view-worker.js', import.meta.url), { workerData: { desc: eng.share(), go } });
  const messages: unknown[] = [];
  const next = () => new Promise((resolve, reject) => {
    if (messages.length > 0) return resolve(messages.shift());
    w.once('message', resolve);
    w.once('error', reject);
  });
  w.on('message', (m) => messages.push(m));
  assert.equal(await next(), 'ready');
  messages.length = 0;
  w.removeAllListeners('message');
  await eng.close();
  const closed = fs.readFileSync(image);
  const result = new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  // Listen for the exit before the go: the worker posts and exits at once, and both events can be
  // delivered before this function resumes after the message.
  const exited = new Promise((resolve) => w.once('exit', resolve));
  Atomics.store(new Int32Array(go), 0, 1);
  Atomics.notify(new Int32Array(go), 0);
  const results = (await result) as Record<string, string>;
  await exited;
  for (const [what, outcome] of Object.entries(results)) assert.equal(outcome, 'DioreadError:EBADF', `${what} after close: ${outcome}`);
  assert.ok(fs.readFileSync(image).equals(closed), 'the image is byte for byte what close left');
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  assert.deepEqual(r.files.map((x) => x.name), ['shared']);
  cleanup(image);
});
