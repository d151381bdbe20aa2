// The text report printed after a run: per (workload, writers) panel a table of read IOPS (median of
// the repeats and their spread) per mode and per peer with each mode against exclusive, then p99
// completion latency, inode-lock waits and writer IOPS; per workload a memory table; then the
// targets. fio counterpart: fio's end-of-run summary (per group: IOPS, BW, clat percentiles).
import { alignColumns, fmtBytes, fmtIops, fmtNs, fmtRatio } from './format.js';
import { SPREAD_MARK, type Mode, type Workload } from './options.js';
import { percentileKey } from './latency.js';
import type { Baseline, BenchReport, Job } from './report.js';
import { SKEW_BUSY, isSkewed, type TargetResult } from './targets.js';

const SKEW_MARK = '!';
const SPREAD_SIGN = '~';

/** The config fields the table reads. */
type TableConfig = { seconds: number; repeat?: number; block_size: number; file_mib: number; workloads: Workload[]; writers: number[]; modes: Mode[] };

/** What the marks under the tables explain. */
interface Marks {
  skewed: boolean;
  spread: boolean;
}

/** Median IOPS of a cell with its spread when it ran more than once, marked when spread or skewed. */
function iopsCell(x: Job | Baseline | undefined, marks: Marks): string {
  if (!x) return '-';
  const n = x.repeats?.length ?? 1;
  const wide = (x.read_iops_spread ?? 0) > SPREAD_MARK;
  const skew = isSkewed(x);
  marks.spread ||= wide;
  marks.skewed ||= skew;
  const spread = n > 1 ? ` ${Math.round((x.read_iops_spread ?? 0) * 100)}%` : '';
  return `${fmtIops(x.read.iops)}${spread}${wide ? SPREAD_SIGN : ''}${skew ? SKEW_MARK : ''}`;
}

export function formatReport(r: BenchReport, targets: TargetResult[]): string {
  const lines: string[] = [];
  const marks: Marks = { skewed: false, spread: false };
  const cfg = r.config as TableConfig;
  const repeat = cfg.repeat ?? 1;
  const each = repeat > 1 ? `, each cell ${repeat} times (median and spread of the repeats, (max - min) / median)` : '';
  lines.push(`dioread bench (${r.version}): ${cfg.block_size}-byte random reads over ${cfg.file_mib} MiB, ${cfg.seconds} s per cell${each}`);
  for (const w of cfg.workloads) {
    if (w === 'async') {
      lines.push(...asyncLines(r, cfg, marks));
      continue;
    }
    for (const writers of cfg.writers) lines.push(...panelLines(r, cfg, w, writers, marks));
    lines.push(...memoryLines(r, cfg, w));
  }
  if (marks.spread || marks.skewed) lines.push('');
  if (marks.spread) lines.push(`${SPREAD_SIGN} the repeats of that cell spread more than ${SPREAD_MARK * 100}% (read_iops_spread in the JSON): treat its median with care, or rerun with more --repeat or longer --seconds`);
  if (marks.skewed) lines.push(`${SKEW_MARK} other processes used more than ${SKEW_BUSY * 100}% of the CPUs during a repeat of that cell (other_cpu_busy in the JSON): its figure is skewed; rerun on a quiet machine`);
  if (r.lock_stats_cost && r.lock_stats_cost.length > 0) lines.push(...lockStatsCostLines(r.lock_stats_cost));
  const skipped = (r.config as { baselines_skipped?: Array<{ name: string; reason: string }> }).baselines_skipped ?? [];
  for (const s of skipped) lines.push(`\npeer ${s.name} skipped: ${s.reason}`);
  lines.push(...targetLines(targets));
  return lines.join('\n');
}

/** Ratio columns: each mode that is not 'exclusive' against 'exclusive', when both ran. */
function ratioModes(modes: Mode[]): Mode[] {
  return modes.includes('exclusive') ? modes.filter((m) => m !== 'exclusive') : [];
}

/** A panel's cells: its jobs, the peers of its workload, its thread counts. */
interface Panel {
  w: Workload;
  writers: number;
  jobs: Job[];
  peers: string[];
  threads: number[];
  by: (m: Mode, t: number) => Job | undefined;
  peer: (name: string, t: number) => Baseline | undefined;
}

function panelOf(r: BenchReport, w: Workload, writers: number): Panel {
  const jobs = r.jobs.filter((j) => j.workload === w && j.writers === writers);
  return {
    w,
    writers,
    jobs,
    peers: [...new Set(r.baselines.filter((b) => b.workload === w).map((b) => b.name))],
    threads: [...new Set(jobs.map((j) => j.threads))].sort((a, b) => a - b),
    by: (m, t) => jobs.find((j) => j.threads === t && j.mode === m),
    peer: (name, t) => r.baselines.find((x) => x.name === name && x.workload === w && x.threads === t),
  };
}

