// The benchmark's targets: ratios of two cells' read IOPS (a mode against a peer, or against another
// mode), computed from one run's report. Printed with the table; no test asserts them.
// No fio counterpart.
import { SPREAD_MARK, type BaselineName, type Mode, type Workload } from './options.js';
import { medianOf } from './report.js';
import type { BenchReport } from './report.js';

export interface TargetResult {
  what: string;
  /** measured ratio, or null when a cell it needs was not run */
  ratio: number | null;
  min: number;
  aim?: number;
  met: boolean | null;
  /** the two figures divided (the cells' medians) */
  numerator: number | null;
  denominator: number | null;
  /** numerator / denominator: the ratio of the medians */
  ratioOfMedians: number | null;
  /**
   * When the two cells ran back to back in every round (a peer beside mode none: bench/run.ts), the
   * ratio of each round's pair; `ratio` is then their median and `spread` is theirs. Else null.
   */
  rounds: number[] | null;
  /** other processes used more than SKEW_BUSY of the CPUs during a repeat of one of the two cells */
  skewed: boolean;
  /** the repeats of one of the two cells spread more than SPREAD_MARK */
  spread: boolean;
}

/** Share of the CPUs other processes may use during a cell before its figure counts as skewed. */
export const SKEW_BUSY = 0.1;

type Ref = { job: { workload: Workload; mode: Mode; threads: number; writers: number; iodepth?: number } } | { baseline: { name: BaselineName; workload: Workload; threads: number; iodepth?: number } };

type Cell = { read: { iops: number }; other_cpu_busy: number | null; read_iops_spread?: number; repeats?: Array<{ read: { iops: number }; other_cpu_busy: number | null }> };

function cellOf(r: BenchReport, ref: Ref): Cell | undefined {
  if ('job' in ref) {
    return r.jobs.find((x) => x.workload === ref.job.workload && x.mode === ref.job.mode && x.threads === ref.job.threads && x.writers === ref.job.writers && x.iodepth === ref.job.iodepth);
  }
  return r.baselines.find((x) => x.name === ref.baseline.name && x.workload === ref.baseline.workload && x.threads === ref.baseline.threads && x.iodepth === ref.baseline.iodepth);
}

/** Other processes used more than SKEW_BUSY of the CPUs during the cell (during any of its repeats). */
export function isSkewed(x: { other_cpu_busy: number | null; repeats?: Array<{ other_cpu_busy: number | null }> } | undefined): boolean {
  if (!x) return false;
  const busy = (b: number | null) => b !== null && b > SKEW_BUSY;
  return x.repeats && x.repeats.length > 0 ? x.repeats.some((rep) => busy(rep.other_cpu_busy)) : busy(x.other_cpu_busy);
}

function isSpread(x: Cell | undefined): boolean {
  return !!x && (x.read_iops_spread ?? 0) > SPREAD_MARK;
}

const job = (workload: Workload, mode: Mode, threads: number, writers: number): Ref => ({ job: { workload, mode, threads, writers } });
const peer = (name: BaselineName, workload: Workload, threads: number): Ref => ({ baseline: { name, workload, threads } });

interface Target {
  what: string;
  num: Ref;
  den: Ref;
  min: number;
  aim?: number;
}

/** The thread counts of the direct cells in the run (the default list when there were none). */
function directThreads(r: BenchReport): number[] {
  const ts = [...new Set(r.jobs.filter((j) => j.workload === 'direct').map((j) => j.threads))].sort((a, b) => a - b);
  return ts.length > 0 ? ts : [1, 2, 4, 8, 16];
}

/**
 * The targets: what mode none (dioread_nolock) must reach against the copy, the OS and raw I/O;
 * what the locking modes show against it (shared readers share: about none's figure when no writer
 * runs); each a ratio of two cells' read IOPS.
 */
