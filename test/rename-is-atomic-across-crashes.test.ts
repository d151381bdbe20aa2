// Guards DESIGN.md invariant 8 for the namespace (issue 12: "rename atomic, replaces the target,
// journaled"): the write-then-rename pattern (write a temporary file, sync it, rename it over the
// real one) leaves, at every crash point, either the old file under the name (and the temporary
// beside it) or the new file alone; never no file, never two files of one name. The rename's two
// inode records sit in different inode-table blocks and commit together with 30 fragmented files,
// split into several journal transactions (SPLIT_COMMITS: one per inode-table block group, as a
// commit too large for one piece is); I_COUPLED keeps the two records in one.
// UNSAFE_NO_RENAME_COUPLING drops that, and the test must then find a bad crash state.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { DEVICE_SEAM, SPLIT_COMMITS, UNSAFE_NO_RENAME_COUPLING } from '../src/testing-symbols.js';
import { INODES_PER_BLOCK } from '../src/ondisk.js';
import { PAGE, cleanup, freshImage, pattern } from './helpers/files.js';
import { SK_WRITE, SK_WRITE_META, applyWrite, createSeam, offlineMount, readLog, setLogging } from './helpers/seam.js';

const FILES = 30;
const BLOCKS_PER_FILE = 24; // written every other block: about 10 extents, an extent block each
const OLD = pattern(71, 0, 3 * PAGE + 100);
const NEW = pattern(72, 0, 2 * PAGE + 7);

interface RenameRun {
  problem: string | null;
  states: number;
  transactions: number;
}

/** What the names must show in one crash state; null when it is allowed. */
function judge(files: Map<string, { size: number; bytes: Uint8Array }>): string | null {
  const target = files.get('target');
  const tmp = files.get('target.tmp');
  if (target === undefined) return 'no file named "target"';
  const same = (f: { bytes: Uint8Array }, want: Buffer) => Buffer.from(f.bytes).equals(want);
  if (same(target, NEW)) return tmp === undefined ? null : '"target" holds the new bytes while "target.tmp" still exists';
  if (!same(target, OLD)) return `"target" holds neither the old nor the new bytes (size ${target.size})`;
  if (tmp === undefined) return '"target" still holds the old bytes but "target.tmp" is gone';
  return same(tmp, NEW) ? null : '"target.tmp" lost its synced bytes';
}

async function renameCrashStates(controls: Record<symbol, boolean>): Promise<RenameRun> {
  const image = await freshImage(16 << 20, { maxFiles: FILES + 16 });
  const seam = createSeam(1 << 14, 64 << 20);
  const eng = await Engine.open({ path: image, cachePages: 1024, poolThreads: 1, [DEVICE_SEAM]: seam, [SPLIT_COMMITS]: true, ...controls } as never);
  const target = await eng.open('target', 'w+'); // inode 0, inode-table block 0
  await target.write(OLD, 0, OLD.length, 0);
  await target.sync();
  await target.close();
  const names = Array.from({ length: FILES }, (_, i) => `f${i}`);
  for (const [i, name] of names.entries()) {
    const f = await eng.open(name, 'w+');
    await f.write(pattern(1000 + i, 0, PAGE), 0, PAGE, 0);
    await f.close();
  }
  const tmp = await eng.open('target.tmp', 'w+'); // inode FILES + 1: two inode-table blocks later
  assert.ok(Math.floor((FILES + 1) / INODES_PER_BLOCK) >= 2, 'the two records lie in different inode-table blocks');
  await tmp.write(NEW, 0, NEW.length, 0);
  await tmp.sync(); // every file so far, and the temporary's bytes, durable
  await tmp.close();
  for (const [i, name] of names.entries()) {
    const f = await eng.open(name, 'r+');
    for (let b = 4; b < BLOCKS_PER_FILE; b += 2) await f.write(pattern(5000 + i * 1000 + b, b * PAGE, PAGE), 0, PAGE, b * PAGE);
    await f.close();
  }
  const before = new Uint8Array(fs.readFileSync(image));
  setLogging(seam, true);
  await eng.rename('target.tmp', 'target');
  const f0 = await eng.open(names[0]);
  await f0.sync(); // one commit: the rename and the 30 files' new extents, split into pieces
  await f0.close();
  setLogging(seam, false);
  await eng.close();
  const log = readLog(seam);
  const sb = offlineMount(before).model.sb;
  const isCommitBlock = (e: { kind: number; pos: number; data: Uint8Array }) =>
    e.kind === SK_WRITE_META && e.pos >= sb.journal * PAGE && e.pos < (sb.journal + sb.journalBlocks) * PAGE && new DataView(e.data.buffer, e.data.byteOffset).getUint32(0, true) === 0x444a434d;
  const run: RenameRun = { problem: null, states: 0, transactions: log.filter(isCommitBlock).length };
  const img = before.slice();
  for (let k = 0; k <= log.length && run.problem === null; k++) {
    if (k > 0) {
      const e = log[k - 1];
      if (e.kind !== SK_WRITE && e.kind !== SK_WRITE_META) continue;
      applyWrite(img, e);
    }
    let files;
    try {
      files = offlineMount(img).files;
    } catch (err) {
      run.problem = `crash after ${k} of ${log.length} entries: does not mount: ${(err as Error).message}`;
      break;
    }
    const problem = judge(files);
    if (problem !== null) run.problem = `crash after ${k} of ${log.length} entries: ${problem}`;
    run.states++;
  }
  cleanup(image);
  return run;
}

test('write, sync, rename over the old file: every crash point shows the old file or the new one under the name, never none or two', async (t) => {
  const r = await renameCrashStates({});
  t.diagnostic(`${r.transactions} journal transactions in the commit; ${r.states} crash states judged`);
  assert.ok(r.transactions >= 2, `the commit was split (${r.transactions} transactions): the test needs a split to mean anything`);
  assert.equal(r.problem, null, r.problem ?? '');
});

test('negative control: a rename whose records are not coupled leaves a crash state with two names or none', async (t) => {
  const r = await renameCrashStates({ [UNSAFE_NO_RENAME_COUPLING]: true });
  t.diagnostic(`${r.transactions} transactions; found: ${r.problem}`);
  assert.notEqual(r.problem, null, 'uncoupled records left no bad crash state: the test would miss the bug');
});
