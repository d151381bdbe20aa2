// Guards DESIGN.md invariant 1 (no stale data) on the main thread's async direct-read route (issue 9
// point 2, src/aio.ts): many FileHandle.read calls in flight on a direct handle of a nolock engine,
// under a buffered and a direct writer that truncate and regrow the file, on each route this host
// has (the io_uring addon, libuv's fs.read); and the detector must fire on the same route when the
// seed's protection is switched off (UNSAFE_EARLY_WRITTEN).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Engine, type FileHandle } from '../src/index.js';
import { aioStats, type AioStats } from '../src/aio.js';
import { uringAddon } from '../src/aio-backends.js';
import { UNSAFE_EARLY_WRITTEN } from '../src/testing-symbols.js';
import { checkStamps, rng, runWorker, sentinelFile, tmpDir } from './helpers/image.js';
import { cleanup } from './helpers/files.js';

const WORKER = new URL('./workers/stale-worker.js', import.meta.url);
const IMAGE_BYTES = 32 << 20;
const FILE_BYTES = 2 << 20;
/** Reads the main thread keeps in flight. */
const IN_FLIGHT = 32;

interface Outcome {
  reads: number;
  words: number;
  stale: number;
  firstStale: string;
  writeOps: number;
  stats: AioStats | null;
}

/** IN_FLIGHT read loops on one direct handle until the deadline (or the first `stopAfterStale` stale words). */
async function readLoops(fh: FileHandle, deadlineMs: number, stopAfterStale: number, seed: number): Promise<Omit<Outcome, 'writeOps' | 'stats'>> {
  const until = Date.now() + deadlineMs;
  const out = { reads: 0, words: 0, stale: 0, firstStale: '' };
  const rand = rng(seed);
  const maxLen = 3 * 4096;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      const buf = Buffer.alloc(maxLen);
      while (Date.now() < until && out.stale < stopAfterStale) {
        const len = 8 * (1 + Math.floor((rand() * maxLen) / 8));
        const pos = 8 * Math.floor((rand() * (FILE_BYTES - len)) / 8);
        const { bytesRead } = await fh.read(buf, 0, len, pos);
        const [bad, first, word] = checkStamps(buf, pos, bytesRead);
        out.reads++;
        out.words += Math.floor(bytesRead / 8);
        if (bad > 0 && out.stale === 0) out.firstStale = `${word} at ${first}`;
        out.stale += bad;
      }
    }),
  );
  return out;
}

async function run(route: 'uring' | 'libuv', unsafe: boolean, deadlineMs: number, stopAfterStale: number): Promise<Outcome> {
  const before = process.env.DIOREAD_AIO;
  process.env.DIOREAD_AIO = route; // read at the engine's first direct read
  const dir = tmpDir();
  const image = path.join(dir, 'img');
  sentinelFile(image, IMAGE_BYTES);
  await Engine.mkfs(image, { sizeBytes: IMAGE_BYTES });
  const opts: Record<string | symbol, unknown> = { path: image, cachePages: 48, readLocking: 'none', ioEnds: 16 };
  if (unsafe) opts[UNSAFE_EARLY_WRITTEN] = true;
  const eng = await Engine.open(opts as never);
  try {
    const f = await eng.open('f', { create: true });
    await f.truncate(FILE_BYTES);
    await f.close();
    const desc = eng.share();
    const common = { desc, fileBytes: FILE_BYTES, deadlineMs, maxOps: 200_000, stopAfterStale: 1 << 30, role: 'writer' };
    const writers = Promise.all([
      runWorker<{ ops: number }>(WORKER, { ...common, role: 'writer', id: 1, seed: 0x1234 }),
      runWorker<{ ops: number }>(WORKER, { ...common, role: 'direct-writer', id: 2, seed: 0x1234 + 7919 }),
    ]);
    const fh = await eng.open('f', { direct: true });
    const reads = await readLoops(fh, deadlineMs, stopAfterStale, 0xbeef);
    await fh.close();
    const w = await writers;
    return { ...reads, writeOps: w.reduce((s, x) => s + x.ops, 0), stats: aioStats(desc) };
  } finally {
    await eng.close();
    cleanup(image);
    if (before === undefined) delete process.env.DIOREAD_AIO;
    else process.env.DIOREAD_AIO = before;
  }
}

const routes: Array<'uring' | 'libuv'> = ['uring', 'libuv'];

for (const route of routes) {
  test(`async direct reads (${route} route, ${IN_FLIGHT} in flight from the main thread) never see stale data under 2 writers, truncation and eviction`, { skip: route === 'uring' && !uringAddon() ? 'the io_uring addon is not built here (native/uring needs liburing-dev)' : false }, async (t) => {
    const r = await run(route, false, 2500, 1);
    t.diagnostic(`${route}: ${r.reads} reads (${r.words} words checked), ${r.writeOps} writes, stale words ${r.stale}; ${JSON.stringify(r.stats)}`);
    assert.equal(r.stats?.route, route, `the reads took the ${route} route (${r.stats?.note})`);
    assert.ok(r.stats.deviceReads > 100, `the route read the device (${r.stats.deviceReads} device reads)`);
    assert.ok(r.writeOps > 50, `writers made progress (${r.writeOps} writes)`);
    assert.equal(r.stale, 0, `stale words seen, first ${r.firstStale}`);
  });
}

test('negative control: extents marked written at allocation expose stale data to async direct reads', { skip: uringAddon() ? false : 'runs on the io_uring route; the addon is not built here' }, async (t) => {
  // The detector must be able to fail on this route: with the seed's protection off it must fire.
  let total = 0;
  for (let attempt = 0; attempt < 3 && total === 0; attempt++) {
    const r = await run('uring', true, 4000, 1);
    t.diagnostic(`unsafe control attempt ${attempt + 1}: ${r.reads} reads, ${r.writeOps} writes, stale words ${r.stale} (first ${r.firstStale}); ${JSON.stringify(r.stats)}`);
    assert.equal(r.stats?.route, 'uring');
    total += r.stale;
  }
  assert.ok(total > 0, 'the unsafe mode must trip the stale-data detector on the async route');
});
