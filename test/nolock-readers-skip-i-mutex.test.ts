// Guards DESIGN.md invariant 4 (with readLocking 'none' the read path takes no inode lock):
// lock_stat counts zero i_mutex acquisitions at the read point for reads of every kind (cache hits
// on the main thread, misses on the pool, buffered and direct, and attached worker threads),
// while the same reads with readLocking 'exclusive' count exactly one i_mutex per read call (the
// counter that proves the zero is live), and with 'shared' one i_rwsem-R per read and no i_mutex.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rng } from './helpers/image.js';
import { PAGE, cleanup, freshImage, openImage, pattern, runWorkersWithWatchdog } from './helpers/files.js';

const WORKER = new URL('./workers/reader-worker.js', import.meta.url);

for (const readLocking of ['none', 'exclusive', 'shared'] as const) {
  const mode = readLocking;
  const expected = { none: 'zero i_mutex and zero i_rwsem', exclusive: 'one i_mutex per read', shared: 'one i_rwsem-R per read, zero i_mutex' }[readLocking];
  test(`readLocking '${mode}' readers: lock acquisitions at the read point are ${expected}`, async (t) => {
    const image = await freshImage(16 << 20);
    const eng = await openImage(image, { cachePages: 16, readLocking, lockStats: 'counters' });
    const fileBytes = 64 * PAGE;
    const w = await eng.open('f', { create: true });
    await w.write(pattern(3, 0, fileBytes), { position: 0 });
    await w.sync();
    await w.close();
    await eng.drainConversion();
    eng.resetLockStats();

    // Async API reads: offsets spread over 64 pages with a 16-page cache, so both hits and misses.
    const h = { buffered: await eng.open('f', 'r+'), direct: await eng.open('f', { direct: true }) };
    const rand = rng(5);
    let asyncReads = 0;
    for (let i = 0; i < 400; i++) {
      const kind = i % 3 === 0 ? 'direct' : 'buffered';
      const len = 1 + Math.floor(rand() * 2 * PAGE);
      const pos = Math.floor(rand() * (fileBytes - len));
      const b = Buffer.alloc(len);
      await h[kind].read(b, { position: pos });
      assert.ok(b.equals(pattern(3, pos, len)), `read ${i} (${kind}) at ${pos}+${len}`);
      asyncReads++;
    }
    // Re-read one cached range: served on the main thread in nolock mode.
    const hot = Buffer.alloc(100);
    for (let i = 0; i < 50; i++) await h.buffered.read(hot, { position: 0 });
    asyncReads += 50;
    const st = await h.buffered.stat(); // pool task that takes no inode lock either
    assert.equal(st.size, fileBytes);

    const jobs = [0, 1, 2, 3].map((id) => ({ desc: eng.share(), name: 'f', fileBytes, seed: 11 + id, reads: 300, direct: id % 2 === 1, patternSeed: 3 }));
    const results = await runWorkersWithWatchdog<{ reads: number; wrong: number }>(WORKER, jobs, 60_000, 'readers stuck');
    const workerReads = results.reduce((s, r) => s + r.reads, 0);
    assert.equal(results.reduce((s, r) => s + r.wrong, 0), 0, 'every worker read returned the file bytes');

    const rows = eng.lockStats();
    const mutex = rows.find((r) => r.class === 'i_mutex')!;
    const rwsemR = rows.find((r) => r.class === 'i_rwsem-R')!;
    const seq = rows.find((r) => r.class === 'extent_seqlock')!;
    const c = eng.counters();
    t.diagnostic(`${mode}: ${asyncReads} async + ${workerReads} worker reads; i_mutex at read ${mutex.points.read.acquisitions} (all points ${mutex.acquisitions}), i_rwsem-R ${rwsemR.acquisitions}, extent_seqlock at read ${seq.points.read.acquisitions}; evictions ${c.evictions}`);
    assert.ok(c.evictions > 0, 'reads missed the cache (else only the hit path was measured)');
    if (readLocking !== 'exclusive') {
      assert.equal(mutex.points.read.acquisitions, 0, `${mode} reads took the inode mutex`);
      assert.equal(mutex.acquisitions, 0, 'nothing else took an inode mutex during the reads either');
      assert.ok(seq.points.read.acquisitions > 0, 'misses mapped blocks under the seqlock instead');
    } else {
      // Every read call takes the mutex once: the async ones all run on the pool in this mode.
      assert.equal(mutex.points.read.acquisitions, asyncReads + workerReads);
    }
    // Shared mode: every read call takes i_rwsem shared once (all on the pool or in workers: the
    // main thread's lock-free hit path is for 'none' only); the other modes never touch it.
    assert.equal(rwsemR.acquisitions, readLocking === 'shared' ? asyncReads + workerReads : 0);
    await h.buffered.close();
    await h.direct.close();
    await eng.close();
    cleanup(image);
  });
}
