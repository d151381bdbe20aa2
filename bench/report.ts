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

/**
 * Memory beside speed, for one repeat of a cell. RSS is the whole process's (every thread, and the
 * pages of shared memory it touched); the per-reader figures are what one more reader thread costs.
 */
export interface MemoryStats {
  /** Resident set of the process at the end of the window (bytes). */
  rss_bytes: number;
  /**
   * SharedArrayBuffer bytes of the configuration: the engine's (metadata words, page-cache frames
   * with every slot's bounce buffer, lock statistics, trace) or a peer's shared copy of the data.
   */
  shared_bytes: number;
  /** Per reader thread: its isolate's V8 heap (heapTotal at the end of its loop, mean over the readers). */
  reader_heap_bytes: number;
  /** Per reader thread: shared bytes that are its own (a dioread view's bounce buffer, lock-stat and trace rows, thread slot). */
  reader_shared_bytes: number;
}

/** One repeat of an engine cell: the figures of one measured window. */
export interface CellStats {
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
  memory: MemoryStats;
  /** Workload async: the route the engine's direct reads took (src/aio.ts: uring, libuv or pool). */
  aio_route?: string;
}

/**
 * An engine cell: its figures are those of its median repeat (by read IOPS; with an even number of
 * repeats the lower of the two middle ones), and `repeats` keeps every repeat in the order they ran.
 */
export interface Job extends CellStats {
  jobname: string;
  workload: Workload;
  mode: Mode;
  threads: number;
  writers: number;
  /** Reads in flight from the one reader (workload async only). */
  iodepth?: number;
  /** (max - min) / median of the repeats' read IOPS (0 with one repeat). */
  read_iops_spread: number;
  repeats: CellStats[];
}

/** One repeat of a peer at a thread count (or iodepth). */
export interface PeerStats {
  read: IoStats;
  usr_cpu: number;
  sys_cpu: number;
  other_cpu_busy: number | null;
  /** null for fio (its own processes). */
  memory: MemoryStats | null;
}

export interface Baseline extends PeerStats {
  name: BaselineName;
  workload: Workload;
  threads: number;
  iodepth?: number;
  read_iops_spread: number;
  repeats: PeerStats[];
}

/** One cell of the lock-statistics cost run: the same cached cell at one level (medians over the repeats). */
export interface LockStatsCostRow {
  mode: string;
  threads: number;
  level: 'off' | 'counters' | 'timing';
  read_iops: number;
  /** 1 - iops / iops at 'off' (0.05 = the level costs 5% of read throughput), from the medians. */
  cost_vs_off: number;
  /** The largest share of the CPUs other processes used during one of its repeats. */
  other_cpu_busy: number | null;
  read_iops_repeats: number[];
}

export interface BenchReport {
  version: string;
  config: Record<string, unknown>;
  jobs: Job[];
  baselines: Baseline[];
  /** Present with --lock-stats-cost. */
  lock_stats_cost?: LockStatsCostRow[];
}

/** The median repeat by read IOPS (the lower middle one for an even count) and the spread (max - min) / median. */
export function medianRepeat<T extends { read: { iops: number } }>(repeats: readonly T[]): { median: T; spread: number } {
  if (repeats.length === 0) throw new Error('bench: a cell with no repeat');
  const sorted = [...repeats].sort((a, b) => a.read.iops - b.read.iops);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  const lo = sorted[0].read.iops;
  const hi = sorted[sorted.length - 1].read.iops;
  return { median, spread: median.read.iops > 0 ? round3((hi - lo) / median.read.iops) : 0 };
}

/** The median of plain numbers (the lower middle one for an even count). */
export function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)];
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
