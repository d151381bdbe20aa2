// The benchmark's JSON, shaped like fio's --output-format=json: { version, config, jobs, baselines }.
// Each job's read/write block uses fio's names (iops, bw_bytes, io_bytes, runtime in ms, total_ios,
// clat_ns); docs/BENCHMARKS.md maps every field. fio counterpart: fio's JSON output (stat.c).
import type { LockStatRow } from '../src/index.js';
import { clatNs, mergeHistograms, type ClatNs } from './latency.js';
import type { BaselineName, Mode, Workload } from './options.js';
import type { ThreadResult } from './tasks.js';

export interface IoStats {
  io_bytes: number;
  bw_bytes: number;
  iops: number;
  /** ms, as fio. */
  runtime: number;
  total_ios: number;
  clat_ns: ClatNs;
  /** One I/O in this many was timed for clat_ns (1: all of them). Not in fio. */
  sampled_every?: number;
}

export interface LockDelta {
  acquisitions: number;
  contentions: number;
  /** ns; null when the cell ran with counters only (no clock reads in the lock path). */
  'waittime-total': number | null;
  'holdtime-total': number | null;
  /** Per operation: acquisitions and contentions of threads doing it. */
  points: Record<string, { acquisitions: number; contentions: number }>;
}

export interface JobLocks {
  stats_level: 'counters' | 'timing';
  i_mutex: LockDelta;
  /** Other lock classes taken during the window. */
  other: Record<string, LockDelta>;
}

export interface Job {
  jobname: string;
  workload: Workload;
  mode: Mode;
  threads: number;
  writers: number;
  read: IoStats;
  write: IoStats;
  locks: JobLocks;
  /** Process CPU over the window, percent of one CPU (fio's usr_cpu/sys_cpu), and in ns. */
  usr_cpu: number;
  sys_cpu: number;
  cpu_user_ns: number;
  cpu_system_ns: number;
  /** Share (0..1) of all CPUs other processes used during the window; null where unknown. */
  other_cpu_busy: number | null;
}

export interface Baseline {
  name: BaselineName;
  workload: Workload;
  threads: number;
  read: IoStats;
  usr_cpu: number;
  sys_cpu: number;
  other_cpu_busy: number | null;
}

/** One cell of the lock-statistics cost run: the same cached cell at one level. */
export interface LockStatsCostRow {
  mode: string;
  threads: number;
  level: 'off' | 'counters' | 'timing';
  read_iops: number;
  /** 1 - iops / iops at 'off' (0.05 = the level costs 5% of read throughput). */
  cost_vs_off: number;
  other_cpu_busy: number | null;
}

export interface BenchReport {
  version: string;
  config: Record<string, unknown>;
  jobs: Job[];
  baselines: Baseline[];
  /** Present with --lock-stats-cost. */
  lock_stats_cost?: LockStatsCostRow[];
}

/** fio's read (or write) block from the threads' results over a window of `seconds`. */
export function ioStats(results: readonly ThreadResult[], seconds: number, sampledEvery: number): IoStats {
  const ios = results.reduce((s, r) => s + r.ios, 0);
  const bytes = results.reduce((s, r) => s + r.bytes, 0);
  const h = mergeHistograms(results.map((r) => r.latencyHistogram));
  const clat = clatNs(h);
  h.destroy();
  const ok = seconds > 0 && results.length > 0;
  return {
    io_bytes: bytes,
    bw_bytes: ok ? Math.round(bytes / seconds) : 0,
    iops: ok ? round3(ios / seconds) : 0,
    runtime: Math.round(seconds * 1000),
    total_ios: ios,
    clat_ns: clat,
    sampled_every: sampledEvery,
  };
}

/** The difference of two lock_stat snapshots (after - before), i_mutex first. */
export function lockDelta(before: LockStatRow[], after: LockStatRow[], timed: boolean): JobLocks {
  const out: JobLocks = { stats_level: timed ? 'timing' : 'counters', i_mutex: emptyDelta(timed), other: {} };
  for (const a of after) {
    const b = before.find((r) => r.class === a.class);
    const d: LockDelta = {
      acquisitions: a.acquisitions - (b?.acquisitions ?? 0),
      contentions: a.contentions - (b?.contentions ?? 0),
      'waittime-total': timed ? Math.round(a['waittime-total'] - (b?.['waittime-total'] ?? 0)) : null,
      'holdtime-total': timed ? Math.round(a['holdtime-total'] - (b?.['holdtime-total'] ?? 0)) : null,
      points: {},
    };
    for (const [op, p] of Object.entries(a.points)) {
      const q = b?.points[op as keyof typeof b.points];
      const acq = p.acquisitions - (q?.acquisitions ?? 0);
      const cont = p.contentions - (q?.contentions ?? 0);
      if (acq !== 0 || cont !== 0) d.points[op] = { acquisitions: acq, contentions: cont };
    }
    if (a.class === 'i_mutex') out.i_mutex = d;
    else if (d.acquisitions !== 0 || d.contentions !== 0) out.other[a.class] = d;
  }
  return out;
}

function emptyDelta(timed: boolean): LockDelta {
  return { acquisitions: 0, contentions: 0, 'waittime-total': timed ? 0 : null, 'holdtime-total': timed ? 0 : null, points: {} };
}

/** CPU time over a window as fio's percent of one CPU. */
export function cpuPercent(ns: number, seconds: number): number {
  return seconds > 0 ? round3((ns / 1e9 / seconds) * 100) : 0;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
