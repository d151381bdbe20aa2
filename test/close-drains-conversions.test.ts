// Guards DESIGN.md invariant 7 (close() of the engine drains the conversion queue: nothing is
// discarded, unlike the seed at unmount): io_ends still queued, pages still dirty, and writes still
// in flight at close are all on the image, converted, after a reopen; fsck finds it clean.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE, cleanup, firstDiff, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

test('engine close with the conversion worker paused converts every queued io_end; reopen sees the bytes', async (t) => {
  const image = await freshImage(16 << 20);
  const cachePages = 32;
  const eng = await openImage(image, { cachePages });
  await eng.pauseConversion();
  const want = new Map<string, Buffer>();

  // a: past half the cache dirty -> written back by the writer, io_ends queued; handle closed.
  const a = await eng.open('a', { create: true });
  const aBuf = Buffer.alloc(2 * (cachePages / 2 + 1) * PAGE);
  for (let k = 0; k <= cachePages / 2; k++) {
    const b = pattern(k + 1, 2 * k * PAGE, PAGE);
    b.copy(aBuf, 2 * k * PAGE);
    await a.write(b, { position: 2 * k * PAGE });
  }
  want.set('a', aBuf.subarray(0, (2 * (cachePages / 2) + 1) * PAGE));
  await a.close();
  const queued = eng.counters().ioEndsTotal - eng.counters().ioEndsFree;
  assert.equal(queued, cachePages / 2 + 1, 'a has io_ends queued');

  // b: a few dirty pages, odd size; never synced.
  const b = await eng.open('b', { create: true });
  const bData = pattern(200, 0, 3 * PAGE + 777);
  await b.write(bData, { position: 0 });
  want.set('b', bData);
  assert.equal((await b.cacheState()).dirtyPages, 4);

  // c: direct writes (converted as they complete) next to buffered ones in the same file.
  const c = await eng.open('c', { create: true, direct: true });
  const cBuf = Buffer.alloc(6 * PAGE + 100);
  pattern(300, 0, 6 * PAGE + 100).copy(cBuf, 0);
  await c.write(cBuf.subarray(0, 6 * PAGE + 100), { position: 0 });
  const c2 = await eng.open('c', 'r+');
  const cTail = pattern(301, 2 * PAGE + 5, 1000);
  await c2.write(cTail, { position: 2 * PAGE + 5 });
  cTail.copy(cBuf, 2 * PAGE + 5);
  want.set('c', cBuf);

  // d: writes still in flight when close is called.
  const d = await eng.open('d', { create: true });
  const dBuf = Buffer.alloc(5 * PAGE + 3);
  const inflight: Array<Promise<unknown>> = [];
  for (let k = 0; k < 5; k++) {
    const part = pattern(400 + k, k * PAGE, k === 4 ? PAGE + 3 : PAGE);
    part.copy(dBuf, k * PAGE);
    inflight.push(d.write(part, { position: k * PAGE }));
  }
  want.set('d', dBuf);

  const before = eng.counters();
  // Only the direct writes converted so far (at their completion): no sync ran, the worker is paused.
  assert.equal(before.syncConversions, 0);
  assert.equal(before.workerConversions, 0);
  await eng.close();
  const results = await Promise.allSettled(inflight);
  assert.ok(results.every((r) => r.status === 'fulfilled'), `writes in flight at close completed: ${JSON.stringify(results.map((r) => r.status))}`);

  // The engine's counters stay readable after close.
  const after = eng.counters();
  t.diagnostic(`queued at close ${queued}, conversions at close ${after.conversions - before.conversions} (sync ${after.syncConversions}, worker ${after.workerConversions}), writebacks ${after.writebacks}, io_ends free ${after.ioEndsFree}/${after.ioEndsTotal}`);
  // a's queued io_ends, plus at least one each for the dirty pages of b and d that close writes back.
  const converted = after.conversions - before.conversions;
  assert.ok(converted >= queued + 2, `close converted the queued io_ends and those of its own writeback (${converted})`);
  assert.equal(after.ioEndsFree, after.ioEndsTotal, 'no io_end left behind');
  assert.equal(after.dirtyPages, 0);
  assert.equal(after.conversionErrors, 0);

  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  assert.deepEqual(r.warnings, [], 'closed cleanly, no leaked blocks');
  for (const file of r.files) assert.equal(file.unwrittenBlocks, 0, `${file.name}: no unwritten extent left on the image`);

  const eng2 = await openImage(image, { cachePages: 16 });
  for (const [name, buf] of want) {
    for (const direct of [false, true]) {
      const h = await eng2.open(name, { direct });
      const st = await h.stat();
      assert.equal(st.size, buf.length, `${name}: size`);
      const diff = firstDiff(await readWhole(h, buf.length), buf);
      assert.equal(diff, null, `${name} (${direct ? 'direct' : 'buffered'} read after reopen): ${diff?.what}`);
      await h.close();
    }
  }
  await eng2.close();
  cleanup(image);
});
