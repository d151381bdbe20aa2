// Run a profiling workload (readers and writers on one file) and collect lock_stat rows and,
// optionally, a Chrome trace. The engine behind `dioread profile`.
// kernel counterpart: running a workload under CONFIG_LOCK_STAT / `perf lock record`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Engine, type LockStatsLevel } from '../engine.js';
import type { LockStatRow } from '../lockstat.js';
import type { SharedDescriptor } from '../shm/layout.js';
import type { ChromeTrace } from './chrome-trace.js';
import type { LoadJob, LoadResult } from '../../workers/load-worker.js';

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
  classes: LockStatRow[];
  threads: LoadResult[];
  readIops: number;
  writeIops: number;
  counters: ReturnType<Engine['counters']>;
  trace: ChromeTrace | null;
}

const BLOCK = 4096;

export async function runProfile(o: ProfileOptions): Promise<ProfileResult> {
  const tmp = o.image ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'dioread-profile-'));
  const image = o.image ?? path.join(tmp!, 'profile.img');
  const readerBlocks = (o.fileMib << 20) / BLOCK;
  const eng = await openProfileEngine(o, image, readerBlocks);
  try {
    await writeProfileFile(eng, o);
    eng.resetLockStats();
    if (o.trace) eng.startTrace();
    const threads = await runLoadWorkers(loadJobs(o, eng.share(), readerBlocks));
    if (o.trace) eng.stopTrace();
    const classes = eng.lockStats();
    const trace = o.trace ? eng.traceJson() : null;
    const sum = (role: string) => threads.filter((t) => t.role === role).reduce((s, t) => s + t.ops / t.seconds, 0);
    return {
      config: { ...o, image, deviceDirect: eng.deviceDirect },
      classes,
      threads,
      readIops: Math.round(sum('reader')),
      writeIops: Math.round(sum('writer')),
      counters: eng.counters(),
      trace,
    };
  } finally {
    await eng.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The profile's engine: a fresh image four times the file (64 MiB at least), a thread slot for every load worker. */
function openProfileEngine(o: ProfileOptions, image: string, readerBlocks: number): Promise<Engine> {
  const sizeBytes = Math.max(64 << 20, 4 * (o.fileMib << 20));
  return Engine.open({
    path: image,
    create: true,
    sizeBytes,
    // Room for the readers' blocks and half of the writers' region: writers then also hit the
    // dirty threshold, so writeback and the conversion worker run besides sync.
    cachePages: o.workload === 'cached' ? readerBlocks + readerBlocks / 2 + 256 : 4096,
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
  for (let at = 0; at < o.fileMib << 20; at += chunk.length) await f.write(chunk, { position: at });
  await f.sync();
  if (o.workload === 'direct') await eng.dropCaches();
  else {
    // Warm the cache so readers measure hits, not the first misses.
    const warm = Buffer.alloc(1 << 20);
    for (let at = 0; at < o.fileMib << 20; at += warm.length) await f.read(warm, { position: at });
  }
  await f.close();
}

/** One job per reader, then one per writer, each with its own seed. */
function loadJobs(o: ProfileOptions, desc: SharedDescriptor, readerBlocks: number): LoadJob[] {
  const jobs: LoadJob[] = [];
  for (let i = 0; i < o.threads; i++) jobs.push({ desc, role: 'reader', file: 'profile', direct: o.workload === 'direct', seconds: o.seconds, readerBlocks, blockSize: BLOCK, seed: 101 + i * 7919, truncateEvery: 0, syncEvery: 0 });
  for (let i = 0; i < o.writers; i++) jobs.push({ desc, role: 'writer', file: 'profile', direct: false, seconds: o.seconds, readerBlocks, blockSize: BLOCK, seed: 9001 + i * 7919, truncateEvery: 4096, syncEvery: 1024 });
  return jobs;
}

/** Run every job on its own load worker (workers/load-worker.ts), all at once; resolves with their results in job order. */
function runLoadWorkers(jobs: LoadJob[]): Promise<LoadResult[]> {
  const url = new URL('../../workers/load-worker.js', import.meta.url);
  return Promise.all(
    jobs.map(
      (job) =>
        new Promise<LoadResult>((resolve, reject) => {
          const w = new Worker(url, { workerData: job });
          w.once('message', resolve);
          w.once('error', reject);
          w.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited with code ${code}`)));
        }),
    ),
  );
}
