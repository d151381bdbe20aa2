// Guards DESIGN.md invariant 11 (a read returns what the last completed write put there) against
// issue 7's bug 1: one buffered write that spans more pages than the cache holds, over a block
// whose tail an earlier write filled. Reclaim inside the big write converts and evicts that block's
// page; the write must then read the block's bytes back (it used to zero-fill from a snapshot of the
// extent map taken before its page loop). Checked before and after close and reopen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE, cleanup, freshImage, fsck, openImage, readWhole } from './helpers/files.js';

for (const [cachePages, n] of [
  [8, 20],
  [1024, 1100], // the engine's default cache size
] as const) {
  test(`a write across ${n} pages with a ${cachePages}-page cache keeps the tail an earlier write put in page ${n}`, async () => {
    const image = await freshImage(Math.max(16 << 20, (n + 64) * PAGE * 2));
    const eng = await openImage(image, { cachePages });
    const f = await eng.open('f', 'w+');
    const tailAt = n * PAGE + 100;
    const tail = Buffer.alloc((n + 1) * PAGE - tailAt, 0xaa);
    await f.write(tail, 0, tail.length, tailAt);
    const head = Buffer.alloc(tailAt, 0xbb);
    await f.write(head, 0, head.length, 0);
    const want = Buffer.concat([head, tail]);
    const check = async (when: string, h = f) => {
      const got = await readWhole(h, want.length + PAGE);
      assert.equal(got.length, want.length, `${when}: size`);
      const bad = got.subarray(tailAt).findIndex((b) => b !== 0xaa);
      assert.equal(bad, -1, `${when}: byte ${tailAt + bad} of the earlier write reads ${got[tailAt + bad]} (0xaa expected)`);
      assert.ok(got.subarray(0, tailAt).every((b) => b === 0xbb), `${when}: the big write's bytes`);
    };
    await check('before close');
    await f.close();
    await eng.close();
    assert.ok(fsck(image).clean);
    const eng2 = await openImage(image, { cachePages });
    const g = await eng2.open('f');
    await check('after reopen', g);
    await g.close();
    await eng2.close();
    cleanup(image);
  });
}
