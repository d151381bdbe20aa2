// Guards issue 11's thread model with DESIGN.md's dioread_nolock read path: reads that reach a
// mount from several processes at once are served by several worker threads inside the engine at
// the same time (with readLocking 'exclusive' they contend on i_mutex, which needs two threads in
// a read at once), and with readLocking 'none' the same reads take no i_mutex at all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { FuseMount } from '../src/fuse/session.js';
import type { ReadLocking } from '../src/volume.js';
import { cleanup, freshImage, pattern } from './helpers/files.js';
import { forceUnmount, fuseSkipReason } from './helpers/mount.js';

const skip = fuseSkipReason();
const MiB = 1 << 20;
const READERS = 4;
const DEADLINE_MS = 20_000;

/** READERS concurrent `dd iflag=direct` of the whole file (4 KiB reads), to their ends. */
function parallelDirectReads(file: string): Promise<number[]> {
  return Promise.all(
    Array.from({ length: READERS }, () => {
      const dd = spawn('dd', [`if=${file}`, 'of=/dev/null', 'bs=4k', 'iflag=direct'], { stdio: 'ignore' });
      return new Promise<number>((resolve) => dd.once('exit', (code) => resolve(code ?? -1)));
    }),
  );
}

/** Mount an image with `readLocking`, read its file from READERS processes, return i_mutex's counts. */
async function readThroughMount(readLocking: ReadLocking, untilContended: boolean): Promise<{ acquisitions: number; contentions: number; rounds: number }> {
  const image = await freshImage(64 * MiB, { maxFiles: 4 });
  const mnt = path.join(path.dirname(image), 'mnt');
  fs.mkdirSync(mnt);
  const eng = await Engine.open({ path: image, readLocking, lockStats: 'counters' });
  let fm: FuseMount | null = null;
  try {
    const f = await eng.open('f', { create: true });
    await f.write(pattern(7, 0, 8 * MiB), 0, 8 * MiB, 0);
    await f.sync();
    await f.close();
    fm = await FuseMount.start(eng.share(), { mountpoint: mnt, threads: READERS, fsname: image });
    const until = Date.now() + DEADLINE_MS;
    let rounds = 0;
    let row = { acquisitions: 0, contentions: 0 };
    eng.resetLockStats();
    do {
      const codes = await parallelDirectReads(path.join(mnt, 'f'));
      assert.deepEqual(codes, Array(READERS).fill(0), 'every dd read the file');
      rounds++;
      row = eng.lockStats().find((r) => r.class === 'i_mutex') ?? row;
    } while (untilContended && row.contentions === 0 && Date.now() < until);
    return { acquisitions: row.acquisitions, contentions: row.contentions, rounds };
  } finally {
    if (fm) await fm.unmount();
    forceUnmount(mnt);
    await eng.close();
    cleanup(image);
  }
}

test(`${READERS} processes reading a mounted file: served in parallel (exclusive contends on i_mutex), and dioread_nolock takes no i_mutex`, { skip: skip ?? false }, async (t) => {
  const locked = await readThroughMount('exclusive', true);
  t.diagnostic(`readLocking exclusive: i_mutex ${locked.acquisitions} acquisitions, ${locked.contentions} contentions in ${locked.rounds} round(s)`);
  assert.ok(locked.acquisitions >= READERS * 2048, 'exclusive reads take i_mutex (the reads reached the engine)');
  assert.ok(locked.contentions > 0, `no i_mutex contention in ${locked.rounds} rounds of ${READERS} parallel readers: requests are not served in parallel`);
  const nolock = await readThroughMount('none', false);
  t.diagnostic(`readLocking none: i_mutex ${nolock.acquisitions} acquisitions`);
  assert.equal(nolock.acquisitions, 0, 'dioread_nolock reads through the mount take no i_mutex');
});
