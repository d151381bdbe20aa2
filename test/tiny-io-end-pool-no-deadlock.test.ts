// Guards DESIGN.md invariants 1, 3 and 5 under the io_end pool's retry loop (issue 2, engine item 8:
// "when the pool is empty the writer waits and retries: never fails, never deadlocks"): a pool of 4
// (and of 1) io_ends, a 16-page cache, 4 writer threads on their own files and one shared file,
// buffered and direct, with syncs and truncates, must finish (a watchdog bounds it) with every byte
// in place. Before the fixes in workers/conversion-worker.ts (trylock and requeue) and page-io.ts
// (writeback takes its io_end before its page locks) both pool sizes deadlocked here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanup, firstDiff, freshImage, fsck, openImage, readWhole, runWorkersWithWatchdog } from './helpers/files.js';

const WORKER = new URL('./workers/pool-writer-worker.js', import.meta.url);

interface Result {
  id: number;
  ops: number;
  ownWrites: number;
  sharedWrites: number;
  sharedWords: number;
  stale: number;
  firstStale: string;
  mismatch: string;
  size: number;
  bytes: Uint8Array;
}

// io_ends exist only in dioreadNolock mode (with the inode mutex, writes allocate written extents).
for (const ioEnds of [4, 1]) {
  test(`an io_end pool of ${ioEnds} under 4 writer threads finishes without deadlock`, async (t) => {
    const image = await freshImage(32 << 20);
    const eng = await openImage(image, { ioEnds, cachePages: 16, dioreadNolock: true });
    const sharedBytes = 256 << 10;
    const s = await eng.open('shared', { create: true });
    await s.truncate(sharedBytes);
    await s.close();
    const jobs = [1, 2, 3, 4].map((id) => ({ desc: eng.share(), id, fileBytes: 384 << 10, sharedBytes, deadlineMs: 2000, maxOps: 50_000, seed: 0xbeef + id * 7919 + ioEnds }));
    let results: Result[];
    try {
      // Each worker stops by itself after 2 s; 60 s means they are stuck.
      results = await runWorkersWithWatchdog<Result>(WORKER, jobs, 60_000, `io_end pool of ${ioEnds}: deadlock`);
    } catch (err) {
      t.diagnostic(`counters at failure: ${JSON.stringify(eng.counters())}`);
      throw err;
    }
    const c = eng.counters();
    const ops = results.reduce((n, r) => n + r.ops, 0);
    t.diagnostic(`${ops} operations (${results.map((r) => `w${r.id}: ${r.ownWrites} own + ${r.sharedWrites} shared writes`).join(', ')}); io_end pool ran empty ${c.ioEndWaits} times; conversions ${c.conversions} (worker ${c.workerConversions}, sync ${c.syncConversions}); writebacks ${c.writebacks}, evictions ${c.evictions}`);
    for (const r of results) {
      assert.equal(r.mismatch, '', `worker ${r.id}: its own file read back wrong: ${r.mismatch}`);
      assert.equal(r.stale, 0, `worker ${r.id}: stale words in the shared file: ${r.firstStale}`);
      assert.ok(r.ownWrites > 20, `worker ${r.id} made progress (${r.ownWrites} writes)`);
    }
    assert.ok(c.ioEndWaits > 0, `the pool of ${ioEnds} ran empty (else this test proves nothing about the retry loop)`);
    assert.equal(c.conversionErrors, 0);
    await eng.close();
    const after = eng.counters();
    assert.equal(after.ioEndsFree, ioEnds, 'every io_end back in the pool after close');

    const r = fsck(image);
    assert.ok(r.clean, r.summary);
    assert.deepEqual(r.warnings, []);
    const eng2 = await openImage(image, { cachePages: 64 });
    for (const res of results) {
      const f = await eng2.open(`own-${res.id}`);
      const d = firstDiff(await readWhole(f, res.size + 4096), Buffer.from(res.bytes));
      assert.equal(d, null, `own-${res.id} after reopen: ${d?.what}`);
      await f.close();
    }
    await eng2.close();
    cleanup(image);
  });
}
