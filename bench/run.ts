// The read-scaling benchmark, start to end: plan the cells, make the temporary image and the bench
// file, run every (workload, mode, writers, threads) cell on one engine per mode, then the peers,
// and return the fio-shaped report. fio counterpart: fio's main loop over the jobs of a job file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { Engine } from '../src/index.js';
import { BENCH_FILE, physicalRuns, planImage, writeBenchFile, type ImagePlan, type PhysicalRun } from './image.js';
import { cpuSnapshot, otherBusy, otherCpuBusy } from './host.js';
import { clockOverheadNs } from './latency.js';
import { directIoWorks } from './odirect.js';
import { BASELINE_WORKLOAD, SAMPLE_EVERY, WRITER_SAMPLE_EVERY, checkOptions, type BaselineName, type BenchOptions, type Mode, type Workload } from './options.js';
import { FIO_INSTALL_HINT, fioArgs, fioVersion, runFio, type FioJob } from './fio.js';
import { lmdbMissing, makeCachedHostFile, makeLmdbEnv, makeSab } from './peers.js';
import type { BenchProgress } from './progress.js';
import { cpuPercent, ioStats, lockDelta, type Baseline, type BenchReport, type Job, type LockStatsCostRow } from './report.js';
import { runCell } from './run-cell.js';
import type { ReaderKind } from './tasks.js';

