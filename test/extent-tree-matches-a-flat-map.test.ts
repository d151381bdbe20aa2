// Guards DESIGN.md invariants 8 and 12 through the extent tree that holds every file's map (issue
// 12, limits that grow): random inserts, conversions, zero-range retags, punch holes and truncates
// keep the tree equal to a flat map block for block, with every structural invariant (node fill,
// sorted entries, keys equal to the first block below them, one depth) checked as it grows past the
// root into index nodes; and what was committed reads back the same from the image after a reopen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { fsckImage } from '../src/fsck.js';
import { cleanup, freshImage, openImage } from './helpers/files.js';
import type { TreeJob, TreeResult } from './workers/tree-worker.js';

const WORKER = new URL('./workers/tree-worker.js', import.meta.url);
const SEED = process.env.DIOREAD_TREE_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.DIOREAD_TREE_SEED ?? 0x7ee);
const STEPS = Number(process.env.DIOREAD_TREE_STEPS ?? 3000);

function runTree(job: TreeJob): Promise<TreeResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: job });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`tree worker exited with ${code}`))));
  });
}

// A churning file (half the steps insert), and one that grows past 1016 extents (a root of 4 leaves
// full): the tree goes 2 deep and its index nodes split and merge as leaves come and go.
const RUNS = [
  { span: 8000, inserts: 5, steps: STEPS, minDepth: 1 },
  { span: 200000, inserts: 9, steps: 2 * STEPS, minDepth: 2 },
];
for (const [k, { span, inserts, steps, minDepth }] of RUNS.entries()) {
  test(`random tree changes match a flat map, and read back after a reopen (span ${span} blocks, ${inserts}/10 inserts, seed ${SEED + k})`, async (t) => {
    const image = await freshImage(512 << 20, { maxFiles: 4 });
    let eng = await openImage(image, { cachePages: 16 });
    const f = await eng.open('tree', 'w+');
    const r = await runTree({ desc: eng.share(), ino: f.ino, seed: SEED + k, steps, span, inserts });
    t.diagnostic(`seed ${SEED + k}: ${r.steps} steps, up to ${r.maxExtents} extents, depth up to ${r.maxDepth}; ${r.extents.length} extents at the end`);
    assert.deepEqual(r.problems, [], r.problems.join('\n'));
    assert.ok(r.maxDepth >= minDepth, `the tree grew ${minDepth} deep (${r.maxDepth})`);
    await f.close();
    await eng.close();
    const fsck = fsckImage(image, { repair: false });
    assert.equal(fsck.exitCode, 0, JSON.stringify(fsck.errors.slice(0, 5)));
    assert.equal(fsck.files[0].extents, r.extents.length, 'the image holds the extents the tree held');
    eng = await openImage(image, { cachePages: 16 });
    await eng.close();
    cleanup(image);
  });
}
