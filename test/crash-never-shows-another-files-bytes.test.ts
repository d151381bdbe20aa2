// Guards DESIGN.md invariants 8 and 12 against issue 7's bug 3: file A written and synced, then
// truncated (not synced); file B written into the blocks A freed and synced; the process dies
// (kill -9). After reopen the image checks clean and A reads as its old bytes or as truncated,
// never B's bytes (a block freed by an uncommitted truncate must not be reused before that
// truncate commits, and a commit must not take B without A's truncate).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChild } from './helpers/child.js';
import { PAGE, cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

const BLOCKS = 1024; // 4 MiB: with 4 inodes and 16 extents each, about 760 data blocks
const A_BLOCKS = 700;

for (const truncateTo of [0, 5 * PAGE + 123]) {
  test(`kill -9 after B reused the blocks of A's unsynced truncate to ${truncateTo}: A never shows B's bytes`, async (t) => {
    const image = await freshImage(BLOCKS * PAGE, { maxFiles: 4 });
    const r = runChild(`
      const eng = await Engine.open({ path: ${JSON.stringify(image)}, cachePages: 64 });
      const a = await eng.open('A', 'w+');
      const da = pattern(1, 0, ${A_BLOCKS * PAGE});
      await a.write(da, 0, da.length, 0);
      await a.sync();
      await a.truncate(${truncateTo});           // not synced
      const b = await eng.open('B', 'w+');
      const db = pattern(2, 0, ${A_BLOCKS * PAGE});
      await b.write(db, 0, db.length, 0);        // needs A's freed blocks: the device is nearly full
      await b.sync();
      console.log('SYNCED');
      process.kill(process.pid, 'SIGKILL');
    `);
    assert.equal(r.signal, 'SIGKILL', `the child died by its own kill -9 after B's sync: ${r.out}`);
    assert.ok(r.out.includes('SYNCED'), r.out);
    const report = fsck(image);
    assert.equal(report.errors.length, 0, `fsck after the crash: ${report.summary}`);
    const eng = await openImage(image);
    const b = await eng.open('B');
    const bBytes = await readWhole(b, A_BLOCKS * PAGE + 1);
    assert.ok(bBytes.equals(pattern(2, 0, A_BLOCKS * PAGE)), 'B was synced: its bytes are intact');
    const a = await eng.open('A');
    const aBytes = await readWhole(a, A_BLOCKS * PAGE + 1);
    const oldA = pattern(1, 0, A_BLOCKS * PAGE);
    const bPat = pattern(2, 0, A_BLOCKS * PAGE);
    let foreign = 0;
    for (let i = 0; i < aBytes.length; i += PAGE) {
      const blk = aBytes.subarray(i, i + PAGE);
      if (blk.equals(bPat.subarray(i, i + blk.length))) foreign++;
      else assert.ok(blk.equals(oldA.subarray(i, i + blk.length)) || blk.every((x) => x === 0), `A's block ${i / PAGE} is neither A's old bytes nor zeros`);
    }
    t.diagnostic(`A after the crash: ${aBytes.length} bytes (${aBytes.length === truncateTo ? 'truncated' : 'old size'}), blocks showing B's bytes: ${foreign}`);
    assert.equal(foreign, 0, "A shows B's bytes");
    assert.ok(aBytes.length === truncateTo || aBytes.length === A_BLOCKS * PAGE, `A's size ${aBytes.length}: old or truncated`);
    await a.close();
    await b.close();
    await eng.close();
    cleanup(image);
  });
}
