// dioread mount, dioread umount: serve an image as a real filesystem through FUSE (libfuse3).
// ext4 counterpart: mount(8) and umount(8) of an ext4 image; libfuse's is a daemon started by hand
// (`./passthrough_ll /mnt`), which goes to the background once mounted unless -f.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Engine } from '../src/engine.js';
import { DioreadError, reviveError } from '../src/errors.js';
import { loadFuseAddon } from '../src/fuse/addon.js';
import { FuseMount } from '../src/fuse/session.js';
import { lockImage } from '../src/image-lock.js';
import type { ReadLocking } from '../src/volume.js';

const READ_LOCKINGS = ['exclusive', 'shared', 'none'];
/** The environment variable that tells a background mount process to report over IPC. */
const NOTIFY_ENV = 'DIOREAD_MOUNT_NOTIFY';
/** How long `dioread umount` waits for the mount process to write everything back and close. */
const UMOUNT_WAIT_MS = 120_000;

interface MountOpts {
  threads: number;
  readLocking: ReadLocking;
  foreground?: boolean;
  cachePages?: number;
  log?: string;
}

function parseThreads(t: string): number {
  const n = Number(t);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new DioreadError('EINVAL', `--threads must be an integer from 1 to 64, got ${JSON.stringify(t)}`);
  return n;
}

function parseReadLocking(t: string): ReadLocking {
  if (!READ_LOCKINGS.includes(t)) throw new DioreadError('EINVAL', `--read-locking must be one of ${READ_LOCKINGS.join(', ')}, got ${JSON.stringify(t)}`);
  return t as ReadLocking;
}

