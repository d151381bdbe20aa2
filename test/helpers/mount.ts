// Test helpers for `dioread mount`: whether FUSE can run here, the CLI and the tools around a mount.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { loadFuseAddon } from '../../src/fuse/addon.js';

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
