// Guards DESIGN.md invariants 8 and 12 for a commit larger than the journal's transaction size
// (issue 7: "a transaction bounded in size"): one sync that commits 30 fragmented files is split
// into several journal transactions at inode-table-block boundaries; at every crash point inside it
// the image opens and checks clean, and each file is wholly its old or its new version (each file
// travels in one piece; the bitmap in every piece covers every extent an earlier piece committed),
// and synced data is intact. SPLIT_COMMITS writes every inode-table block group as its own piece,
// as the engine does for a commit larger than its piece size, so a small workload has the pieces.
// The files' trees (about 10 extents each: past the root, a leaf node per file) travel with their
// inode records.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { dirtyNodeLimit, maxTransactionBlocks } from '../src/ondisk.js';
import { DEVICE_SEAM, SPLIT_COMMITS } from '../src/testing-symbols.js';
import { PAGE, cleanup, freshImage, pattern } from './helpers/files.js';
import { SK_FLUSH, SK_WRITE, SK_WRITE_META, applyWrite, createSeam, offlineMount, readLog, setLogging, type LogEntry } from './helpers/seam.js';
import { VersionModel } from './helpers/crash-model.js';

const FILES = 30;
const BLOCKS_PER_FILE = 24; // written every other block: about 10 extents, a tree leaf node per file

test('a commit split over several journal transactions: at every crash point inside it the image opens clean and keeps synced data', async (t) => {
  const fmt = { maxFiles: FILES }; // two inode-table blocks: two pieces
  const image = await freshImage(16 << 20, fmt);
  const seam = createSeam(1 << 14, 64 << 20);
  const eng = await Engine.open({ path: image, cachePages: 1024, poolThreads: 1, [DEVICE_SEAM]: seam, [SPLIT_COMMITS]: true } as never);
  const names = Array.from({ length: FILES }, (_, i) => `f${i}`);
  const model = new VersionModel();
  for (const [i, name] of names.entries()) {
    const f = await eng.open(name, 'w+');
    const d = pattern(1000 + i, 0, 3 * PAGE);
    await f.write(d, 0, d.length, 0);
    model.push(name, Buffer.alloc(0));
    model.push(name, d);
    await f.close();
  }
  const first = await eng.open(names[0]);
  await first.sync(); // one commit for every file's first version
  await first.close();
  model.syncedAll();
  for (const [i, name] of names.entries()) {
    const f = await eng.open(name, 'r+');
    const want = Buffer.alloc((BLOCKS_PER_FILE - 1) * PAGE); // the last write lands in block BLOCKS_PER_FILE - 2
    model.current(name).copy(want);
    for (let b = 4; b < BLOCKS_PER_FILE; b += 2) {
      const d = pattern(5000 + i * 1000 + b, b * PAGE, PAGE);
      await f.write(d, 0, PAGE, b * PAGE);
      d.copy(want, b * PAGE);
    }
    model.push(name, want);
    await f.close();
  }
  const before = new Uint8Array(fs.readFileSync(image));
  setLogging(seam, true);
  const f1 = await eng.open(names[1]);
  await f1.sync(); // commits every file's new extents and sizes: more than one transaction holds
  await f1.close();
  setLogging(seam, false);
  model.synced_(names[1]);
  await eng.close();
  const log = readLog(seam);
  const sb = offlineMount(before).model.sb;
  const maxTx = maxTransactionBlocks(FILES, dirtyNodeLimit(FILES, sb.blockCount, sb.journalBlocks), sb.bitmapBlocks);
  const isCommit = (e: LogEntry) => e.kind === SK_WRITE_META && e.pos >= sb.journal * PAGE && e.pos < (sb.journal + sb.journalBlocks) * PAGE && new DataView(e.data.buffer, e.data.byteOffset).getUint32(0, true) === 0x444a434d;
  const commits = log.filter(isCommit).length;
  t.diagnostic(`the sync logged ${log.length} entries: ${commits} journal transactions (at most ${maxTx} log blocks each)`);
  assert.ok(commits >= 2, `the commit was split (${commits} transactions)`);
  const img = before.slice();
  let states = 0;
  for (let k = 0; k <= log.length; k++) {
    if (k > 0) {
      const e = log[k - 1];
      if (e.kind !== SK_WRITE && e.kind !== SK_WRITE_META) continue;
      applyWrite(img, e);
    }
    const lastMark = k === log.length ? 1 : 0; // the sync returned only after its last entry
    let mounted;
    try {
      mounted = offlineMount(img);
    } catch (err) {
      assert.fail(`crash after ${k} of ${log.length} entries: does not mount: ${(err as Error).message}`);
    }
    for (const name of names) {
      const problem = model.judge(name, mounted.files.get(name) ?? null, lastMark);
      assert.equal(problem, null, `crash after ${k} of ${log.length} entries: ${problem}`);
    }
    states++;
  }
  t.diagnostic(`${states} crash states inside the split commit checked (${log.filter((e) => e.kind === SK_FLUSH).length} flushes)`);
  cleanup(image);
});
