// Guards the contract's `dioread fsck` (exit codes as e2fsck: 0 clean, 1 fixed, 4 errors left,
// 8 operational error; -n checks only, -y repairs what is safe) and DESIGN.md invariant 8's "the image
// checks clean": a crashed image has its journal replayed by -y (exit 1) and is clean after; a
// damaged one is exit 4 and left as it was; a missing one is exit 8; a check of a clean image is 0.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { runChild } from './helpers/child.js';
import { cleanup, freshImage, openImage, pattern } from './helpers/files.js';
import { blockOf, superOf } from './helpers/image-edit.js';

const CLI = new URL('../cli/main.js', import.meta.url).pathname;
const fsckCli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, 'fsck', ...args], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

test("dioread fsck: 0 clean, 1 after -y replayed a crashed image's journal, 4 for damage (untouched), 8 for a missing image", async () => {
  const image = await freshImage(4 << 20, { maxFiles: 8 });
  const eng = await openImage(image);
  const f = await eng.open('a', 'w+');
  await f.write(pattern(1, 0, 3 * 4096), 0, 3 * 4096, 0);
  await f.close();
  await eng.close();
  const clean = fsckCli(image);
  assert.equal(clean.code, 0, clean.out);
  assert.match(clean.out, /clean/);

  // A process that dies right after a sync leaves committed transactions in the journal.
  const child = runChild(`const eng = await Engine.open({ path: ${JSON.stringify(image)} });
    const f = await eng.open('b', 'w+'); await f.write(pattern(2, 0, 5 * 4096), 0, 5 * 4096, 0); await f.sync();
    process.kill(process.pid, 'SIGKILL');`);
  assert.equal(child.signal, 'SIGKILL', child.out);
  const before = fs.readFileSync(image);
  const check = fsckCli('-n', image);
  assert.equal(check.code, 0, `-n on a crashed image: consistent once replayed: ${check.out}`);
  assert.match(check.out, /journal/);
  assert.ok(fs.readFileSync(image).equals(before), '-n changed nothing');
  const repair = fsckCli('-y', image);
  assert.equal(repair.code, 1, repair.out);
  assert.match(repair.out, /fixed: replayed \d+ journal transaction/);
  const after = fsckCli(image);
  assert.equal(after.code, 0, after.out);
  assert.doesNotMatch(after.out, /warning/);

  // Damage: a zeroed inode-table block.
  const img = new Uint8Array(fs.readFileSync(image));
  blockOf(img, superOf(img).inodeTable).fill(0);
  fs.writeFileSync(image, img);
  const damaged = fsckCli('-y', image);
  assert.equal(damaged.code, 4, damaged.out);
  assert.match(damaged.out, /error: .*inode table/);
  assert.ok(fs.readFileSync(image).equals(Buffer.from(img)), 'fsck -y does not touch what it cannot repair safely');
  assert.equal(fsckCli('/no/such/image').code, 8);
  cleanup(image);
});
