// Guards DESIGN.md invariant 3 with ext4_invalidatepage_free_endio: truncate frees the io_ends
// (and page pins) of the pages it drops, so nothing leaks and the pool returns to full before the
// conversion worker runs; an io_end straddling the cut is trimmed and the kept part still converts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { PAGE, cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

async function assertPoolFull(eng: Engine, what: string) {
  const c = eng.counters();
  assert.equal(c.ioEndsFree, c.ioEndsTotal, `${what}: io_ends free ${c.ioEndsFree} of ${c.ioEndsTotal}`);
}

test('truncate to 0 frees io_ends queued by balance_dirty_pages writeback, before the worker runs', async (t) => {
  const image = await freshImage(16 << 20);
  const cachePages = 32;
  const eng = await openImage(image, { cachePages });
  const f = await eng.open('a', { create: true });
  const c0 = eng.counters();
  await eng.pauseConversion();
  // Past half the cache dirty, the writer writes its file back (balance_dirty_pages). Even indexes:
  // one io_end per page.
  const pages = cachePages / 2 + 1;
  for (let k = 0; k < pages; k++) await f.write(pattern(k + 1, 2 * k * PAGE, PAGE), { position: 2 * k * PAGE });
  const c1 = eng.counters();
  const st = await f.cacheState();
  t.diagnostic(`queued io_ends ${st.pendingConversions}, free ${c1.ioEndsFree}/${c1.ioEndsTotal}, writebacks ${c1.writebacks - c0.writebacks}`);
  assert.equal(st.pendingConversions, pages, 'io_ends sit on the completed list');
  assert.equal(c1.ioEndsTotal - c1.ioEndsFree, pages);
  assert.equal(st.dirtyPages, 0, 'written back');

  await f.truncate(0);

  await assertPoolFull(eng, 'after truncate(0), worker still paused');
  const c2 = eng.counters();
  const st2 = await f.cacheState();
  assert.equal(st2.pendingConversions, 0);
  assert.equal(st2.cachedPages, 0, 'the pinned pages were unpinned and dropped');
  assert.equal(st2.blocks, 0);
  // Freed blocks stay pending until the truncate is committed (no other file may take them before):
  assert.equal(c2.freeBlocks + c2.pendingFreeBlocks, c0.freeBlocks, 'every block freed (pending its commit)');
  await f.sync();
  const c3 = eng.counters();
  // A freed extent-tree node stays held until the journal's next reset (its image may be in the log).
  assert.equal(c3.freeBlocks + c3.heldBlocks, c0.freeBlocks, 'after the commit every block is back in the allocator (node blocks held until the log resets)');
  assert.equal(c3.pendingFreeBlocks, 0);
  assert.equal(c2.conversions, c0.conversions, 'truncate freed the io_ends without converting them');
  await eng.resumeConversion();
  assert.equal(await eng.drainConversion(), 0, 'the worker finds nothing');

  // The frames the io_ends pinned are reusable: fill the whole cache with another file.
  const g = await eng.open('b', { create: true });
  for (let k = 0; k < 2 * cachePages; k++) await g.write(pattern(900 + k, k * PAGE, PAGE), { position: k * PAGE });
  await g.sync();
  assert.equal((await f.stat()).size, 0);
  await g.close();
  await f.close();
  await eng.close();
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  assert.deepEqual(r.warnings, [], 'no leaked blocks');
  cleanup(image);
});

test('truncate frees io_ends queued by reclaim writeback (cache pressure from another file)', async (t) => {
  const image = await freshImage(16 << 20);
  const cachePages = 16;
  const eng = await openImage(image, { cachePages });
  // A file to read through the cache, written and converted before, then dropped from the cache.
  const b = await eng.open('b', { create: true });
  const bPages = 4 * cachePages;
  const bData = pattern(77, 0, bPages * PAGE);
  await b.write(bData, { position: 0 });
  await b.sync();
  await eng.dropCaches();
  const c0 = eng.counters();

  await eng.pauseConversion();
  const a = await eng.open('a', { create: true });
  const aIdx = [0, 3, 7];
  for (const i of aIdx) await a.write(pattern(i + 1, i * PAGE, PAGE), { position: i * PAGE });
  assert.equal((await a.cacheState()).dirtyPages, aIdx.length);
  // Reading b misses every page: reclaim (allocFrame) writes back a's dirty pages to make room,
  // each through an io_end that pins its page.
  assert.deepEqual(await readWhole(b, bPages * PAGE), bData);
  const st = await a.cacheState();
  const c1 = eng.counters();
  t.diagnostic(`reclaim: evictions ${c1.evictions - c0.evictions}, writebacks ${c1.writebacks - c0.writebacks}, a: pending ${st.pendingConversions}, cached ${st.cachedPages}`);
  assert.equal(st.dirtyPages, 0, 'reclaim wrote back every dirty page of a');
  assert.equal(st.pendingConversions, aIdx.length, 'one io_end per page, queued');
  assert.equal(st.cachedPages, aIdx.length, 'pinned pages survived the eviction storm');
  assert.equal(c1.ioEndsTotal - c1.ioEndsFree, aIdx.length);

  await a.truncate(0);
  await assertPoolFull(eng, 'after truncate(0), worker still paused');
  assert.equal((await a.cacheState()).cachedPages, 0);
  assert.equal(eng.counters().conversions, c1.conversions);
  await eng.resumeConversion();
  assert.equal(await eng.drainConversion(), 0);
  await a.close();
  await b.close();
  await eng.close();
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  assert.deepEqual(r.warnings, []);
  cleanup(image);
});

test('truncate inside a queued multi-page io_end trims it; the kept part converts and keeps its bytes', async (t) => {
  const image = await freshImage(16 << 20);
  const cachePages = 64;
  const eng = await openImage(image, { cachePages });
  const f = await eng.open('a', { create: true });
  await eng.pauseConversion();
  const n = 40; // one write of 40 pages: past half the cache dirty, written back as one run
  const data = pattern(5, 0, n * PAGE);
  await f.write(data, { position: 0 });
  const st = await f.cacheState();
  assert.equal(st.dirtyPages, 0);
  assert.equal(st.pendingConversions, 1, 'one io_end for the contiguous run');

  const cut = 20 * PAGE + 1234; // keeps 21 pages, the last one partly
  await f.truncate(cut);
  const st2 = await f.cacheState();
  const c = eng.counters();
  t.diagnostic(`after truncate: pending ${st2.pendingConversions}, free ${c.ioEndsFree}/${c.ioEndsTotal}, cached ${st2.cachedPages}`);
  assert.equal(st2.pendingConversions, 1, 'the straddling io_end stays, trimmed');
  assert.equal(c.ioEndsTotal - c.ioEndsFree, 1);
  assert.equal(st2.size, cut);
  assert.equal(st2.blocks, 21);

  await eng.resumeConversion();
  await f.sync();
  await assertPoolFull(eng, 'after resume and sync');
  assert.equal((await f.cacheState()).pendingConversions, 0);
  // Grow it back: the cut tail reads as zeros, the kept bytes are intact.
  await f.truncate(n * PAGE);
  const want = Buffer.alloc(n * PAGE);
  data.copy(want, 0, 0, cut);
  assert.deepEqual(await readWhole(f, n * PAGE), want);
  await f.close();
  await eng.close();
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.files[0].unwrittenBlocks, 0);

  // And after a reopen (reads from the device now).
  const eng2 = await openImage(image, { cachePages: 16 });
  const g = await eng2.open('a', 'r+');
  assert.deepEqual(await readWhole(g, n * PAGE), want);
  await eng2.close();
  cleanup(image);
});
