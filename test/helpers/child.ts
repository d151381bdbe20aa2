// Test helpers for child processes: a module script run by a fresh node (for kill -9 rounds and for
// a second process on one image), written to a file so a failing script can be kept and rerun.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from './image.js';

/** The package entry and the test helpers, as URLs a child script can import. */
export const INDEX_URL = new URL('../../src/index.js', import.meta.url).href;
export const FILES_URL = new URL('./files.js', import.meta.url).href;

/** Write `src` (an ES module; `Engine` and the file helpers are imported for it) to a temp file. */
export function childScript(src: string): string {
  const file = path.join(tmpDir('dioread-child-'), 'child.mjs');
  fs.writeFileSync(file, `import { Engine, attach } from ${JSON.stringify(INDEX_URL)};\nimport { pattern } from ${JSON.stringify(FILES_URL)};\n${src}`);
  return file;
}

export function removeScript(file: string): void {
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

/** Run a child script to its end (or its own kill); returns exit code, signal and output. */
export function runChild(src: string, timeoutMs = 60_000): { status: number | null; signal: NodeJS.Signals | null; out: string } {
  const file = childScript(src);
  try {
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
  } finally {
    removeScript(file);
  }
}

/** Start a child script; resolves once it prints `marker` (the child keeps running). */
export function startChild(src: string, marker: string): Promise<{ kill: () => Promise<void>; out: () => string }> {
  const file = childScript(src);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (!out.includes(marker)) return;
      child.stdout.off('data', onData);
      resolve({
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
          removeScript(file);
        },
        out: () => out,
      });
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, sig) => {
      if (!out.includes(marker)) {
        removeScript(file);
        reject(new Error(`child exited (${code ?? sig}) before printing ${marker}: ${out}`));
      }
    });
  });
}
