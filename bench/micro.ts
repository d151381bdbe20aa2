// npm run bench:micro: tinybench micro-benchmarks of the primitives a read is made of — spinlock
// and mutex pairs, extent lookup at 10 / 1,000 / 100,000 extents, page-cache hit lookup, 4 KiB copy
// — printed as tinybench's table. Each sample times a batch of BATCH calls and reports the per-call
// time (tinybench's overriddenDuration), so the clock read (~40 ns here) does not swamp a 10 ns op.
// kernel counterpart: the lock and lookup microbenchmarks of tools/testing (locktorture, perf bench).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bench } from 'tinybench';
import { Engine, type FileHandle, type SyncFileHandle } from '../src/index.js';
import { attachUnchecked } from '../src/attach.js';
import { findPage, readPageFast } from '../src/cache.js';
import { allocBlocks } from '../src/alloc.js';
import { insertExtent, mapBlocks } from '../src/extents.js';
import { lockInode, unlockInode } from '../src/inode.js';
import { I_COMPLETED_LOCK, I_MUTEX, I_SEQ, LC_COMPLETED_IO, LC_I_MUTEX, inodeWord } from '../src/shm/layout.js';
import { lock, seqWriteBegin, seqWriteEnd, spinLock, unlock } from '../src/sync/lock.js';
import type { Volume } from '../src/volume.js';
import { journalStart, journalStop, markInodeDirty } from '../src/transaction.js';
import { xorshift32Sequence } from '../src/prng.js';

const BATCH = 1000;
const EXTENT_COUNTS = [10, 1_000, 100_000];
const CACHED_BLOCKS = 1024;
/** Random indexes, the same for every lookup task (a lookup that always hits one slot would flatter it). */
const PICKS = 4096;

function picks(n: number, seed: number): Int32Array {
  const out = new Int32Array(PICKS);
  const next = xorshift32Sequence(seed);
  for (let i = 0; i < PICKS; i++) out[i] = next() % n;
  return out;
}

/** A task body that runs `op` BATCH times and reports the time of one. */
function batched(op: (i: number) => void): () => { overriddenDuration: number; overriddenIterationCost: number } {
  let k = 0;
  return () => {
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) op(k++ & (PICKS - 1));
    const ms = performance.now() - t0;
    return { overriddenDuration: ms / BATCH, overriddenIterationCost: ms };
  };
}

/**
 * Give inode `ino` `count` one-block extents at every other logical block (so none merge), on
 * blocks from the allocator, as a writer would (i_mutex held, inside the extent seqlock).
 */
function makeExtents(v: Volume, ino: number, count: number): void {
  const tok = lockInode(v, ino);
  const seq = inodeWord(v.layout, ino, I_SEQ);
  journalStart(v, ino);
  seqWriteBegin(v.i32, seq);
  try {
    for (let i = 0; i < count; i++) {
      const a = allocBlocks(v, -1, 1, v.firstDataBlock);
      if (a.count !== 1) throw new Error(`bench:micro: the image ran out of blocks at extent ${i} of ${count}`);
      if (!insertExtent(v, ino, 2 * i, 1, a.pblk, false)) throw new Error(`bench:micro: the extent table is full at ${i} of ${count}`);
    }
    markInodeDirty(v, ino);
  } finally {
    seqWriteEnd(v.i32, seq);
    journalStop(v);
    unlockInode(v, ino, tok);
  }
}

/** A file of the benchmark with its extents and the random logical blocks its lookups pick. */
interface ExtentFile {
  count: number;
  ino: number;
  at: Int32Array;
}

/** The engine the primitives run on: a sparse image, lock statistics off. */
function openMicroEngine(dir: string): Promise<Engine> {
  return Engine.open({
    path: path.join(dir, 'micro.img'),
    create: true,
    sizeBytes: 1024 * 1024 * 1024, // sparse: room for 100,000+ allocated blocks and the extent tables
    cachePages: CACHED_BLOCKS + 64,
    maxFiles: EXTENT_COUNTS.length + 2,
    lockStats: 'off',
  });
}

