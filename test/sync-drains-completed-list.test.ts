// Guards DESIGN.md invariant 6 (sync() returns only when every earlier write of the file is on disk,
// converted and committed): sync drains the inode's completed list itself (flush_completed_IO),
// with no double conversion against the conversion worker, paused or racing it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE, cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

test('sync() converts the io_ends of its own writeback while the conversion worker is paused', async (t) => {
  const image = await freshImage(16 << 20);
  const eng = await openImage(image, { cachePages: 64 });
  const f = await eng.open('a', { create: true });
  await eng.pauseConversion();
  const c0 = eng.counters();
  // Single pages at even indexes: no two are adjacent, so writeback makes one io_end per page and
  // "io_ends created" is the number of pages written back.
  const indexes = [0, 2, 4, 6, 8, 10];
  for (const i of indexes) await f.write(pattern(i + 1, i * PAGE, PAGE), { position: i * PAGE });
  const before = await f.cacheState();
  assert.equal(before.dirtyPages, indexes.length, 'the writes are still dirty in the cache (below the balance threshold)');
  assert.equal(before.pendingConversions, 0);

  await f.sync();

  const c1 = eng.counters();
  const st = await f.cacheState();
  const created = c1.writebacks - c0.writebacks;
  t.diagnostic(`writebacks ${created}, conversions ${c1.conversions - c0.conversions} (sync ${c1.syncConversions - c0.syncConversions}, worker ${c1.workerConversions - c0.workerConversions}), io_ends free ${c1.ioEndsFree}/${c1.ioEndsTotal}`);
  assert.equal(created, indexes.length, 'sync wrote back every dirty page');
  assert.equal(c1.syncConversions - c0.syncConversions, created, 'sync converted every io_end its writeback made');
  assert.equal(c1.conversions - c0.conversions, created, 'each io_end converted exactly once');
  assert.equal(c1.workerConversions - c0.workerConversions, 0, 'the paused worker converted nothing');
  assert.equal(c1.conversionErrors, 0);
  assert.equal(c1.ioEndsFree, c1.ioEndsTotal, 'every io_end is back in the pool');
  assert.equal(st.pendingConversions, 0, 'the completed list is empty');
  assert.equal(st.dirtyPages, 0);

  // Committed: the inode record on the image already has the size and no unwritten block.
  const onDisk = fsck(image).files.find((x) => x.name === 'a');
  assert.ok(onDisk, 'the file is in the image after sync');
  assert.equal(onDisk.size, 11 * PAGE);
  assert.equal(onDisk.unwrittenBlocks, 0, 'sync committed the conversions');
  assert.equal(onDisk.blocks, indexes.length);

  // The worker, once resumed, finds nothing left.
  await eng.resumeConversion();
  assert.equal(await eng.drainConversion(), 0, 'nothing left for the worker after sync');
  const c2 = eng.counters();
  assert.equal(c2.conversions, c1.conversions);
  assert.equal(c2.workerConversions, c1.workerConversions);
  assert.equal((await eng.conversionStats()).converted, 0);

  const want = Buffer.alloc(11 * PAGE);
  for (const i of indexes) pattern(i + 1, i * PAGE, PAGE).copy(want, i * PAGE);
  assert.deepEqual(await readWhole(f, 11 * PAGE), want);
  await f.close();
  await eng.close();
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  cleanup(image);
});

test('sync() racing the resumed conversion worker: every io_end converted exactly once', async (t) => {
  const image = await freshImage(16 << 20);
  const cachePages = 64;
  const eng = await openImage(image, { cachePages, ioEnds: 64 });
  const f = await eng.open('a', { create: true });
  const queued = cachePages / 2 + 1; // the write that makes this many pages dirty writes back the file
  const dirty = 8;
  const rounds = 20;
  const want = new Map<number, Buffer>();
  let sumSync = 0;
  let sumWorker = 0;
  for (let r = 0; r < rounds; r++) {
    const base = r * 2 * (queued + dirty + 1);
    await eng.pauseConversion();
    const c0 = eng.counters();
    // 1. Non-adjacent pages until balance_dirty_pages writes them back: their io_ends stay queued.
    for (let k = 0; k < queued; k++) {
      const i = base + 2 * k;
      const b = pattern(r * 1000 + k + 1, i * PAGE, PAGE);
      want.set(i, b);
      await f.write(b, { position: i * PAGE });
    }
    const mid = eng.counters();
    const pending = mid.ioEndsTotal - mid.ioEndsFree;
    assert.equal(pending, queued, `round ${r}: balance_dirty_pages queued one io_end per page`);
    assert.equal((await f.cacheState()).pendingConversions, queued);
    // 2. More dirty pages that only sync will write back.
    for (let k = 0; k < dirty; k++) {
      const i = base + 2 * (queued + k);
      const b = pattern(r * 1000 + 500 + k, i * PAGE, PAGE);
      want.set(i, b);
      await f.write(b, { position: i * PAGE });
    }
    assert.equal((await f.cacheState()).dirtyPages, dirty);
    // 3. Let the worker go and sync at once: both drain the same list.
    await Promise.all([eng.resumeConversion(), f.sync()]);
    // The worker adds its batch to workerConversions when the batch ends; a control call is served
    // only between batches, so once drainConversion answers, the counters are complete.
    assert.equal(await eng.drainConversion(), 0, `round ${r}: nothing left after sync`);
    const c1 = eng.counters();
    const created = pending + (c1.writebacks - mid.writebacks);
    const bySync = c1.syncConversions - c0.syncConversions;
    const byWorker = c1.workerConversions - c0.workerConversions;
    sumSync += bySync;
    sumWorker += byWorker;
    assert.equal(c1.writebacks - mid.writebacks, dirty, `round ${r}: sync wrote back the dirty pages`);
    assert.equal(c1.conversions - c0.conversions, created, `round ${r}: conversions equal io_ends created`);
    assert.equal(bySync + byWorker, created, `round ${r}: sync ${bySync} + worker ${byWorker} conversions equal io_ends created ${created}`);
    assert.equal(c1.ioEndsFree, c1.ioEndsTotal, `round ${r}: pool full again`);
    assert.equal(c1.conversionErrors, 0);
    assert.equal((await f.cacheState()).pendingConversions, 0);
  }
  t.diagnostic(`${rounds} rounds: conversions by sync ${sumSync}, by the worker ${sumWorker}`);
  const size = (await f.stat()).size;
  const expect = Buffer.alloc(size);
  for (const [i, b] of want) b.copy(expect, i * PAGE);
  assert.deepEqual(await readWhole(f, size), expect);
  await f.close();
  await eng.close();
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  assert.equal(r.files[0].unwrittenBlocks, 0);
  cleanup(image);
});
