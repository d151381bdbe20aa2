// Guards DESIGN.md invariants 6 and 7 when a conversion must split an unwritten extent: normally the
// split grows the file's extent tree (the root in the inode holds 4 extents, then a leaf node takes
// them); when no block is left for a tree node (the FAULT_NO_TREE_NODES fault), the conversion falls
// back to ext4's zero-out (the whole extent turns written once every block of it holds on the device
// what a reader must see) instead of failing. Before that fallback, such a conversion failed with
// ENOSPC for good: direct writes failed, sync and engine close threw, and close never wrote the
// session's metadata (the file vanished on reopen). The image is pre-filled with a sentinel, so a
// zero-out that exposed old bytes would show.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAULT_NO_TREE_NODES } from '../src/testing-symbols.js';
import { PAGE, cleanup, firstDiff, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

for (const [paused, noNodes] of [[false, false], [true, false], [false, true], [true, true]]) {
  test(`direct writes into a dirty unwritten extent split it ${noNodes ? 'with no block for a tree node (zero-out)' : 'into a tree'}${paused ? ' (conversion worker paused)' : ''}`, async (t) => {
    const image = await freshImage(8 << 20, { maxFiles: 4 });
    const eng = await openImage(image, { cachePages: 64, ...(noNodes ? { [FAULT_NO_TREE_NODES]: true } : {}) } as never);
    const a = await eng.open('a', { create: true });
    const ad = await eng.open('a', { direct: true });
    const n = 24;
    const want = pattern(1, 0, n * PAGE - 99);
    // One buffered write: one unwritten extent of 24 blocks, every page dirty (below the balance
    // threshold of 32), nothing on the device yet.
    await a.write(want, { position: 0 });
    if (paused) await eng.pauseConversion();
    // Each direct write of an even page writes that page back, converts it (splitting the extent
    // around it: 2 more extents) and writes the new bytes: the root fills after 2 of them.
    let maxExtents = 0;
    for (let i = 0; i < n; i += 2) {
      const d = pattern(100 + i, i * PAGE, PAGE);
      const { bytesWritten } = await ad.write(d, { position: i * PAGE });
      assert.equal(bytesWritten, PAGE, `direct write of page ${i}`);
      d.copy(want, i * PAGE);
      const st = await a.cacheState();
      maxExtents = Math.max(maxExtents, st.extents);
      for (const [kind, h] of [['buffered', a], ['direct', ad]] as const) {
        const diff = firstDiff(await readWhole(h, n * PAGE), want); // the pages written stay inside the size
        assert.equal(diff, null, `after the direct write of page ${i}, ${kind} read: ${diff?.what}`);
      }
    }
    assert.equal((await a.stat()).size, want.length);
    if (paused) await eng.resumeConversion();
    await a.sync();
    const st = await a.cacheState();
    const c = eng.counters();
    t.diagnostic(`extents at most ${maxExtents}, after sync ${st.extents}; tree nodes ${c.treeNodes}; conversions ${c.conversions}, errors ${c.conversionErrors}`);
    if (noNodes) assert.ok(maxExtents <= 4, `no node: the root's 4 extents at most (else the fallback was not exercised), saw ${maxExtents}`);
    else assert.ok(maxExtents > 4 && c.treeNodes > 0, `the tree grew past its root (${maxExtents} extents, ${c.treeNodes} nodes)`);
    assert.equal(c.conversionErrors, 0);
    assert.equal(st.pendingConversions, 0);
    assert.equal(c.ioEndsFree, c.ioEndsTotal);
    await a.close();
    await ad.close();
    await eng.close();
    const r = fsck(image);
    assert.ok(r.clean, r.summary);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.files.length, 1, 'the file is on the image');
    assert.equal(r.files[0].unwrittenBlocks, 0);
    const eng2 = await openImage(image, { cachePages: 16 });
    for (const direct of [false, true]) {
      const h = await eng2.open('a', { direct });
      const diff = firstDiff(await readWhole(h, want.length + PAGE), want);
      assert.equal(diff, null, `after reopen (${direct ? 'direct' : 'buffered'}): ${diff?.what}`);
      await h.close();
    }
    await eng2.close();
    cleanup(image);
  });
}