export interface Skipped {
  name: BaselineName;
  reason: string;
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** 'timing' costs two clock reads per lock pair: negligible next to a device read, not next to a cached one. */
function lockLevel(o: BenchOptions, w: Workload): 'counters' | 'timing' {
  if (o.lockStats !== 'auto') return o.lockStats;
  return w === 'direct' ? 'timing' : 'counters';
}

export function jobName(w: Workload, mode: Mode, threads: number, writers: number): string {
  return `${w}-${mode}-${threads}t-${writers}w`;
}

/** What every step of a run shares: the options, the image plan, where the image lies, the pool. */
interface BenchRun {
  o: BenchOptions;
  ui: BenchProgress;
  plan: ImagePlan;
  /** Blocks in the read region: readers read blocks [0, readIos) of the bench file. */
  readIos: number;
  /** The run's temporary directory: the image (unless --image) and the peers' files. */
  tmp: string;
  image: string;
  pool: Piscina;
}

/** The peers that run, those skipped and why, and fio's version (null when fio is not wanted or not installed). */
interface PeerPlan {
  peers: BaselineName[];
  skipped: Skipped[];
  fioVer: string | null;
}

/** What the engine's cells leave for the peers and the report. */
interface EngineResults {
  jobs: Job[];
  costRows: LockStatsCostRow[];
  /** Where the read region of the bench file lies on the image. */
  runs: PhysicalRun[];
  deviceDirect: boolean;
}

export async function runBench(o: BenchOptions, ui: BenchProgress): Promise<BenchReport> {
  checkOptions(o);
  const plan = planImage(o);
  const peerPlan = await planPeers(o, ui);
  const busyBefore = await noteBusyHost(ui);
  ui.start(countCells(o, peerPlan.peers));

  const tmp = fs.mkdtempSync(path.join(o.dir, 'dioread-bench-'));
  // Ctrl-C: do not leave the temporary image behind (the threads die with the process).
  const onInterrupt = (): void => {
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const image = o.image ? path.resolve(o.image) : path.join(tmp, 'bench.img');
  const run: BenchRun = { o, ui, plan, readIos: plan.readBytes / o.blockSize, tmp, image, pool: makePool(o, plan) };
  let engine: EngineResults = { jobs: [], costRows: [], runs: [], deviceDirect: false };
  const baselines: Baseline[] = [];
  let span: PhysicalRun | null = null;
  const startedAt = new Date().toISOString();
  try {
    engine = await engineCells(run);
    span = engine.runs.length ? fioSpan(engine.runs) : null;
    if (engine.runs.length > 1 && peerPlan.peers.some((b) => BASELINE_WORKLOAD[b] === 'direct')) {
      ui.note(`note: the bench file lies in ${engine.runs.length} runs on the image; the direct peers read their whole span (${span!.sizeBytes} bytes)`);
    }
    baselines.push(...(await poolPeerCells(run, peerPlan.peers, span)));
    if (peerPlan.peers.includes('fio') && span) baselines.push(...(await fioCells(run, span)));
  } finally {
    await run.pool.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
    process.off('SIGINT', onInterrupt);
  }
  return {
    version: `dioread-${packageVersion()}`,
    config: reportConfig(run, peerPlan, engine, span, startedAt, busyBefore),
    jobs: engine.jobs,
    baselines,
    ...(o.lockStatsCost ? { lock_stats_cost: engine.costRows } : {}),
  };
}

/**
 * Which peers run: the ones asked for whose workload runs, less fio when it is not installed, lmdb
 * when it does not load, and the direct peers when the image's filesystem refuses O_DIRECT. Notes
 * each one skipped.
 */
async function planPeers(o: BenchOptions, ui: BenchProgress): Promise<PeerPlan> {
  const skipped: Skipped[] = [];
  const wanted = o.baselines.filter((b) => o.workloads.includes(BASELINE_WORKLOAD[b]));
  const fioVer = wanted.includes('fio') ? fioVersion() : null;
  if (wanted.includes('fio') && fioVer === null) skipped.push({ name: 'fio', reason: FIO_INSTALL_HINT });
  if (wanted.includes('lmdb')) {
    const why = await lmdbMissing();
    if (why) skipped.push({ name: 'lmdb', reason: why });
  }
  fs.mkdirSync(o.dir, { recursive: true });
  const imageDir = o.image ? path.dirname(path.resolve(o.image)) : o.dir;
  if (!directIoWorks(imageDir)) {
    for (const name of wanted.filter((b) => BASELINE_WORKLOAD[b] === 'direct' && !skipped.some((s) => s.name === b))) {
      skipped.push({ name, reason: `the filesystem of ${imageDir} does not take O_DIRECT (use --dir on a disk filesystem)` });
    }
  }
  for (const s of skipped) ui.note(`skipping peer ${s.name}: ${s.reason}`);
  return { peers: wanted.filter((b) => !skipped.some((s) => s.name === b)), skipped, fioVer };
}

/** Other busy processes skew every figure (this machine may have as few as 2 cores): say so. Returns their share. */
async function noteBusyHost(ui: BenchProgress): Promise<number | null> {
  const busyBefore = await otherCpuBusy(0.3);
  if (busyBefore !== null && busyBefore > 0.15) {
    ui.note(`warning: other processes kept ${(busyBefore * 100).toFixed(0)}% of the CPUs busy just before the run; the figures will be skewed`);
  }
  return busyBefore;
}

/** How many cells the progress bar counts: the engine's (and the lock-statistics cost cells), then the peers'. */
function countCells(o: BenchOptions, peers: BaselineName[]): number {
  const costCells = o.lockStatsCost && o.workloads.includes('cached') ? o.threads.cached.length * o.modes.length * LEVELS.length : 0;
  const engineCells = o.workloads.reduce((s, w) => s + o.threads[w].length, 0) * o.modes.length * o.writers.length + costCells;
  const peerCells = peers.reduce((s, b) => s + o.threads[BASELINE_WORKLOAD[b]].length, 0);
  return engineCells + peerCells;
}

/** The thread pool every cell runs on: as many threads as the largest cell's readers and writers, kept alive. */
function makePool(o: BenchOptions, plan: ImagePlan): Piscina {
  const maxReaders = Math.max(...o.workloads.map((w) => Math.max(...o.threads[w])));
  const poolThreads = maxReaders + plan.maxWriters;
  return new Piscina({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: poolThreads,
    maxThreads: poolThreads,
    idleTimeout: 2 ** 31 - 1,
  });
}

/** Every engine cell: one engine per mode, all on the same image; the first one writes the bench file. */
async function engineCells(run: BenchRun): Promise<EngineResults> {
  const res: EngineResults = { jobs: [], costRows: [], runs: [], deviceDirect: false };
  for (const [mi, mode] of run.o.modes.entries()) {
    const eng = await Engine.open({
      path: run.image,
      create: mi === 0,
      sizeBytes: run.plan.sizeBytes,
      cachePages: run.plan.cachePages,
      readLocking: mode,
      maxThreads: run.plan.maxThreads,
      lockStats: 'counters',
    });
    try {
      if (mi === 0) await setUpBenchFile(run, eng, res);
      for (const w of run.o.workloads) await workloadCells(run, eng, mode, w, res);
    } finally {
      await eng.close();
    }
  }
  return res;
}

/** Write the bench file, and record where its read region lies and whether the device does O_DIRECT. */
async function setUpBenchFile(run: BenchRun, eng: Engine, res: EngineResults): Promise<void> {
  run.ui.cell('writing the bench file');
  await writeBenchFile(eng, run.plan, run.o.blockSize);
  res.runs = await physicalRuns(eng, run.plan.readBytes);
  res.deviceDirect = eng.deviceDirect;
  if (!res.deviceDirect && run.o.workloads.includes('direct')) {
    run.ui.note(`warning: ${run.o.dir} does not allow O_DIRECT; 'direct' cells read through the OS page cache (use --dir on a disk filesystem)`);
  }
}

/** The cells of one workload on one mode's engine: every (writers, threads), then the lock-statistics cost cells. */
async function workloadCells(run: BenchRun, eng: Engine, mode: Mode, w: Workload, res: EngineResults): Promise<void> {
  const { o, ui, pool } = run;
  await prepareWorkload(eng, pool, run.plan, w, ui);
  eng.setLockStatsLevel(lockLevel(o, w));
  for (const writers of o.writers) {
    for (const threads of o.threads[w]) {
      const name = jobName(w, mode, threads, writers);
      ui.cell(name);
      res.jobs.push(await engineCell(eng, pool, o, run.plan, run.readIos, w, mode, threads, writers));
      ui.done();
    }
  }
  if (o.lockStatsCost && w === 'cached') res.costRows.push(...(await lockStatsCostCells(eng, pool, o, run.readIos, mode, ui)));
}

/** The peers that run as threads on the pool, each over its own copy of the data (or the image's blocks). */
async function poolPeerCells(run: BenchRun, peers: BaselineName[], span: PhysicalRun | null): Promise<Baseline[]> {
  const { o, ui } = run;
  const out: Baseline[] = [];
  for (const name of peers.filter((b): b is PoolPeer => b !== 'fio')) {
    const w = BASELINE_WORKLOAD[name];
    ui.cell(`${name}: setting up`);
    const source = await peerSource(name, run.tmp, run.plan.readBytes, o.blockSize, run.image, span);
    for (const threads of o.threads[w]) {
      ui.cell(`${name} ${threads}t`);
      out.push(await peerCell(run.pool, o, run.readIos, name, w, source, threads));
      ui.done();
    }
  }
  return out;
}

/** fio over the image's span of the bench file, at each direct thread count (fio's jobs). */
async function fioCells(run: BenchRun, span: PhysicalRun): Promise<Baseline[]> {
  const out: Baseline[] = [];
  for (const jobsN of run.o.threads.direct) {
    run.ui.cell(`fio ${jobsN} jobs`);
    const host0 = cpuSnapshot(); // fio's processes count as this process's children once reaped
    const r = await runFio(fioJob(run.o, run.image, span, jobsN));
    const other = otherBusy(host0, cpuSnapshot());
    out.push({ name: 'fio', workload: 'direct', threads: jobsN, read: r.read, usr_cpu: r.usr_cpu, sys_cpu: r.sys_cpu, other_cpu_busy: other });
    run.ui.done();
  }
  return out;
}

/** The report's config block: what ran, on which image and host (docs/BENCHMARKS.md describes each field). */
function reportConfig(run: BenchRun, peerPlan: PeerPlan, engine: EngineResults, span: PhysicalRun | null, startedAt: string, busyBefore: number | null): Record<string, unknown> {
  const { o } = run;
  return {
    started_at: startedAt,
    workloads: o.workloads,
    threads: Object.fromEntries(o.workloads.map((w) => [w, o.threads[w]])),
    modes: o.modes,
    writers: o.writers,
    seconds: o.seconds,
    ramp_seconds: o.rampSeconds,
    file_mib: o.fileMib,
    block_size: o.blockSize,
    baselines: o.baselines,
    baselines_skipped: peerPlan.skipped,
    lock_stats: Object.fromEntries(o.workloads.map((w) => [w, lockLevel(o, w)])),
    sample_every: { ...Object.fromEntries(o.workloads.map((w) => [w, SAMPLE_EVERY[w]])), writer: WRITER_SAMPLE_EVERY },
    clock_overhead_ns: clockOverheadNs(),
    image: imageConfig(run, engine),
    fio: peerPlan.fioVer === null ? null : { version: peerPlan.fioVer, command: span ? ['fio', ...fioArgs(fioJob(o, run.image, span, 8))].join(' ') : null },
    host: hostConfig(busyBefore),
  };
}

/** The report's image block: the image, its cache, the bench file's regions and where they lie. */
function imageConfig(run: BenchRun, engine: EngineResults): Record<string, unknown> {
  const { o, plan } = run;
  return {
    path: run.image,
    removed: !o.image,
    size_bytes: plan.sizeBytes,
    device_direct: engine.deviceDirect,
    cache_pages: plan.cachePages,
    file_bytes: plan.fileBytes,
    read_region_bytes: plan.readBytes,
    writer_region_bytes: plan.writerIos * o.blockSize,
    read_region_on_image: engine.runs.map((x) => ({ offset_bytes: x.offsetBytes, size_bytes: x.sizeBytes })),
  };
}

/** The report's host block: Node, the OS, the CPUs, and how busy other processes kept them before the run. */
function hostConfig(busyBefore: number | null): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_bytes: os.totalmem(),
    other_cpu_busy_before_start: busyBefore,
  };
}