function parseCachePages(t: string): number {
  const n = Number(t);
  if (!Number.isInteger(n) || n < 8) throw new DioreadError('EINVAL', `--cache-pages must be an integer of at least 8, got ${JSON.stringify(t)}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('mount')
    .description('serve an image as a filesystem on DIR (FUSE, libfuse3); in the background unless --foreground')
    .argument('<image>', 'image file')
    .argument('<dir>', 'mount point (an existing directory)')
    .option('--threads <n>', 'serving threads, each attached to the engine', parseThreads, 4)
    .option('--read-locking <mode>', 'exclusive | shared | none (dioread_nolock)', parseReadLocking, 'none' as ReadLocking)
    .option('--cache-pages <n>', 'page-cache frames of 4 KiB (engine option cachePages)', parseCachePages)
    .option('--foreground', 'stay in the foreground (Ctrl-C unmounts)')
    .option('--log <file>', 'in the background: append the mount process\'s messages to this file')
    .action(async (image: string, dir: string, o: MountOpts) => {
      const loaded = loadFuseAddon();
      if (loaded.addon === null) {
        console.error(`dioread mount: ${loaded.problem}`);
        process.exitCode = 2;
        return;
      }
      checkMountpoint(dir);
      if (!o.foreground && process.env[NOTIFY_ENV] !== '1') return startBackground(image, dir, o.log);
      try {
        await serveForeground(image, dir, o);
      } catch (err) {
        notify({ type: 'error', message: (err as Error).message });
        throw err;
      }
    });
  program
    .command('umount')
    .description('unmount a dioread mount and wait until its image is written back and closed')
    .argument('<dir>', 'mount point')
    .action(async (dir: string) => unmount(dir));
}

/** The mount point must be an existing directory (libfuse's own message would go to a detached stderr). */
function checkMountpoint(dir: string): void {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) throw new DioreadError('ENOENT', `dioread mount: no mount point ${JSON.stringify(dir)} (create the directory first)`);
  if (!st.isDirectory()) throw new DioreadError('EINVAL', `dioread mount: mount point ${JSON.stringify(dir)} is not a directory`);
  if (dioreadMountSource(path.resolve(dir)) !== null) throw new DioreadError('EBUSY', `dioread mount: ${JSON.stringify(dir)} is already a dioread mount`);
}

/** Tell a waiting parent (background mode) how the mount went. */
function notify(msg: { type: 'ready' } | { type: 'error'; message: string }): void {
  if (process.env[NOTIFY_ENV] === '1' && process.send) process.send(msg);
}

async function serveForeground(image: string, dir: string, o: MountOpts): Promise<void> {
  const mountpoint = path.resolve(dir);
  const eng = await Engine.open({ path: image, create: false, readLocking: o.readLocking, maxThreads: 64 + o.threads, ...(o.cachePages ? { cachePages: o.cachePages } : {}) });
  let fm: FuseMount;
  try {
    fm = await FuseMount.start(eng.share(), { mountpoint, threads: o.threads, fsname: path.resolve(image) });
  } catch (err) {
    await eng.close();
    throw err;
  }
  const stop = (): void => void fm.unmount();
  process.on('exit', () => fm.detachSync()); // an exit without unmount would wait for the serving threads forever
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  console.error(`dioread: ${image} mounted on ${mountpoint} (${o.threads} threads, readLocking ${o.readLocking}, pid ${process.pid})`);
  notify({ type: 'ready' });
  await fm.done;
  await eng.close();
  console.error(`dioread: ${mountpoint} unmounted; ${image} written back and closed`);
}

/** Start the mount process in the background and return once it serves (or say why it failed). */
async function startBackground(image: string, dir: string, log: string | undefined): Promise<void> {
  const args = [process.argv[1], ...process.argv.slice(2)];
  const out = log === undefined ? 'ignore' : fs.openSync(log, 'a');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out, 'ipc'], env: { ...process.env, [NOTIFY_ENV]: '1' } });
  if (typeof out === 'number') fs.closeSync(out);
  const outcome = await new Promise<{ ok: true } | { ok: false; message: string }>((resolve) => {
    child.on('message', (m: { type: string; message?: string }) => resolve(m.type === 'ready' ? { ok: true } : { ok: false, message: m.message ?? 'unknown error' }));
    child.once('exit', (code, signal) => resolve({ ok: false, message: `the mount process exited (${signal ?? `code ${code}`}) before serving; run with --foreground to see why` }));
  });
  if (!outcome.ok) {
    const err = reviveError(new Error(outcome.message)); // the child's DioreadError, code and all
    throw err instanceof DioreadError ? err : new DioreadError('EINVAL', `dioread mount ${image} ${dir}: ${outcome.message}`);
  }
  child.disconnect();
  child.unref();
  console.error(`dioread: ${image} mounted on ${path.resolve(dir)} (pid ${child.pid}; dioread umount ${dir} to unmount)`);
}

/** /proc/self/mountinfo's escapes (\040 for a space, ...). */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The image a dioread mount on `mountpoint` serves (its source), or null. */
export function dioreadMountSource(mountpoint: string): string | null {
  const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  for (const line of lines.reverse()) {
    const [left, right] = line.split(' - ');
    if (right === undefined) continue;
    const mp = unescapeMountinfo(left.split(' ')[4]);
    const [fstype, source] = right.split(' ');
    if (mp === mountpoint && fstype === 'fuse.dioread') return unescapeMountinfo(source);
  }
  return null;
}

async function unmount(dir: string): Promise<void> {
  const mountpoint = path.resolve(dir);
  const image = dioreadMountSource(mountpoint);
  if (image === null) throw new DioreadError('EINVAL', `dioread umount: ${JSON.stringify(dir)} is not a dioread mount (see /proc/self/mountinfo)`);
  await new Promise<void>((resolve, reject) =>
    execFile('fusermount3', ['-u', mountpoint], (err, _o, stderr) => (err ? reject(new DioreadError('EBUSY', `dioread umount: fusermount3 -u ${mountpoint}: ${stderr.trim() || err.message}`)) : resolve())),
  );
  await waitImageClosed(image, mountpoint);
  console.error(`dioread: ${mountpoint} unmounted; ${image} closed`);
}

/** Wait until the mount process has closed the engine: its image lock is then free. */
async function waitImageClosed(image: string, mountpoint: string): Promise<void> {
  const deadline = Date.now() + UMOUNT_WAIT_MS;
  for (;;) {
    try {
      lockImage('dioread umount', image, 'dioread umount', true).release();
      return;
    } catch (err) {
      if (!(err instanceof DioreadError && err.code === 'EBUSY')) throw err;
    }
    if (Date.now() > deadline) throw new DioreadError('EBUSY', `dioread umount: ${mountpoint} is unmounted but the mount process still holds ${image} after ${UMOUNT_WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
