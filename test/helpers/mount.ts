// Test helpers for `dioread mount`: whether FUSE can run here, the CLI and the tools around a mount.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadFuseAddon } from '../../src/fuse/addon.js';
import { Engine } from '../../src/index.js';
import { cleanup, freshImage } from './files.js';

export const CLI = new URL('../../cli/main.js', import.meta.url).pathname;

/** Why the mount tests cannot run on this machine (null: they can). */
export function fuseSkipReason(): string | null {
  const loaded = loadFuseAddon();
  if (loaded.addon === null) return `dioread mount cannot run here: ${loaded.problem}`;
  if (spawnSync('fusermount3', ['-V']).error) return 'fusermount3 is missing (apt-get install -y fuse3)';
  return null;
}

/** Run a program to its end: exit code and output (stdout then stderr). */
export function sh(cmd: string, args: string[], timeoutMs = 60_000): { code: number | null; out: string; stdout: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 24 });
  if (r.error) return { code: null, out: String(r.error), stdout: '' };
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

export function dioread(args: string[], timeoutMs = 60_000): { code: number | null; out: string; stdout: string } {
  return sh(process.execPath, [CLI, ...args], timeoutMs);
}

export function isMounted(dir: string): boolean {
  const real = fs.realpathSync(dir);
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === real);
}

/** Last-resort cleanup after a failed test: detach the mount (its process then exits by itself). */
export function forceUnmount(dir: string): void {
  if (fs.existsSync(dir) && isMounted(dir)) sh('fusermount3', ['-u', '-z', dir]);
}

/** The sha256sum of a file, by the sha256sum program. */
export function sha256sum(file: string): string {
  const r = sh('sha256sum', [file]);
  if (r.code !== 0) throw new Error(`sha256sum ${file}: ${r.out}`);
  return r.stdout.split(' ')[0];
}

/** A whole file read back through the engine's API, on a read-only engine (after an unmount). */
export async function readThroughApi(image: string, name: string): Promise<Buffer> {
  const eng = await Engine.open({ path: image, readOnly: true });
  try {
    const f = await eng.open(name, 'r');
    const data = (await f.readFile()) as Buffer;
    await f.close();
    return data;
  } finally {
    await eng.close();
  }
}

/**
 * A fresh image of `sizeBytes` and an empty mount point beside it, both removed after the test
 * (unmounted first if the test left it mounted).
 */
export async function scratchMount(t: { after(fn: () => void): void }, sizeBytes: number, fmt: { maxFiles: number }): Promise<{ image: string; work: string; mnt: string }> {
  const image = await freshImage(sizeBytes, fmt);
  const work = path.dirname(image);
  const mnt = path.join(work, 'mnt');
  fs.mkdirSync(mnt);
  t.after(() => {
    forceUnmount(mnt);
    cleanup(image);
  });
  return { image, work, mnt };
}
