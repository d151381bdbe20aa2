// `dioread profile`: run readers and writers on one file on the benchmark's own threads (bench/
// worker.ts: the read loop, and the writer with an fsync and a truncate every so many writes),
// and collect lock_stat rows for the measured window and, optionally, a Chrome trace.
// kernel counterpart: running a workload under CONFIG_LOCK_STAT / `perf lock record`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { Engine, type LockStatsLevel, type LockStatRow } from '../src/index.js';
import type { ChromeTrace } from '../src/profile/chrome-trace.js';
import { SAMPLE_EVERY, WRITER_SAMPLE_EVERY } from './options.js';
import { ioStats, type IoStats } from './report.js';
import { runCell } from './run-cell.js';
import type { ThreadResult } from './tasks.js';

export interface ProfileOptions {
  /** readLocking of the engine. */
  mode: 'exclusive' | 'shared' | 'none';
  workload: 'cached' | 'direct';
  threads: number;
  writers: number;
  seconds: number;
  fileMib: number;
  /** Image to use (formatted if missing); default a temporary one, removed afterwards. */
  image?: string;
  trace: boolean;
  traceEventsPerThread: number;
  lockStats: LockStatsLevel;
}

export interface ProfileResult {
  config: Omit<ProfileOptions, 'image'> & { image: string; deviceDirect: boolean };
  /** lock_stat over the measured window only (reset as it starts, read as it stops). */
  classes: LockStatRow[];
  /** Each reader's and writer's result, readers first; `slot` is the engine thread slot its trace events carry. */
  threads: ThreadResult[];
  readIops: number;
  writeIops: number;
  /** fio-shaped figures of the readers and of the writers, with sampled completion latencies. */
  read: IoStats;
  write: IoStats;
  counters: ReturnType<Engine['counters']>;
  trace: ChromeTrace | null;
}

const MIB = 1 << 20;
/** Engine.open's largest cachePages (engine-options.ts). */
const MAX_CACHE_PAGES = 1 << 22;

const BLOCK = 4096;
/** The profile's writers: an fsync every this many writes, a truncate back to the readers' region every this many. */
const SYNC_EVERY = 1024;
const TRUNCATE_EVERY = 4096;

/**
 * What no run could do, refused before anything is created: the cached workload keeps the whole
 * file in the page cache, and the engine takes at most MAX_CACHE_PAGES frames.
 */
export function checkProfileOptions(o: Pick<ProfileOptions, 'workload' | 'fileMib'>): void {
  const pages = cachePagesFor((o.fileMib * MIB) / BLOCK);
  if (o.workload === 'cached' && pages > MAX_CACHE_PAGES) {
    throw new Error(`profile: --file-mib ${o.fileMib} with --workload cached needs a page cache of ${pages} pages, over the engine's ${MAX_CACHE_PAGES}; use --workload direct or a smaller file`);
  }
}

export async function runProfile(o: ProfileOptions): Promise<ProfileResult> {
  checkProfileOptions(o);
  const readerBlocks = (o.fileMib * MIB) / BLOCK;
  const tmp = o.image ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'dioread-profile-'));
  const image = o.image ?? path.join(tmp!, 'profile.img');
  const eng = await openProfileEngine(o, image, readerBlocks);
  const pool = new Piscina({ filename: new URL('./worker.js', import.meta.url).href, minThreads: o.threads + o.writers, maxThreads: o.threads + o.writers, idleTimeout: 2 ** 31 - 1 });
  try {
    await writeProfileFile(eng, o);
    const out = await runWindow(eng, pool, o, readerBlocks);
    const threads = [...out.reads, ...out.writes];
    const read = ioStats(out.reads, out.seconds, SAMPLE_EVERY[o.workload]);
    const write = ioStats(out.writes, out.seconds, WRITER_SAMPLE_EVERY);
    return {
      config: { ...o, image, deviceDirect: eng.deviceDirect },
      classes: out.classes,
      threads,
      readIops: Math.round(read.iops),
      writeIops: Math.round(write.iops),
      read,
      write,
      counters: eng.counters(),
      trace: o.trace ? eng.traceJson() : null,
    };
  } finally {
    await pool.destroy();
    await eng.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** One cell of the bench's harness without a ramp: lock_stat (and the trace) cover exactly its measured window. */
async function runWindow(eng: Engine, pool: Piscina, o: ProfileOptions, readerBlocks: number): Promise<Awaited<ReturnType<typeof runCell>> & { classes: LockStatRow[] }> {
  const desc = eng.share();
  let classes: LockStatRow[] = [];
  const out = await runCell(pool, {
    readers: o.threads,
    read: { role: 'read', kind: 'dioread', desc, fileName: 'profile', direct: o.workload === 'direct', regionIos: readerBlocks, blockSize: BLOCK, sampleEvery: SAMPLE_EVERY[o.workload] },
    writers: o.writers,
    // The writers share the block range past the readers' region, each its own part of it.
    write: { role: 'write', desc, fileName: 'profile', firstIo: readerBlocks, regionIos: Math.max(1, Math.floor(readerBlocks / Math.max(1, o.writers))), blockSize: BLOCK, sampleEvery: WRITER_SAMPLE_EVERY, syncEvery: SYNC_EVERY, truncateEvery: TRUNCATE_EVERY },
    seconds: o.seconds,
    rampSeconds: 0,
    atStart: () => {
      eng.resetLockStats();
      if (o.trace) eng.startTrace();
    },
    atStop: () => {
      if (o.trace) eng.stopTrace();
      classes = eng.lockStats();
    },
  });
  return { ...out, classes };
}

/**
 * Cache frames of the cached workload: the readers' blocks and half of the writers' region (writers
 * then also hit the dirty threshold, so writeback and the conversion worker run besides sync).
 */
function cachePagesFor(readerBlocks: number): number {
  return readerBlocks + readerBlocks / 2 + 256;
}

/** The profile's engine: a fresh image four times the file (64 MiB at least), a thread slot for every load thread. */
function openProfileEngine(o: ProfileOptions, image: string, readerBlocks: number): Promise<Engine> {
  const sizeBytes = Math.max(64 * MIB, 4 * o.fileMib * MIB);
  return Engine.open({
    path: image,
    create: true,
    sizeBytes,
    cachePages: o.workload === 'cached' ? cachePagesFor(readerBlocks) : 4096,
    readLocking: o.mode,
    lockStats: o.lockStats,
    traceEvents: o.trace ? o.traceEventsPerThread : 0,
    maxThreads: Math.max(64, o.threads + o.writers + 8),
  });
}

/** Write the file the readers read, then leave its pages cached (cached workload) or dropped (direct). */
async function writeProfileFile(eng: Engine, o: ProfileOptions): Promise<void> {
  const f = await eng.open('profile', { create: true });
  await f.truncate(0);
  const chunk = Buffer.alloc(1 << 20, 0x11);
  for (let at = 0; at < o.fileMib * MIB; at += chunk.length) await f.write(chunk, { position: at });
  await f.sync();
  if (o.workload === 'direct') await eng.dropCaches();
  else {
    // Warm the cache so readers measure hits, not the first misses.
    const warm = Buffer.alloc(1 << 20);
    for (let at = 0; at < o.fileMib * MIB; at += warm.length) await f.read(warm, { position: at });
  }
  await f.close();
}
