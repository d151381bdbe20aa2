// The engine's cells of one round: one engine per mode (readLocking), opened on the same image;
// the very first one writes the bench file. Each cell is one (workload, mode, writers, threads)
// measurement; every repeat goes to the run's Repeats. fio counterpart: the jobs of a job file
// that read the file under test (each mode being another mount of it).
import type { Piscina } from 'piscina';
import { Engine } from '../src/index.js';
import { BENCH_FILE, physicalRuns, writeBenchFile, type ImagePlan, type PhysicalRun } from './image.js';
import { engineSharedBytes, meanHeapBytes, slotSharedBytes } from './memory.js';
import { SAMPLE_EVERY, WRITER_SAMPLE_EVERY, threadWorkloads, type BenchOptions, type Mode, type ThreadWorkload, type Workload } from './options.js';
import type { BenchProgress } from './progress.js';
import { cpuPercent, ioStats, lockDelta, type CellStats } from './report.js';
import type { Repeats } from './repeats.js';
import { runCell, warmUp } from './run-cell.js';

/** What every step of a run shares: the options, the image plan, where the image lies, the pool. */
export interface BenchRun {
  o: BenchOptions;
  ui: BenchProgress;
  plan: ImagePlan;
  /** Blocks in the read region: readers read blocks [0, readIos) of the bench file. */
  readIos: number;
  /** The run's temporary directory: the image (unless --image) and the peers' files. */
  tmp: string;
  image: string;
  pool: Piscina;
  /** The JIT warm-ups of the first round: what, and the read IOPS of each of its slices (for the JSON). */
  warmups: Array<{ what: string; read_iops: number[] }>;
  /** The thread workloads' peers run beside mode none's cells (bench/run.ts), not in a block of their own. */
  pairs: boolean;
}

/** What the first engine learns about the bench file and the engine, for the peers and the report. */
export interface EngineSetup {
  /** Where the read region of the bench file lies on the image. */
  runs: PhysicalRun[];
  deviceDirect: boolean;
  /** The engine's shared memory, and the part of it one thread slot owns. */
  sharedBytes: number;
  slotSharedBytes: number;
}

export const COST_LEVELS = ['off', 'counters', 'timing'] as const;

/** 'timing' costs two clock reads per lock pair: negligible next to a device read, not next to a cached one. */
export function lockLevel(o: BenchOptions, w: Workload): 'counters' | 'timing' {
  if (o.lockStats !== 'auto') return o.lockStats;
  return w === 'cached' ? 'counters' : 'timing';
}

export function jobName(w: Workload, mode: Mode, threads: number, writers: number): string {
  return `${w}-${mode}-${threads}t-${writers}w`;
}

/**
 * What runs right after one of mode none's cells with no writer (bench/run.ts: the peers at the same
 * thread count), so that the two figures a target divides are taken seconds apart, not a round apart.
 */
export type BesideNone = (w: ThreadWorkload, threads: number, round: number) => Promise<void>;

/** One round of engine cells: every mode's engine, every thread workload, writer count and thread count once; then `more` on the same engine (the async cells). */
export async function engineRound(run: BenchRun, rec: Repeats, setup: EngineSetup, round: number, more?: (eng: Engine, mode: Mode) => Promise<void>, beside?: BesideNone): Promise<void> {
  for (const [mi, mode] of run.o.modes.entries()) {
    const first = round === 0 && mi === 0;
    const eng = await Engine.open({
      path: run.image,
      create: first,
      sizeBytes: run.plan.sizeBytes,
      cachePages: run.plan.cachePages,
      readLocking: mode,
      maxThreads: run.plan.maxThreads,
      lockStats: 'counters',
    });
    try {
      if (first) await setUpBenchFile(run, eng, setup);
      for (const w of threadWorkloads(run.o)) await workloadCells(run, eng, mode, w, rec, setup, round, mode === 'none' ? beside : undefined);
      await more?.(eng, mode);
    } finally {
      await eng.close();
    }
  }
}