function targets(r: BenchReport): Target[] {
  const list: Target[] = [
    { what: 'cached, 1 thread: none / sab-memcpy', num: job('cached', 'none', 1, 0), den: peer('sab-memcpy', 'cached', 1), min: 0.85 },
    { what: 'cached, 1 thread: none / node-fs', num: job('cached', 'none', 1, 0), den: peer('node-fs', 'cached', 1), min: 0.9, aim: 1.2 },
    { what: 'cached, 2 threads + 1 writer: none / exclusive', num: job('cached', 'none', 2, 1), den: job('cached', 'exclusive', 2, 1), min: 1.5 },
    { what: 'cached none: 2 threads / 1 thread', num: job('cached', 'none', 2, 0), den: job('cached', 'none', 1, 0), min: 1.6 },
    { what: 'direct, 8 threads: none / exclusive', num: job('direct', 'none', 8, 0), den: job('direct', 'exclusive', 8, 0), min: 2.5 },
    { what: 'direct, 8 threads: shared / exclusive', num: job('direct', 'shared', 8, 0), den: job('direct', 'exclusive', 8, 0), min: 2.5 },
    { what: 'direct, 8 threads: shared / none', num: job('direct', 'shared', 8, 0), den: job('direct', 'none', 8, 0), min: 0.9 },
  ];
  for (const t of directThreads(r)) {
    list.push({ what: `direct, ${t} thread${t === 1 ? '' : 's'}: none / fio psync ${t} job${t === 1 ? '' : 's'}`, num: job('direct', 'none', t, 0), den: peer('fio', 'direct', t), min: 0.95 });
  }
  for (const t of directThreads(r)) {
    list.push({ what: `direct, ${t} thread${t === 1 ? '' : 's'}: none / node-fs-direct`, num: job('direct', 'none', t, 0), den: peer('node-fs-direct', 'direct', t), min: 1.0 });
  }
  // One event loop, many reads in flight: near the device's own limit, well past plain Node.
  const d = deepest(r);
  list.push({ what: `async, iodepth ${d}: none / fio io_uring iodepth ${d}`, num: asyncJob('none', d), den: asyncPeer('fio-uring', d), min: 0.9 });
  list.push({ what: `async, iodepth ${d}: none / node:fs/promises (Node's defaults)`, num: asyncJob('none', d), den: asyncPeer('node-fs-promises', d), min: 1.3 });
  const ran = (r.config as { workloads?: Workload[] }).workloads;
  return ran ? list.filter((t) => ran.includes(('job' in t.num ? t.num.job : t.num.baseline).workload)) : list;
}

const asyncJob = (mode: Mode, iodepth: number): Ref => ({ job: { workload: 'async', mode, threads: 1, writers: 0, iodepth } });
const asyncPeer = (name: BaselineName, iodepth: number): Ref => ({ baseline: { name, workload: 'async', threads: 1, iodepth } });

/** The iodepth the async targets are judged at: 64 when it ran, else the deepest that ran. */
function deepest(r: BenchReport): number {
  const ds = r.jobs.filter((j) => j.workload === 'async' && j.iodepth !== undefined).map((j) => j.iodepth!);
  return ds.includes(64) || ds.length === 0 ? 64 : Math.max(...ds);
}

/**
 * Did the two cells of `t` run back to back in each round? Mode none's cell with no writer and a
 * peer of its workload do when the report says its peers ran beside mode none (bench/run.ts).
 */
function ranInPairs(r: BenchReport, t: Target): boolean {
  if (!('job' in t.num) || !('baseline' in t.den)) return false;
  const j = t.num.job;
  if (j.mode !== 'none' || j.writers !== 0) return false;
  const beside = (r.config as { peers_beside_none?: { threads: boolean; async: boolean } }).peers_beside_none;
  return !!beside && (j.workload === 'async' ? beside.async : beside.threads);
}

/** Each round's ratio of two cells' repeats (repeat i of each ran in round i), or null when they do not pair up. */
function roundRatios(a: Cell | undefined, b: Cell | undefined): number[] | null {
  const ra = a?.repeats;
  const rb = b?.repeats;
  if (!ra || !rb || ra.length === 0 || ra.length !== rb.length || rb.some((x) => !(x.read.iops > 0))) return null;
  return ra.map((x, i) => x.read.iops / rb[i].read.iops);
}

export function evaluateTargets(r: BenchReport): TargetResult[] {
  return targets(r).map((t) => {
    const a = cellOf(r, t.num);
    const b = cellOf(r, t.den);
    const n = a ? a.read.iops : null;
    const d = b ? b.read.iops : null;
    const ratioOfMedians = n !== null && d !== null && d > 0 ? n / d : null;
    const rounds = ranInPairs(r, t) ? roundRatios(a, b) : null;
    // Back-to-back pairs: the median of their ratios, and their spread, say how the two compare
    // at the same moment; the ratio of medians mixes the moments of two cells run apart.
    const ratio = rounds ? medianOf(rounds) : ratioOfMedians;
    const spread = rounds ? ratio! > 0 && (Math.max(...rounds) - Math.min(...rounds)) / ratio! > SPREAD_MARK : isSpread(a) || isSpread(b);
    return { what: t.what, ratio, min: t.min, aim: t.aim, met: ratio === null ? null : ratio >= t.min, numerator: n, denominator: d, ratioOfMedians, rounds, skewed: isSkewed(a) || isSkewed(b), spread };
  });
}
