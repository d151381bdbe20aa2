// Guards issue 11's crash point with DESIGN.md invariant 8: a mount process killed with SIGKILL
// while a tool writes through it leaves an image that checks clean, where a file synced through
// the mount (dd conv=fsync) holds its bytes and a file being written holds, block by block, either
// the bytes written there or zeros: never stale or foreign bytes (the image was pre-filled).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fsck, waitFor } from './helpers/files.js';
import { CLI, fuseSkipReason, isMounted, readThroughApi, scratchMount, sh } from './helpers/mount.js';

const skip = fuseSkipReason();
const MiB = 1 << 20;
const BLOCK = 4096;

function randomFile(file: string, sizeBytes: number, seed: string): Buffer {
  const out = Buffer.alloc(sizeBytes);
  let h = crypto.createHash('sha256').update(seed).digest();
  for (let i = 0; i < sizeBytes; i += 32) {
    h = crypto.createHash('sha256').update(h).digest();
    h.copy(out, i);
  }
  fs.writeFileSync(file, out);
  return out;
}

test('kill -9 of the mount process mid-write: the image checks clean, synced data intact, no foreign bytes', { skip: skip ?? false }, async (t) => {
  const { image, work, mnt } = await scratchMount(t, 128 * MiB, { maxFiles: 8 });
  const synced = randomFile(path.join(work, 'synced'), 16 * MiB, 'synced');
  const later = randomFile(path.join(work, 'later'), 48 * MiB, 'later');

  const server = spawn(process.execPath, [CLI, 'mount', image, mnt, '--foreground', '--threads', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  server.stdout.on('data', (b: Buffer) => (log += b.toString()));
  server.stderr.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | string>((resolve) => server.once('exit', (code, sig) => resolve(sig ?? code ?? -1)));
  assert.ok(await waitFor(() => log.includes('mounted on') || server.exitCode !== null, 30_000), `mount did not start: ${log}`);
  assert.ok(isMounted(mnt), `mounted: ${log}`);

  const dd = sh('dd', [`if=${path.join(work, 'synced')}`, `of=${path.join(mnt, 'synced')}`, 'bs=1M', 'conv=fsync']);
  assert.equal(dd.code, 0, dd.out);

  // A writer with O_DSYNC (each write durable when it returns), killed under: the mount dies while
  // it writes. Its file is created and synced empty first, so that it exists after the crash.
  const create = sh('dd', ['if=/dev/null', `of=${path.join(mnt, 'later')}`, 'conv=fsync']);
  assert.equal(create.code, 0, create.out);
  const writer = spawn('dd', [`if=${path.join(work, 'later')}`, `of=${path.join(mnt, 'later')}`, 'bs=64k', 'conv=notrunc', 'oflag=dsync'], { stdio: 'ignore' });
  const writerDone = new Promise<void>((resolve) => writer.once('exit', () => resolve()));
  const sizeNow = () => fs.statSync(path.join(mnt, 'later')).size;
  assert.ok(await waitFor(() => sizeNow() >= 4 * MiB, 30_000), 'the writer got going');
  // stat shows the engine's size, which counts the one write dd may have in flight (dd writes one
  // 64 KiB block at a time): every byte below (size - 64 KiB) was acknowledged with O_DSYNC.
  const acknowledged = sizeNow() - 64 * 1024;
  server.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  await writerDone;
  assert.equal(sh('fusermount3', ['-u', '-z', mnt]).code, 0, 'the dead mount detaches');

  const r = fsck(image);
  assert.equal(r.errors.length, 0, `fsck after kill -9: ${r.summary}`);
  assert.ok((await readThroughApi(image, 'synced')).equals(synced), 'the file synced through the mount holds its bytes');
  const got = await readThroughApi(image, 'later');
  assert.ok(got.length >= acknowledged && got.length <= later.length, `later is ${got.length} bytes: at least the ${acknowledged} acknowledged, at most what was written`);
  let zeroBlocks = 0;
  for (let at = 0; at < got.length; at += BLOCK) {
    const blk = got.subarray(at, Math.min(got.length, at + BLOCK));
    const written = blk.equals(later.subarray(at, at + blk.length));
    if (!written) zeroBlocks++;
    if (at + blk.length <= acknowledged) assert.ok(written, `later's block at ${at} was acknowledged with O_DSYNC but does not hold its bytes`);
    else assert.ok(written || blk.every((b) => b === 0), `later's block at ${at} is neither what was written there nor zeros`);
  }
  t.diagnostic(`after kill -9: later holds ${got.length} of ${later.length} bytes (${acknowledged} acknowledged before the kill) (${zeroBlocks} zero blocks); fsck: ${r.journalTransactions} journal transaction(s) replayed`);
});