/** Write the bench file, and record where its read region lies, whether the device does O_DIRECT and the engine's shared memory. */
async function setUpBenchFile(run: BenchRun, eng: Engine, setup: EngineSetup): Promise<void> {
  run.ui.cell('writing the bench file');
  await writeBenchFile(eng, run.plan, run.o.blockSize);
  setup.runs = await physicalRuns(eng, run.plan.readBytes);
  setup.deviceDirect = eng.deviceDirect;
  setup.sharedBytes = engineSharedBytes(eng.share());
  setup.slotSharedBytes = slotSharedBytes(eng.share());
  if (!setup.deviceDirect && run.o.workloads.includes('direct')) {
    run.ui.note(`warning: ${run.o.dir} does not allow O_DIRECT; 'direct' cells read through the OS page cache (use --dir on a disk filesystem)`);
  }
}

/** The cells of one workload on one mode's engine: every (writers, threads), then the lock-statistics cost cells. */
async function workloadCells(run: BenchRun, eng: Engine, mode: Mode, w: ThreadWorkload, rec: Repeats, setup: EngineSetup, round: number, beside?: BesideNone): Promise<void> {
  const { o, ui, pool } = run;
  await prepareWorkload(eng, pool, run.plan, w, ui);
  eng.setLockStatsLevel(lockLevel(o, w));
  if (round === 0 && o.warmupSeconds > 0) await warmUpEngine(run, eng, mode, w);
  for (const writers of o.writers) {
    for (const threads of o.threads[w]) {
      const jobname = jobName(w, mode, threads, writers);
      ui.cell(jobname);
      rec.addJob({ jobname, workload: w, mode, threads, writers }, await engineCell(run, eng, setup, w, threads, writers));
      ui.done();
      if (writers === 0) await beside?.(w, threads, round);
    }
  }
  if (o.lockStatsCost && w === 'cached') await lockStatsCostCells(run, eng, mode, rec);
}

/**
 * The JIT warm-up (options.warmupSeconds): this mode's read path, and the writer's, on as many
 * pool threads as the largest cell uses, unmeasured. A thread is a V8 isolate of its own, so each
 * must be warmed; the pool keeps them for the whole run.
 */
async function warmUpEngine(run: BenchRun, eng: Engine, mode: Mode, w: ThreadWorkload): Promise<void> {
  const { o, plan } = run;
  run.ui.cell(`JIT warm-up: ${w}-${mode}`);
  const desc = eng.share();
  const rates = await warmUp(
    run.pool,
    {
      readers: Math.max(...o.threads[w]),
      read: { role: 'read', kind: 'dioread', desc, fileName: BENCH_FILE, direct: w === 'direct', regionIos: run.readIos, blockSize: o.blockSize, sampleEvery: SAMPLE_EVERY[w] },
      writers: Math.max(...o.writers),
      write: { role: 'write', desc, fileName: BENCH_FILE, firstIo: run.readIos, regionIos: plan.writerIos, blockSize: o.blockSize, sampleEvery: WRITER_SAMPLE_EVERY },
    },
    // A cached read is a microsecond: half the time runs it far more often than a direct read.
    w === 'cached' ? o.warmupSeconds / 2 : o.warmupSeconds,
  );
  run.warmups.push({ what: `${w}-${mode}`, read_iops: rates.map(Math.round) });
}

