// The benchmark's options, their defaults and their checks (no parsing of argv: src/cli/bench.ts
// does that with commander). fio counterpart: the job file's global section.

export const WORKLOADS = ['cached', 'direct', 'async'] as const;
export type Workload = (typeof WORKLOADS)[number];
/** The workloads whose cells are reader threads (async is one event loop with reads in flight). */
export type ThreadWorkload = Exclude<Workload, 'async'>;
export const THREAD_WORKLOADS: readonly ThreadWorkload[] = ['cached', 'direct'];
/**
 * The engine option readLocking, one engine per mode: 'exclusive' (readers take the inode mutex,
 * ext4 before the seed), 'shared' (the inode's rwsem shared, ext4 since 5.5 and XFS), 'none' (the
 * seed's dioread_nolock).
 */
export const MODES = ['exclusive', 'shared', 'none'] as const;
export type Mode = (typeof MODES)[number];
/** The older names the command line still takes: lock is exclusive, nolock is none. */
export const MODE_ALIASES: Readonly<Record<string, Mode>> = { lock: 'exclusive', nolock: 'none' };
export const BASELINES = ['sab-memcpy', 'node-fs', 'lmdb', 'node-fs-direct', 'fio', 'fio-uring', 'node-fs-promises'] as const;
export type BaselineName = (typeof BASELINES)[number];
export const LOCK_STATS_CHOICES = ['auto', 'counters', 'timing'] as const;
export type LockStatsChoice = (typeof LOCK_STATS_CHOICES)[number];

/** Which workload each peer belongs to: the cached peers read memory or the OS cache, fio the device. */
export const BASELINE_WORKLOAD: Record<BaselineName, Workload> = {
  'sab-memcpy': 'cached',
  'node-fs': 'cached',
  lmdb: 'cached',
  'node-fs-direct': 'direct',
  fio: 'direct',
  'fio-uring': 'async',
  'node-fs-promises': 'async',
};

export const DEFAULT_THREADS: Record<ThreadWorkload, number[]> = { cached: [1, 2], direct: [1, 2, 4, 8, 16] };
/** Reads in flight from one event loop, per async cell. */
export const DEFAULT_IODEPTHS = [1, 8, 32, 64];
export const MAX_IODEPTH = 1024;

export interface BenchOptions {
  workloads: Workload[];
  /** Thread counts per workload (--threads sets both). */
  threads: Record<ThreadWorkload, number[]>;
  /** Workload async: reads kept in flight from the main thread, one cell each. */
  iodepths: number[];
  modes: Mode[];
  writers: number[];
  /** Measured time per cell, and the unmeasured ramp before it. */
  seconds: number;
  /**
   * Every cell runs this many times, in rounds: each round runs every cell once, so a cell's
   * repeats are spread over the run. The report's figures are the median repeat's.
   */
  repeat: number;
  rampSeconds: number;
  /**
   * Before the first round, every reader thread of the pool runs each engine mode's read path
   * unmeasured for this long (cached: half; each pool peer at most 0.5 s), at the largest thread
   * count: each worker is its own V8 isolate, and 16 of them on 2 cores took seconds to get the
   * read path optimized, so the first repeats measured the JIT, not the reads.
   */
  warmupSeconds: number;
  /** Size of the region the readers read (the writers write past it). */
  fileMib: number;
  blockSize: number;
  baselines: BaselineName[];
  /** 'auto': 'timing' where the clock reads are negligible (direct), else 'counters'. */
  lockStats: LockStatsChoice;
  /**
   * Also run each cached cell of each mode (no writer) at every lock-statistics level (off,
   * counters, timing) and report what each level costs in read throughput (issue 4).
   */
  lockStatsCost: boolean;
  /** Directory for the temporary image and the peers' files. */
  dir: string;
  /** An image to use and keep (formatted when missing or empty) instead of a temporary one. */
  image?: string;
  /** Where the JSON and the SVG go. */
  jsonPath: string;
  svgPath: string;
  quiet: boolean;
}

/** Time one read in this many per workload (the writer: one write in WRITER_SAMPLE_EVERY). */
export const SAMPLE_EVERY: Record<Workload, number> = { cached: 64, direct: 1, async: 1 };
export const WRITER_SAMPLE_EVERY = 16;

export const MAX_THREADS_PER_CELL = 256;
export const MAX_WRITERS = 16;
export const MAX_REPEAT = 100;
/** A cell whose repeats' read IOPS spread more than this, (max - min) / median, is marked. */
export const SPREAD_MARK = 0.1;

/** The run's workloads whose cells are reader threads. */
export function threadWorkloads(o: Pick<BenchOptions, 'workloads'>): ThreadWorkload[] {
  return o.workloads.filter((w): w is ThreadWorkload => w !== 'async');
}

/** Throws an Error naming the bad value; returns the options unchanged when they hold. */
export function checkOptions(o: BenchOptions): BenchOptions {
  if (o.workloads.length === 0) throw new Error('bench: --workload lists no workload');
  if (o.modes.length === 0) throw new Error('bench: --modes lists no mode');
  for (const w of threadWorkloads(o)) {
    for (const t of o.threads[w]) {
      if (!Number.isSafeInteger(t) || t < 1 || t > MAX_THREADS_PER_CELL) throw new Error(`bench: thread count ${t} is outside 1..${MAX_THREADS_PER_CELL}`);
    }
  }
  for (const n of o.writers) {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_WRITERS) throw new Error(`bench: writer count ${n} is outside 0..${MAX_WRITERS}`);
  }
  for (const d of o.iodepths) {
    if (!Number.isSafeInteger(d) || d < 1 || d > MAX_IODEPTH) throw new Error(`bench: iodepth ${d} is outside 1..${MAX_IODEPTH}`);
  }
  if (o.workloads.includes('async') && o.iodepths.length === 0) throw new Error('bench: workload async needs at least one --iodepth');
  if (!(o.seconds > 0 && o.seconds <= 3600)) throw new Error(`bench: --seconds ${o.seconds} is outside (0, 3600]`);
  if (!Number.isSafeInteger(o.repeat) || o.repeat < 1 || o.repeat > MAX_REPEAT) throw new Error(`bench: --repeat ${o.repeat} is outside 1..${MAX_REPEAT}`);
  if (!(o.rampSeconds >= 0 && o.rampSeconds <= 600)) throw new Error(`bench: --ramp-seconds ${o.rampSeconds} is outside [0, 600]`);
  if (!(o.warmupSeconds >= 0 && o.warmupSeconds <= 600)) throw new Error(`bench: --warmup-seconds ${o.warmupSeconds} is outside [0, 600]`);
  if (!Number.isSafeInteger(o.fileMib) || o.fileMib < 1 || o.fileMib > 4096) throw new Error(`bench: --file-mib ${o.fileMib} is outside 1..4096`);
  const bs = o.blockSize;
  if (!Number.isSafeInteger(bs) || bs < 512 || bs > 1 << 20 || (bs & (bs - 1)) !== 0) {
    throw new Error(`bench: --block-size ${bs} must be a power of two from 512 to 1 MiB (O_DIRECT needs 512-byte multiples)`);
  }
  return o;
}
