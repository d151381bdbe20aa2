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

export async function runBench(o: BenchOptions, ui: BenchProgress): Promise<BenchReport> {
  checkOptions(o);
  const plan = planImage(o);
  const readIos = plan.readBytes / o.blockSize;
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
  // Other busy processes skew every figure (this machine may have as few as 2 cores): say so.
  const busyBefore = await otherCpuBusy(0.3);
  if (busyBefore !== null && busyBefore > 0.15) {
    ui.note(`warning: other processes kept ${(busyBefore * 100).toFixed(0)}% of the CPUs busy just before the run; the figures will be skewed`);
  }
  const peers = wanted.filter((b) => !skipped.some((s) => s.name === b));
  const poolPeers = peers.filter((b): b is PoolPeer => b !== 'fio');

  const costCells = o.lockStatsCost && o.workloads.includes('cached') ? o.threads.cached.length * o.modes.length * LEVELS.length : 0;
  const engineCells = o.workloads.reduce((s, w) => s + o.threads[w].length, 0) * o.modes.length * o.writers.length + costCells;
  const peerCells = peers.reduce((s, b) => s + o.threads[BASELINE_WORKLOAD[b]].length, 0);
  ui.start(engineCells + peerCells);

  const tmp = fs.mkdtempSync(path.join(o.dir, 'dioread-bench-'));
  // Ctrl-C: do not leave the temporary image behind (the threads die with the process).
  const onInterrupt = (): void => {
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const image = o.image ? path.resolve(o.image) : path.join(tmp, 'bench.img');
  const maxReaders = Math.max(...o.workloads.map((w) => Math.max(...o.threads[w])));
  const poolThreads = maxReaders + plan.maxWriters;
  const pool = new Piscina({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: poolThreads,
    maxThreads: poolThreads,
    idleTimeout: 2 ** 31 - 1,
  });
  const jobs: Job[] = [];
  const baselines: Baseline[] = [];
  const costRows: LockStatsCostRow[] = [];
  let runs: PhysicalRun[] = [];
  let span: PhysicalRun | null = null;
  let deviceDirect = false;
  const startedAt = new Date().toISOString();
  try {
    for (const [mi, mode] of o.modes.entries()) {
      const eng = await Engine.open({
        path: image,
        create: mi === 0,
        sizeBytes: plan.sizeBytes,
        cachePages: plan.cachePages,
        dioreadNolock: mode === 'nolock',
        maxThreads: plan.maxThreads,
        lockStats: 'counters',
      });
      try {
        if (mi === 0) {
          ui.cell('writing the bench file');
          await writeBenchFile(eng, plan, o.blockSize);
          runs = await physicalRuns(eng, plan.readBytes);
          deviceDirect = eng.deviceDirect;
          if (!deviceDirect && o.workloads.includes('direct')) {
            ui.note(`warning: ${o.dir} does not allow O_DIRECT; 'direct' cells read through the OS page cache (use --dir on a disk filesystem)`);
          }
        }
        for (const w of o.workloads) {
          await prepareWorkload(eng, pool, plan, w, ui);
          eng.setLockStatsLevel(lockLevel(o, w));
          for (const writers of o.writers) {
            for (const threads of o.threads[w]) {
              const name = jobName(w, mode, threads, writers);
              ui.cell(name);
              jobs.push(await engineCell(eng, pool, o, plan, readIos, w, mode, threads, writers));
              ui.done();
            }
          }
          if (o.lockStatsCost && w === 'cached') costRows.push(...(await lockStatsCostCells(eng, pool, o, readIos, mode, ui)));
        }
      } finally {
        await eng.close();
      }
    }
    span = runs.length ? fioSpan(runs) : null;
    if (runs.length > 1 && peers.some((b) => BASELINE_WORKLOAD[b] === 'direct')) {
      ui.note(`note: the bench file lies in ${runs.length} runs on the image; the direct peers read their whole span (${span!.sizeBytes} bytes)`);
    }
    for (const name of poolPeers) {
      const w = BASELINE_WORKLOAD[name];
      ui.cell(`${name}: setting up`);
      const source = await peerSource(name, tmp, plan.readBytes, o.blockSize, image, span);
      for (const threads of o.threads[w]) {
        ui.cell(`${name} ${threads}t`);
        baselines.push(await peerCell(pool, o, readIos, name, w, source, threads));
        ui.done();
      }
    }
    if (peers.includes('fio') && span) {
      for (const jobsN of o.threads.direct) {
        ui.cell(`fio ${jobsN} jobs`);
        const host0 = cpuSnapshot(); // fio's processes count as this process's children once reaped
        const r = await runFio(fioJob(o, image, span, jobsN));
        const other = otherBusy(host0, cpuSnapshot());
        baselines.push({ name: 'fio', workload: 'direct', threads: jobsN, read: r.read, usr_cpu: r.usr_cpu, sys_cpu: r.sys_cpu, other_cpu_busy: other });
        ui.done();
      }
    }
  } finally {
    await pool.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
    process.off('SIGINT', onInterrupt);
  }
  return {
    version: `dioread-${packageVersion()}`,
    config: {
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
      baselines_skipped: skipped,
      lock_stats: Object.fromEntries(o.workloads.map((w) => [w, lockLevel(o, w)])),
      sample_every: { ...Object.fromEntries(o.workloads.map((w) => [w, SAMPLE_EVERY[w]])), writer: WRITER_SAMPLE_EVERY },
      clock_overhead_ns: clockOverheadNs(),
      image: {
        path: image,
        removed: !o.image,
        size_bytes: plan.sizeBytes,
        device_direct: deviceDirect,
        cache_pages: plan.cachePages,
        file_bytes: plan.fileBytes,
        read_region_bytes: plan.readBytes,
        writer_region_bytes: plan.writerIos * o.blockSize,
        read_region_on_image: runs.map((x) => ({ offset_bytes: x.offsetBytes, size_bytes: x.sizeBytes })),
      },
      fio: fioVer === null ? null : { version: fioVer, command: span ? ['fio', ...fioArgs(fioJob(o, image, span, 8))].join(' ') : null },
      host: {
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? 'unknown',
        memory_bytes: os.totalmem(),
        other_cpu_busy_before_start: busyBefore,
      },
    },
    jobs,
    baselines,
    ...(o.lockStatsCost ? { lock_stats_cost: costRows } : {}),
  };
}

const LEVELS = ['off', 'counters', 'timing'] as const;

/**
 * What each lock-statistics level costs: the same cached cell (no writer) at 'off', 'counters' and
 * 'timing', one after the other on the same engine, reported against 'off'. In nolock mode a hit
 * takes no lock, so the levels should cost nothing there; lock mode pays on every read's i_mutex.
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
