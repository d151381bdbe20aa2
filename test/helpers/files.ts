// Test helpers for whole-file checks: images, byte patterns that are never zero, read-back, diffs.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Engine, type EngineOptions, type FileHandle } from '../../src/index.js';
import { fsckImage, type FsckReport } from '../../src/fsck.js';
import { sentinelFile, tmpDir } from './image.js';

export const PAGE = 4096;

/**
 * Bytes for file offset `pos`.. of a write tagged `seed`: a function of (seed, offset), never zero,
 * so a zero byte in a read-back always means "lost", and a byte can be traced to its write.
 */
export function pattern(seed: number, pos: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) {
    const x = Math.imul((pos + i) ^ Math.imul(seed, 0x9e3779b1), 0x85ebca6b) >>> 0;
    b[i] = 1 + ((x >>> 24) % 255);
  }
  return b;
}

/** A fresh image file pre-filled with the sentinel and formatted (metadata only). */
export async function freshImage(sizeBytes: number, fmt: { maxFiles?: number; journalBlocks?: number } = {}): Promise<string> {
  const image = path.join(tmpDir(), 'img');
  sentinelFile(image, sizeBytes);
  await Engine.mkfs(image, { sizeBytes, ...fmt });
  return image;
}

export function openImage(image: string, opts: Omit<EngineOptions, 'path'> = {}): Promise<Engine> {
  return Engine.open({ path: image, ...opts });
}

/** Read `size` bytes from 0 in chunks of up to 64 KiB; asserts nothing, returns what came back. */
export async function readWhole(f: FileHandle, size: number): Promise<Buffer> {
  const out = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const n = Math.min(64 * 1024, size - at);
    const chunk = Buffer.alloc(n);
    const { bytesRead } = await f.read(chunk, { position: at });
    chunk.copy(out, at, 0, bytesRead);
    if (bytesRead < n) return out.subarray(0, at + bytesRead);
    at += n;
  }
  return out;
}

/** First offset where a and b differ (or where one ends), -1 if equal; with a few bytes around it. */
export function firstDiff(a: Uint8Array, b: Uint8Array): { at: number; what: string } | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      const from = Math.max(0, i - 2);
      const hex = (x: Uint8Array) => Buffer.from(x.subarray(from, Math.min(x.length, i + 6))).toString('hex');
      return { at: i, what: `at ${i} (page ${Math.floor(i / PAGE)} +${i % PAGE}): got ${hex(a)} want ${hex(b)} (from ${from})` };
    }
  }
  if (a.length !== b.length) return { at: n, what: `lengths differ: got ${a.length} want ${b.length}` };
  return null;
}

/** fsck, with the report's problems in one line for assertion messages. */
export function fsck(image: string): FsckReport & { summary: string } {
  const r = fsckImage(image);
  const some = (xs: string[]) => `${JSON.stringify(xs.slice(0, 5))}${xs.length > 5 ? ` and ${xs.length - 5} more` : ''}`;
  return { ...r, summary: `errors ${some(r.errors)} warnings ${some(r.warnings)}` };
}

/** Remove a test directory (best effort: a failing test leaves it for inspection when asked). */
export function cleanup(image: string): void {
  if (process.env.DIOREAD_KEEP_IMAGES) return;
  fs.rmSync(path.dirname(image), { recursive: true, force: true });
}

/**
 * Poll `cond` until it holds or `ms` pass (bounded). For state another thread changes without a
 * completion we can await (e.g. a worker's counter); never used to paper over a race.
 */
export async function waitFor(cond: () => boolean, ms: number, stepMs = 5): Promise<boolean> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}

/**
 * Run one worker per job and resolve with their first messages. A watchdog bounds the whole run:
 * past `watchdogMs` the workers are terminated and the promise rejects with `what` (a deadlock, for
 * the tests that use it: every worker stops by its own deadline long before).
 */
export function runWorkersWithWatchdog<T>(url: URL, jobs: unknown[], watchdogMs: number, what: string): Promise<T[]> {
  const workers = jobs.map((workerData) => new Worker(url, { workerData }));
  const results = workers.map(
    (w) =>
      new Promise<T>((resolve, reject) => {
        let got = false;
        let result: T;
        w.once('message', (m) => {
          got = true;
          result = m as T;
        });
        w.once('error', reject);
        w.once('exit', (code) => (got ? resolve(result) : reject(new Error(`worker ${url.pathname} exited with code ${code} before reporting`))));
      }),
  );
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      for (const w of workers) void w.terminate();
      reject(new Error(`${what}: workers still running after ${watchdogMs} ms`));
    }, watchdogMs);
  });
  return Promise.race([Promise.all(results), watchdog]).finally(() => clearTimeout(timer));
}
