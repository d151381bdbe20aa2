// Guards DESIGN.md invariant 12 (no block leaks or is reused while reachable) for files unlinked
// while open (ext4's orphan list): a process killed while it holds an unlinked file leaves an orphan
// record; fsck reports it as a warning (not an error), a read-only engine leaves it alone, and the
// next read-write mount frees it and its blocks; the named files keep their synced bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE, cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';
import { startChild } from './helpers/child.js';

const VICTIM_BLOCKS = 30;

test('an orphan left by kill -9 is reported by fsck and freed by the next read-write mount', async () => {
  const image = await freshImage(8 << 20);
  const fresh = await openImage(image);
  const freeAtStart = (await fresh.statfs()).bfree;
  await fresh.close();
  const child = await startChild(
    `const eng = await Engine.open({ path: ${JSON.stringify(image)} });
const keep = await eng.open('keep', 'w');
await keep.write(pattern(5, 0, 3 * 4096), 0, 3 * 4096, 0);
const victim = await eng.open('victim', 'w+');
await victim.write(pattern(6, 0, ${VICTIM_BLOCKS} * 4096), 0, ${VICTIM_BLOCKS} * 4096, 0);
await victim.sync();
await eng.unlink('victim');
await keep.sync(); // commits the unlink: victim's record is an orphan on disk
console.log('holding');
await new Promise(() => {});`,
    'holding',
  );
  await child.kill();
  const checked = fsck(image);
  assert.equal(checked.errors.length, 0, checked.summary);
  assert.ok(checked.warnings.some((w) => w.includes('orphan')), `fsck warns about the orphan: ${checked.summary}`);

  const ro = await openImage(image, { readOnly: true });
  assert.deepEqual(await ro.readdir(), ['keep'], 'the orphan has no name');
  await ro.close();
  assert.ok(fsck(image).warnings.some((w) => w.includes('orphan')), 'a read-only mount leaves the orphan alone');

  const eng = await openImage(image);
  const st = await eng.statfs();
  assert.equal(st.bfree, freeAtStart - 3, `only keep's 3 blocks stay allocated (bfree ${st.bfree}, at start ${freeAtStart})`);
  assert.equal(st.ffree, st.files - 1, 'only keep holds an inode');
  const keep = await eng.open('keep', 'r');
  assert.ok((await readWhole(keep, 3 * PAGE)).equals(pattern(5, 0, 3 * PAGE)));
  await keep.close();
  await eng.close();
  const after = fsck(image);
  assert.equal(after.clean, true, after.summary);
  assert.equal(after.warnings.length, 0, after.summary);
  cleanup(image);
});
