// Guards DESIGN.md invariants 8 and 12 for extent-tree node blocks (issue 12's tree, issue 7's
// "another file's bytes after a crash"): a node block's image goes through the journal, so after
// the node is freed the log may still hold it, and a crash replays it. File A grows a tree (a leaf
// node at the top of the device) and is synced; A is truncated to 0 and synced (the node is freed);
// B then takes every block data may take and is synced; the process dies (kill -9). B's bytes must
// be intact after the replay: the freed node block was held until the journal's next reset, so B
// could not get it. UNSAFE_NO_NODE_HOLD hands it out once its free commits, and the test must then
// find A's old node image inside B (what jbd2's revoke records prevent).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChild } from './helpers/child.js';
import { PAGE, cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

const SYMBOLS_URL = new URL('../src/testing-symbols.js', import.meta.url).href;

async function run(unsafe: boolean): Promise<{ bad: number; bBlocks: number; out: string }> {
  const image = await freshImage(4 << 20, { maxFiles: 4 });
  const r = runChild(`
    import { UNSAFE_NO_NODE_HOLD } from ${JSON.stringify(SYMBOLS_URL)};
    const eng = await Engine.open({ path: ${JSON.stringify(image)}, cachePages: 64, ${unsafe ? '[UNSAFE_NO_NODE_HOLD]: true' : ''} });
    const a = await eng.open('A', 'w+');
    for (let i = 0; i < 40; i += 2) await a.write(pattern(1, i * ${PAGE}, ${PAGE}), 0, ${PAGE}, i * ${PAGE}); // 20 extents: a leaf node
    await a.sync();
    if (eng.counters().treeNodes < 1) throw new Error('A has no tree node');
    await a.truncate(0);
    await a.sync();
    const c = eng.counters();
    const blocks = c.freeBlocks - c.reservedBlocks; // all data may take (a held node block is not free)
    const b = await eng.open('B', 'w+');
    const db = pattern(2, 0, blocks * ${PAGE});
    const { bytesWritten } = await b.write(db, 0, db.length, 0);
    await b.sync();
    console.log('SYNCED ' + bytesWritten / ${PAGE} + ' held ' + c.heldBlocks);
    process.kill(process.pid, 'SIGKILL');
  `);
  assert.equal(r.signal, 'SIGKILL', `the child died by its own kill -9 after B's sync: ${r.out}`);
  const bBlocks = Number(/SYNCED (\d+)/.exec(r.out)?.[1]);
  assert.ok(bBlocks > 0, r.out);
  const report = fsck(image);
  assert.equal(report.errors.length, 0, `fsck after the crash: ${report.summary}`);
  const eng = await openImage(image);
  const b = await eng.open('B');
  const got = await readWhole(b, bBlocks * PAGE + 1);
  const want = pattern(2, 0, bBlocks * PAGE);
  assert.equal(got.length, want.length, 'B keeps its synced size');
  let bad = 0;
  for (let i = 0; i < got.length; i += PAGE) if (!got.subarray(i, i + PAGE).equals(want.subarray(i, i + PAGE))) bad++;
  await b.close();
  await eng.close();
  cleanup(image);
  return { bad, bBlocks, out: r.out.trim() };
}

test("a freed tree node's block is not reused before the log resets: a crash never replays it over another file", async (t) => {
  const r = await run(false);
  t.diagnostic(`${r.out}; B blocks not its own after the crash: ${r.bad}`);
  assert.equal(r.bad, 0, "B shows bytes that are not its own after the replay");
});

test('negative control: a node block reused before the log resets shows the old node inside the other file after a crash', async (t) => {
  const r = await run(true);
  t.diagnostic(`${r.out}; B blocks not its own after the crash: ${r.bad}`);
  assert.ok(r.bad > 0, 'the unheld node block left B intact: the test would miss the bug');
});
