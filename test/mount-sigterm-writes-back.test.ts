// Guards issue 11's clean shutdown: SIGTERM or SIGINT to a mount process unmounts, waits for its
// serving threads and closes the engine, so that files written through the mount without any
// fsync are on the image, committed (fsck: clean, nothing left in the journal to replay).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { cleanup, freshImage, fsck, pattern, waitFor } from './helpers/files.js';
import { CLI, forceUnmount, fuseSkipReason, isMounted } from './helpers/mount.js';

const skip = fuseSkipReason();
const MiB = 1 << 20;
const EXIT_DEADLINE_MS = 60_000;

/** The process's exit (signal name or code), or 'still running' after `ms` (it is then killed). */
function exitWithin(p: ChildProcess, exited: Promise<number | string>, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      p.kill('SIGKILL');
      resolve('still running');
    }, ms);
  });
  return Promise.race([exited, late]).finally(() => clearTimeout(timer));
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the mount process: unmounted, every write on the image and committed`, { skip: skip ?? false }, async (t) => {
    const image = await freshImage(64 * MiB, { maxFiles: 8 });
    const mnt = path.join(path.dirname(image), 'mnt');
    fs.mkdirSync(mnt);
    t.after(() => {
      forceUnmount(mnt);
      cleanup(image);
    });
    const server = spawn(process.execPath, [CLI, 'mount', image, mnt, '--foreground', '--threads', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | string>((resolve) => server.once('exit', (code, sig) => resolve(sig ?? code ?? -1)));
    assert.ok(await waitFor(() => log.includes('mounted on') || server.exitCode !== null, 30_000), `mount did not start: ${log}`);

    const data = pattern(signal.length, 0, 6 * MiB + 123);
    fs.writeFileSync(path.join(mnt, 'unsynced'), data); // write(2)s and close(2): no fsync
    server.kill(signal);
    assert.equal(await exitWithin(server, exited, EXIT_DEADLINE_MS), 0, `the mount process exits 0 after ${signal}: ${log}`);
    assert.ok(!isMounted(mnt), 'unmounted');
    assert.match(log, /written back and closed/);

    const r = fsck(image);
    assert.equal(r.errors.length, 0, `fsck: ${r.summary}`);
    assert.equal(r.journalTransactions, 0, 'a clean close leaves nothing in the journal to replay');
    const eng = await Engine.open({ path: image, readOnly: true });
    try {
      const f = await eng.open('unsynced', 'r');
      assert.ok(((await f.readFile()) as Buffer).equals(data), 'the bytes written through the mount are on the image');
      await f.close();
    } finally {
      await eng.close();
    }
  });
}