/**
 * One panel (a workload with a number of writers): read IOPS per mode and per peer with each mode
 * against exclusive; under it p99 per mode, the inode-lock waits of the locking modes, inode-mutex
 * reads in mode none, and writer IOPS. No lines when no cell ran.
 */
function panelLines(r: BenchReport, cfg: TableConfig, w: Workload, writers: number, marks: Marks): string[] {
  const p = panelOf(r, w, writers);
  if (p.jobs.length === 0) return [];
  const lines = ['', `${w} · ${writers} writer${writers === 1 ? '' : 's'} — read IOPS${w === 'direct' ? ' (O_DIRECT)' : ' (page-cache hits)'}`];
  const iops: string[][] = [['threads', ...cfg.modes, ...ratioModes(cfg.modes).map((m) => `${m}/exclusive`), ...p.peers]];
  for (const t of p.threads) {
    const excl = p.by('exclusive', t);
    const ratios = ratioModes(cfg.modes).map((m) => {
      const x = p.by(m, t);
      return fmtRatio(excl && x ? x.read.iops / excl.read.iops : null);
    });
    iops.push([String(t), ...cfg.modes.map((m) => iopsCell(p.by(m, t), marks)), ...ratios, ...p.peers.map((name) => iopsCell(p.peer(name, t), marks))]);
  }
  lines.push(...alignColumns(iops).map((l) => `  ${l}`));
  lines.push(...latencyLines(cfg, p).map((l) => `  ${l}`));
  return lines;
}

/** The panel's second table: p99 per mode, lock waits, inode-mutex reads of mode none, writer IOPS. */
function latencyLines(cfg: TableConfig, p: Panel): string[] {
  const p99 = percentileKey(99);
  const head = ['threads', ...cfg.modes.map((m) => `p99 ${m}`)];
  if (cfg.modes.includes('exclusive')) head.push('i_mutex wait (exclusive)');
  if (cfg.modes.includes('shared')) head.push('i_rwsem wait (shared)');
  if (cfg.modes.includes('none')) head.push('i_mutex reads (none)');
  if (p.writers > 0) head.push(...cfg.modes.map((m) => `writes/s ${m}`));
  const rows: string[][] = [head];
  for (const t of p.threads) {
    const row = [String(t), ...cfg.modes.map((m) => fmtNs(p.by(m, t)?.read.clat_ns.percentile[p99]))];
    if (cfg.modes.includes('exclusive')) row.push(waitCell(p.by('exclusive', t), ['i_mutex']));
    if (cfg.modes.includes('shared')) row.push(waitCell(p.by('shared', t), ['i_rwsem-R', 'i_rwsem-W']));
    if (cfg.modes.includes('none')) {
      const none = p.by('none', t);
      row.push(none ? String(none.locks.i_mutex.points.read?.acquisitions ?? 0) : '-');
    }
    if (p.writers > 0) row.push(...cfg.modes.map((m) => fmtIops(p.by(m, t)?.write.iops)));
    rows.push(row);
  }
  return ['', ...alignColumns(rows)];
}

/**
 * The async workload: read IOPS per mode and per peer at each iodepth (one event loop), mode none
 * against each peer, p99 per mode, the route mode none's reads took, and the process's RSS.
 */
function asyncLines(r: BenchReport, cfg: TableConfig, marks: Marks): string[] {
  const jobs = r.jobs.filter((j) => j.workload === 'async');
  if (jobs.length === 0) return [];
  const peers = [...new Set(r.baselines.filter((b) => b.workload === 'async').map((b) => b.name))];
  const depths = [...new Set(jobs.map((j) => j.iodepth ?? 1))].sort((a, b) => a - b);
  const by = (m: Mode, d: number) => jobs.find((j) => j.mode === m && j.iodepth === d);
  const peer = (name: string, d: number) => r.baselines.find((b) => b.name === name && b.workload === 'async' && b.iodepth === d);
  const p99 = percentileKey(99);
  const lines = ['', 'async · reads in flight from one event loop — read IOPS (O_DIRECT; FileHandle.read on a direct handle)'];
  const rows: string[][] = [['iodepth', ...cfg.modes, ...peers, ...peers.map((p) => `none/${p}`)]];
  for (const d of depths) {
    const none = by('none', d);
    const ratios = peers.map((p) => {
      const b = peer(p, d);
      return fmtRatio(none && b && b.read.iops > 0 ? none.read.iops / b.read.iops : null);
    });
    rows.push([String(d), ...cfg.modes.map((m) => iopsCell(by(m, d), marks)), ...peers.map((p) => iopsCell(peer(p, d), marks)), ...ratios]);
  }
  lines.push(...alignColumns(rows).map((l) => `  ${l}`));
  const lat: string[][] = [['iodepth', ...cfg.modes.map((m) => `p99 ${m}`), ...cfg.modes.map((m) => `route ${m}`), 'RSS none']];
  for (const d of depths) {
    lat.push([String(d), ...cfg.modes.map((m) => fmtNs(by(m, d)?.read.clat_ns.percentile[p99])), ...cfg.modes.map((m) => by(m, d)?.aio_route ?? '-'), fmtBytes(by('none', d)?.memory.rss_bytes)]);
  }
  lines.push('', ...alignColumns(lat).map((l) => `  ${l}`));
  return lines;
}