/** A file whose pages are all cached, for the hit lookups and the copy. */
async function makeCachedFile(eng: Engine): Promise<FileHandle> {
  const cached = await eng.open('cached', { create: true });
  const chunk = Buffer.alloc(CACHED_BLOCKS * 4096, 7);
  await cached.write(chunk, { position: 0 });
  await cached.sync();
  const st = await cached.cacheState();
  if (st.cachedPages !== CACHED_BLOCKS) throw new Error(`bench:micro: ${st.cachedPages} of ${CACHED_BLOCKS} pages cached`);
  return cached;
}

/** One file per entry of EXTENT_COUNTS, with that many extents and its lookup picks. */
async function makeExtentFiles(eng: Engine, v: Volume): Promise<ExtentFile[]> {
  const extentFiles: ExtentFile[] = [];
  for (const count of EXTENT_COUNTS) {
    const f = await eng.open(`extents-${count}`, { create: true });
    await f.truncate(2 * count * 4096);
    makeExtents(v, f.ino, count);
    extentFiles.push({ count, ino: f.ino, at: picks(2 * count, count) });
    await f.close();
  }
  return extentFiles;
}

/** The tasks, in the table's order: lock pairs, extent lookups, cache hits, the copy, a whole readSync. */
function addTasks(bench: Bench, eng: Engine, v: Volume, cached: FileHandle, sync: SyncFileHandle, extentFiles: ExtentFile[]): void {
  const hitPicks = picks(CACHED_BLOCKS, 17);
  const dst = Buffer.alloc(4096);
  const mutexWord = inodeWord(v.layout, cached.ino, I_MUTEX);
  const spinWord = inodeWord(v.layout, cached.ino, I_COMPLETED_LOCK);
  bench.add('spinlock pair (lock_stat off)', batched(() => unlock(v, spinWord, LC_COMPLETED_IO, spinLock(v, spinWord, LC_COMPLETED_IO))));
  bench.add('mutex pair (lock_stat off)', batched(() => unlock(v, mutexWord, LC_I_MUTEX, lock(v, mutexWord, LC_I_MUTEX))));
  for (const [level, label] of [['counters', 'counters'], ['timing', 'timing']] as const) {
    bench.add(`mutex pair (lock_stat ${label})`, batched(() => unlock(v, mutexWord, LC_I_MUTEX, lock(v, mutexWord, LC_I_MUTEX))), {
      beforeAll: () => eng.setLockStatsLevel(level),
      afterAll: () => eng.setLockStatsLevel('off'),
    });
  }
  for (const e of extentFiles) {
    bench.add(`extent lookup, ${e.count.toLocaleString('en-US')} extents`, batched((i) => void mapBlocks(v, e.ino, e.at[i])));
  }
  bench.add('page-cache hit lookup (findPage)', batched((i) => void findPage(v, cached.ino, hitPicks[i])));
  bench.add('page-cache hit read 4 KiB (readPageFast)', batched((i) => void readPageFast(v, cached.ino, hitPicks[i], dst, 0, 0, 4096)));
  const frameBytes = v.frameByteOffset;
  bench.add('4 KiB copy (Buffer#copy out of the frames SAB)', batched((i) => {
    const at = frameBytes + hitPicks[i] * 4096; // the same frames the hits copy from (any order)
    v.framesBuf.copy(dst, 0, at, at + 4096);
  }));
  bench.add('readSync 4 KiB, cached, nolock (whole call)', batched((i) => void sync.readSync(dst, { position: hitPicks[i] * 4096 })));
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dioread-micro-'));
  const eng = await openMicroEngine(dir);
  const view = attachUnchecked(eng.share()); // this thread's view (main thread, uncontended): the primitives take a Volume
  const v = view.volume;
  try {
    const cached = await makeCachedFile(eng);
    const sync = view.openSync('cached');
    const extentFiles = await makeExtentFiles(eng, v);
    const bench = new Bench({ name: 'dioread primitives (per call)', time: 400, warmupTime: 100 });
    addTasks(bench, eng, v, cached, sync, extentFiles);
    await bench.run();
    console.log(`${bench.name}: each sample times ${BATCH} calls; figures are per call`);
    console.table(bench.table());
    sync.closeSync();
    await cached.close();
  } finally {
    view.detach();
    await eng.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