/** Cached cells need every page of the file in dioread's cache; direct (and async) cells need none of the read region. */
export async function prepareWorkload(eng: Engine, pool: Piscina, plan: ImagePlan, w: Workload, ui: BenchProgress): Promise<void> {
  const f = await eng.open(BENCH_FILE);
  try {
    if (w === 'cached') {
      ui.cell('warming the page cache');
      await pool.run({ role: 'warm', desc: eng.share(), fileName: BENCH_FILE, sizeBytes: plan.fileBytes });
      const st = await f.cacheState();
      const want = Math.ceil(plan.fileBytes / 4096);
      if (st.cachedPages < want) ui.note(`warning: only ${st.cachedPages} of ${want} pages of the bench file are cached; cached cells will miss`);
    } else {
      ui.cell('dropping the page cache');
      await eng.dropCaches();
      const st = await f.cacheState();
      if (st.cachedPages !== 0) ui.note(`warning: ${st.cachedPages} pages of the bench file stayed cached after dropCaches`);
    }
  } finally {
    await f.close();
  }
}

/** One repeat of one engine cell: its reader and writer threads on the pool, lock_stat around the window. */
async function engineCell(run: BenchRun, eng: Engine, setup: EngineSetup, w: Workload, threads: number, writers: number): Promise<CellStats> {
  const { o, plan, readIos } = run;
  const desc = eng.share();
  const timed = lockLevel(o, w) === 'timing';
  let before = eng.lockStats();
  let after = before;
  const out = await runCell(run.pool, {
    readers: threads,
    read: { role: 'read', kind: 'dioread', desc, fileName: BENCH_FILE, direct: w === 'direct', regionIos: readIos, blockSize: o.blockSize, sampleEvery: SAMPLE_EVERY[w] },
    writers,
    write: { role: 'write', desc, fileName: BENCH_FILE, firstIo: readIos, regionIos: plan.writerIos, blockSize: o.blockSize, sampleEvery: WRITER_SAMPLE_EVERY },
    seconds: o.seconds,
    rampSeconds: o.rampSeconds,
    atStart: () => (before = eng.lockStats()),
    atStop: () => (after = eng.lockStats()),
  });
  return {
    read: ioStats(out.reads, out.seconds, SAMPLE_EVERY[w]),
    write: ioStats(out.writes, out.seconds, WRITER_SAMPLE_EVERY),
    locks: lockDelta(before, after, timed),
    usr_cpu: cpuPercent(out.cpuUserNs, out.seconds),
    sys_cpu: cpuPercent(out.cpuSystemNs, out.seconds),
    cpu_user_ns: Math.round(out.cpuUserNs),
    cpu_system_ns: Math.round(out.cpuSystemNs),
    other_cpu_busy: out.otherCpuBusy,
    memory: { rss_bytes: out.rssBytes, shared_bytes: setup.sharedBytes, reader_heap_bytes: meanHeapBytes(out.reads), reader_shared_bytes: setup.slotSharedBytes },
  };
}

/**
 * What each lock-statistics level costs: the same cached cell (no writer) at 'off', 'counters' and
 * 'timing', one after the other on the same engine, reported against 'off'. In mode none a hit
 * takes no lock, so the levels should cost nothing there; mode exclusive pays on every read's
 * i_mutex, mode shared on every read's i_rwsem.
 */
async function lockStatsCostCells(run: BenchRun, eng: Engine, mode: Mode, rec: Repeats): Promise<void> {
  const { o, ui } = run;
  const before = eng.lockStatsLevel;
  try {
    for (const threads of o.threads.cached) {
      for (const level of COST_LEVELS) {
        ui.cell(`lock-stats cost: cached-${mode}-${threads}t at ${level}`);
        eng.setLockStatsLevel(level);
        const out = await runCell(run.pool, {
          readers: threads,
          read: { role: 'read', kind: 'dioread', desc: eng.share(), fileName: BENCH_FILE, direct: false, regionIos: run.readIos, blockSize: o.blockSize, sampleEvery: SAMPLE_EVERY.cached },
          writers: 0,
          seconds: o.seconds,
          rampSeconds: o.rampSeconds,
        });
        rec.addCost(mode, threads, level, ioStats(out.reads, out.seconds, SAMPLE_EVERY.cached).iops, out.otherCpuBusy);
        ui.done();
      }
    }
  } finally {
    eng.setLockStatsLevel(before);
  }
}