const LEVELS = ['off', 'counters', 'timing'] as const;

/**
 * What each lock-statistics level costs: the same cached cell (no writer) at 'off', 'counters' and
 * 'timing', one after the other on the same engine, reported against 'off'. In mode none a hit
 * takes no lock, so the levels should cost nothing there; mode exclusive pays on every read's
 * i_mutex, mode shared on every read's i_rwsem.
 */
async function lockStatsCostCells(eng: Engine, pool: Piscina, o: BenchOptions, readIos: number, mode: Mode, ui: BenchProgress): Promise<LockStatsCostRow[]> {
  const rows: LockStatsCostRow[] = [];
  const before = eng.lockStatsLevel;
  try {
    for (const threads of o.threads.cached) {
      let offIops = 0;
      for (const level of LEVELS) {
        ui.cell(`lock-stats cost: cached-${mode}-${threads}t at ${level}`);
        eng.setLockStatsLevel(level);
        const out = await runCell(pool, {
          readers: threads,
          read: { role: 'read', kind: 'dioread', desc: eng.share(), fileName: BENCH_FILE, direct: false, regionIos: readIos, blockSize: o.blockSize, sampleEvery: SAMPLE_EVERY.cached },
          writers: 0,
          seconds: o.seconds,
          rampSeconds: o.rampSeconds,
        });
        const iops = ioStats(out.reads, out.seconds, SAMPLE_EVERY.cached).iops;
        if (level === 'off') offIops = iops;
        rows.push({ mode, threads, level, read_iops: iops, cost_vs_off: offIops > 0 ? 1 - iops / offIops : 0, other_cpu_busy: out.otherCpuBusy });
        ui.done();
      }
    }
  } finally {
    eng.setLockStatsLevel(before);
  }
  return rows;
}

