// Test helpers: temporary images pre-filled with a sentinel, stamps that name their own offset.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { xorshift32Sequence } from '../../src/prng.js';

export const SENTINEL = 0xa5;

export function tmpDir(prefix = 'dioread-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A file of `sizeBytes` filled with the sentinel byte: what the "disk" held before us. */
export function sentinelFile(file: string, sizeBytes: number): void {
  const chunk = Buffer.alloc(1 << 20, SENTINEL);
  const fd = fs.openSync(file, 'w');
  try {
    for (let at = 0; at < sizeBytes; at += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, sizeBytes - at), at);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Stamp a buffer that will be written at file offset `pos` (a multiple of 8): each 8-byte word holds
 * (offset/8 + 1) in its high half and `tag` in its low half. A reader can then tell, word by word,
 * whether what it sees was written to that very offset.
 */
export function stamp(buf: Buffer, pos: number, tag: number): void {
  for (let i = 0; i + 8 <= buf.length; i += 8) {
    buf.writeUInt32LE(tag >>> 0, i);
    buf.writeUInt32LE((pos + i) / 8 + 1, i + 4);
  }
}

/**
 * Count words that are neither zero nor a stamp of their own offset. Returns
 * [bad, firstBadOffset, firstBadWordAsHex].
 */
export function checkStamps(buf: Buffer, pos: number, len: number): [number, number, string] {
  let bad = 0;
  let first = -1;
  let word = '';
  for (let i = 0; i + 8 <= len; i += 8) {
    const lo = buf.readUInt32LE(i);
    const hi = buf.readUInt32LE(i + 4);
    if (lo === 0 && hi === 0) continue;
    if (hi === (pos + i) / 8 + 1) continue;
    bad++;
    if (first < 0) {
      first = pos + i;
      word = `${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;
    }
  }
  return [bad, first, word];
}

/** Run a worker script with workerData and resolve with the first message it posts. */
export function runWorker<T>(url: URL, workerData: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(url, { workerData });
    let result: T | undefined;
    let got = false;
    w.once('message', (m) => {
      result = m as T;
      got = true;
    });
    w.once('error', reject);
    w.once('exit', (code) => {
      if (got) resolve(result as T);
      else reject(new Error(`worker ${url.pathname} exited with code ${code} before reporting`));
    });
  });
}

/** A small deterministic PRNG (src/prng.ts's xorshift32) so workers are reproducible from a seed: floats in [0, 1). */
export function rng(seed: number): () => number {
  const next = xorshift32Sequence(seed);
  return () => next() / 2 ** 32;
}