/** A lock's total wait in a cell (ns, summed over threads), "not timed" under counters, "-" when the cell did not run. */
function waitCell(job: Job | undefined, classes: string[]): string {
  if (!job) return '-';
  const waits = classes.map((c) => (c === 'i_mutex' ? job.locks.i_mutex : job.locks.other[c])?.['waittime-total'] ?? (job.locks.stats_level === 'timing' ? 0 : null));
  if (waits.some((x) => x === null)) return 'not timed';
  return fmtNs(waits.reduce((s: number, x) => s + (x ?? 0), 0));
}

/**
 * Memory of a workload's cells without writers: the process's RSS per mode and per peer, the
 * configuration's shared memory, and per reader thread its heap and its own shared bytes.
 */
function memoryLines(r: BenchReport, cfg: TableConfig, w: Workload): string[] {
  const p = panelOf(r, w, Math.min(...cfg.writers));
  const any = p.jobs.find((j) => j.memory);
  if (!any) return [];
  const peers = p.peers.filter((name) => p.threads.some((t) => p.peer(name, t)?.memory));
  const head = ['threads', ...cfg.modes.map((m) => `RSS ${m}`), ...peers.map((n) => `RSS ${n}`), 'reader heap', 'reader shared'];
  const rows: string[][] = [head];
  for (const t of p.threads) {
    const jobs = cfg.modes.map((m) => p.by(m, t));
    const heaps = jobs.filter((j): j is Job => !!j).map((j) => j.memory.reader_heap_bytes);
    rows.push([String(t), ...jobs.map((j) => fmtBytes(j?.memory.rss_bytes)), ...peers.map((n) => fmtBytes(p.peer(n, t)?.memory?.rss_bytes)), fmtBytes(heaps.length ? Math.max(...heaps) : null), fmtBytes(any.memory.reader_shared_bytes)]);
  }
  const lines = ['', `${w} · memory (${p.writers} writers): process RSS during the window; engine shared memory ${fmtBytes(any.memory.shared_bytes)} per mode; per reader thread its V8 heap and the shared bytes it owns`];
  lines.push(...alignColumns(rows).map((l) => `  ${l}`));
  return lines;
}

/** The --lock-stats-cost table: cached read IOPS per level and what counters and timing cost against off. */
function lockStatsCostLines(cells: NonNullable<BenchReport['lock_stats_cost']>): string[] {
  const lines = ['', 'lock statistics cost — cached read IOPS at each level, medians (aims: counters cost <= 5%, timing <= 15% of read throughput)'];
  const rows: string[][] = [['mode', 'threads', 'off', 'counters', 'timing', 'counters cost', 'timing cost']];
  for (const key of [...new Set(cells.map((c) => `${c.mode}|${c.threads}`))]) {
    const [mode, t] = key.split('|');
    const at = (level: string) => cells.find((c) => c.mode === mode && String(c.threads) === t && c.level === level);
    const pct = (level: string) => {
      const c = at(level);
      return c ? `${(c.cost_vs_off * 100).toFixed(1)}%` : '-';
    };
    rows.push([mode, t, fmtIops(at('off')?.read_iops), fmtIops(at('counters')?.read_iops), fmtIops(at('timing')?.read_iops), pct('counters'), pct('timing')]);
  }
  lines.push(...alignColumns(rows).map((l) => `  ${l}`));
  return lines;
}

/**
 * The targets table: each ratio against its target and aim, met, missed or not run. A target
 * between mode none and a peer run beside it is the median of the rounds' ratios, with their range.
 */
function targetLines(targets: TargetResult[]): string[] {
  const lines = ['', 'targets (ratios of median read IOPS in this run; against a peer run beside mode none, the median of the rounds\' ratios, with their range; benchmark targets, not tests):'];
  const rows: string[][] = [['', 'measured', 'rounds', 'target', 'aim', '']];
  for (const t of targets) {
    const notes = [t.skewed ? `${SKEW_MARK} skewed` : '', t.spread ? `${SPREAD_SIGN} spread` : ''].filter((x) => x).join(', ');
    const range = t.rounds ? `${fmtRatio(Math.min(...t.rounds))}-${fmtRatio(Math.max(...t.rounds))}` : '';
    rows.push([t.what, fmtRatio(t.ratio), range, `>= ${t.min}x`, t.aim ? `${t.aim}x` : '', t.met === null ? 'not run' : `${t.met ? 'met' : 'MISSED'}${notes ? ` (${notes})` : ''}`]);
  }
  lines.push(...alignColumns(rows).map((l) => `  ${l}`));
  return lines;
}
