// The read-scaling benchmark, start to end: plan the cells, make the temporary image and the bench
// file, then run rounds — each round runs every (workload, mode, writers, threads) cell on one
// engine per mode, then every peer — and return the fio-shaped report of the median repeats.
// fio counterpart: fio's main loop over the jobs of a job file (and a script repeating it).
import fs from 'node:fs';
import path from 'node:path';
import { Piscina } from 'piscina';
import { planImage, type ImagePlan } from './image.js';
import { otherCpuBusy } from './host.js';
import { directIoWorks } from './odirect.js';
import { BASELINE_WORKLOAD, checkOptions, threadWorkloads, type BaselineName, type BenchOptions, type Mode } from './options.js';
import { FIO_INSTALL_HINT, fioVersion } from './fio.js';
import { lmdbMissing } from './peers.js';
import type { BenchProgress } from './progress.js';
import type { BenchReport } from './report.js';
import { Repeats } from './repeats.js';
import { COST_LEVELS, engineRound, type BenchRun, type BesideNone, type EngineSetup } from './engine-cells.js';
import { peerCellsAt, peerRound, setUpPeers, type PeerSources } from './peer-cells.js';
import { asyncEngineCells, asyncPeerRound, asyncPeersAt } from './async-cells.js';
import type { Engine } from '../src/index.js';
import { packageVersion, reportConfig, type PeerPlan, type Skipped } from './report-config.js';

export { packageVersion, type Skipped };

export async function runBench(o: BenchOptions, ui: BenchProgress): Promise<BenchReport> {
  checkOptions(o);
  const plan = planImage(o);
  const peerPlan = await planPeers(o, ui);
  const busyBefore = await noteBusyHost(ui);
  ui.start(countCells(o, peerPlan.peers) * o.repeat);

  const tmp = fs.mkdtempSync(path.join(o.dir, 'dioread-bench-'));
  // Ctrl-C: do not leave the temporary image behind (the threads die with the process).
  const onInterrupt = (): void => {
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const image = o.image ? path.resolve(o.image) : path.join(tmp, 'bench.img');
  // Each peer runs right after mode none's cell it is compared with (same workload and thread
  // count, no writer; same iodepth), so the targets divide figures taken seconds apart: this
  // disk's speed drifts by a quarter from one second to the next (docs/BENCHMARKS.md, "Pairs").
  const pairs = o.modes.includes('none') && o.writers.includes(0);
  const run: BenchRun = { o, ui, plan, readIos: plan.readBytes / o.blockSize, tmp, image, pool: makePool(o, plan), warmups: [], pairs };
  const rec = new Repeats();
  const setup: EngineSetup = { runs: [], deviceDirect: false, sharedBytes: 0, slotSharedBytes: 0 };
  const startedAt = new Date().toISOString();
  try {
    let sources: PeerSources | null = null;
    const peersOf = async (): Promise<PeerSources> => (sources ??= await setUpPeers(run, peerPlan.peers, setup.runs));
    const beside: BesideNone | undefined = pairs ? async (w, threads, round) => peerCellsAt(run, rec, await peersOf(), w, threads, round) : undefined;
    const asyncBeside = async (iodepth: number): Promise<void> => {
      const s = await peersOf();
      if (s.span) await asyncPeersAt(run, rec, peerPlan.peers, s.span, iodepth);
    };
    const asyncCells = o.workloads.includes('async') ? (eng: Engine, mode: Mode) => asyncEngineCells(run, eng, mode, rec, setup, asyncBeside) : undefined;
    for (let round = 0; round < o.repeat; round++) {
      await engineRound(run, rec, setup, round, asyncCells, beside);
      const s = await peersOf();
      if (!pairs) await peerRound(run, rec, s, round);
      if (s.span && o.workloads.includes('async') && !o.modes.includes('none')) await asyncPeerRound(run, rec, peerPlan.peers, s.span);
    }
  } finally {
    await run.pool.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
    process.off('SIGINT', onInterrupt);
  }
  return {
    version: `dioread-${packageVersion()}`,
    config: reportConfig(run, peerPlan, setup, startedAt, busyBefore),
    jobs: rec.jobs(),
    baselines: rec.baselines(),
    ...(o.lockStatsCost ? { lock_stats_cost: rec.costRows() } : {}),
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
  const fios = wanted.filter((b) => b === 'fio' || b === 'fio-uring');
  const fioVer = fios.length > 0 ? fioVersion() : null;
  if (fioVer === null) for (const name of fios) skipped.push({ name, reason: FIO_INSTALL_HINT });
  if (wanted.includes('lmdb')) {
    const why = await lmdbMissing();
    if (why) skipped.push({ name: 'lmdb', reason: why });
  }
  fs.mkdirSync(o.dir, { recursive: true });
  const imageDir = o.image ? path.dirname(path.resolve(o.image)) : o.dir;
  if (!directIoWorks(imageDir)) {
    for (const name of wanted.filter((b) => BASELINE_WORKLOAD[b] !== 'cached' && !skipped.some((s) => s.name === b))) {
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

/** How many cells one round runs (the progress bar counts them): the engine's (and the lock-statistics cost cells), then the peers'. */
function countCells(o: BenchOptions, peers: BaselineName[]): number {
  const costCells = o.lockStatsCost && o.workloads.includes('cached') ? o.threads.cached.length * o.modes.length * COST_LEVELS.length : 0;
  const engineCells = threadWorkloads(o).reduce((s, w) => s + o.threads[w].length, 0) * o.modes.length * o.writers.length + costCells;
  const asyncCells = o.workloads.includes('async') ? o.iodepths.length * o.modes.length : 0;
  const peerCells = peers.reduce((s, b) => {
    const w = BASELINE_WORKLOAD[b];
    return s + (w === 'async' ? o.iodepths.length : o.threads[w].length);
  }, 0);
  return engineCells + asyncCells + peerCells;
}

/** The thread pool every cell runs on: as many threads as the largest cell's readers and writers, kept alive. */
function makePool(o: BenchOptions, plan: ImagePlan): Piscina {
  const maxReaders = Math.max(1, ...threadWorkloads(o).map((w) => Math.max(...o.threads[w])));
  const poolThreads = maxReaders + plan.maxWriters;
  return new Piscina({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: poolThreads,
    maxThreads: poolThreads,
    idleTimeout: 2 ** 31 - 1,
  });
}
