// Guards issue 7's bug 10 (no DESIGN.md invariant; the contract's ENOSPC means "the device or the
// file's extent table is full", not "the writes came in an unlucky order"): 300 concurrent 512-byte
// writes, one into each of 300 consecutive blocks, through the async API, took one extent each and
// hit ENOSPC after 48 blocks with 64 extents per file, while awaited one by one they made one
// extent. Allocation now follows the file's own layout, so the order does not matter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE, cleanup, freshImage, openImage, pattern, readWhole } from './helpers/files.js';

for (const poolThreads of [2, 4]) {
  test(`300 concurrent writes to consecutive blocks (${poolThreads} pool threads) all land, in few extents`, async (t) => {
    const image = await freshImage(16 << 20, {});
    const eng = await openImage(image, { poolThreads });
    const f = await eng.open('f', 'w+');
    const n = 300;
    const chunks = Array.from({ length: n }, (_, i) => pattern(i + 1, i * PAGE, 512));
    const results = await Promise.allSettled(chunks.map((c, i) => f.write(c, 0, 512, i * PAGE)));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(failed.length, 0, `${failed.length} writes failed, first: ${failed[0]?.reason}`);
    const st = await f.cacheState();
    await f.sync();
    const after = await f.cacheState();
    t.diagnostic(`extents while unconverted: ${st.extents}; after sync: ${after.extents}`);
    assert.ok(after.extents <= 4, `${after.extents} extents for 300 consecutive blocks`);
    const got = await readWhole(f, n * PAGE);
    for (let i = 0; i < n; i++) assert.ok(got.subarray(i * PAGE, i * PAGE + 512).equals(chunks[i]), `block ${i}'s write`);
    await f.close();
    await eng.close();
    cleanup(image);
  });
}