/** Cached cells need every page of the file in dioread's cache; direct cells need none of the read region. */
async function prepareWorkload(eng: Engine, pool: Piscina, plan: ImagePlan, w: Workload, ui: BenchProgress): Promise<void> {
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

async function engineCell(
  eng: Engine,
  pool: Piscina,
  o: BenchOptions,
  plan: ImagePlan,
  readIos: number,
  w: Workload,
  mode: Mode,
  threads: number,
  writers: number,
): Promise<Job> {
  const desc = eng.share();
  const timed = lockLevel(o, w) === 'timing';
  let before = eng.lockStats();
  let after = before;
  const out = await runCell(pool, {
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
    jobname: jobName(w, mode, threads, writers),
    workload: w,
    mode,
    threads,
    writers,
    read: ioStats(out.reads, out.seconds, SAMPLE_EVERY[w]),
    write: ioStats(out.writes, out.seconds, WRITER_SAMPLE_EVERY),
    locks: lockDelta(before, after, timed),
    usr_cpu: cpuPercent(out.cpuUserNs, out.seconds),
    sys_cpu: cpuPercent(out.cpuSystemNs, out.seconds),
    cpu_user_ns: Math.round(out.cpuUserNs),
    cpu_system_ns: Math.round(out.cpuSystemNs),
    other_cpu_busy: out.otherCpuBusy,
  };
}

/** The peers that run as threads on the pool (fio runs as its own processes). */
type PoolPeer = Exclude<BaselineName, 'fio'>;
type PeerSource = { sab: SharedArrayBuffer } | { path: string; offsetBytes?: number };

async function peerSource(name: PoolPeer, dir: string, bytes: number, blockSize: number, image: string, span: PhysicalRun | null): Promise<PeerSource> {
  switch (name) {
    case 'sab-memcpy':
      return { sab: makeSab(bytes, blockSize) };
    case 'node-fs':
      return { path: makeCachedHostFile(dir, bytes, blockSize) };
    case 'lmdb':
      return { path: await makeLmdbEnv(dir, bytes, blockSize) };
    case 'node-fs-direct':
      if (!span) throw new Error('bench: node-fs-direct needs the bench file on the image');
      return { path: image, offsetBytes: span.offsetBytes };
  }
}

async function peerCell(pool: Piscina, o: BenchOptions, readIos: number, name: PoolPeer, w: Workload, source: PeerSource, threads: number): Promise<Baseline> {
  const out = await runCell(pool, {
    readers: threads,
    read: { role: 'read', kind: name satisfies ReaderKind, ...source, regionIos: readIos, blockSize: o.blockSize, sampleEvery: SAMPLE_EVERY[w] },
    writers: 0,
    seconds: o.seconds,
    rampSeconds: o.rampSeconds,
  });
  return {
    name,
    workload: w,
    threads,
    read: ioStats(out.reads, out.seconds, SAMPLE_EVERY[w]),
    usr_cpu: cpuPercent(out.cpuUserNs, out.seconds),
    sys_cpu: cpuPercent(out.cpuSystemNs, out.seconds),
    other_cpu_busy: out.otherCpuBusy,
  };
}

function fioSpan(runs: PhysicalRun[]): PhysicalRun {
  const start = Math.min(...runs.map((r) => r.offsetBytes));
  const end = Math.max(...runs.map((r) => r.offsetBytes + r.sizeBytes));
  return { offsetBytes: start, sizeBytes: end - start };
}

function fioJob(o: BenchOptions, image: string, span: PhysicalRun, jobs: number): FioJob {
  return { image, offsetBytes: span.offsetBytes, sizeBytes: span.sizeBytes, blockSize: o.blockSize, jobs, seconds: o.seconds, rampSeconds: o.rampSeconds };
}
