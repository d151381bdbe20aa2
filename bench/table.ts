// The text report printed after a run: a table per (workload, writers) panel — read IOPS per mode
// and per peer, each mode against exclusive, p99 completion latency, inode-lock waits, writer IOPS —
// then the targets.
// fio counterpart: fio's end-of-run summary (per group: IOPS, BW, clat percentiles).
import { alignColumns, fmtIops, fmtNs, fmtRatio } from './format.js';
import type { Mode, Workload } from './options.js';
import { percentileKey } from './latency.js';
import type { BenchReport, Job } from './report.js';
import { SKEW_BUSY, isSkewed, type TargetResult } from './targets.js';

const SKEW_MARK = '!';
const skewed = isSkewed;

/** IOPS of a cell, marked when other processes were busy during it. */
function iopsCell(x: { read: { iops: number }; other_cpu_busy: number | null } | undefined): string {
  return x ? `${fmtIops(x.read.iops)}${skewed(x) ? SKEW_MARK : ''}` : '-';
}

/** The config fields the table reads. */
type TableConfig = { seconds: number; block_size: number; file_mib: number; workloads: Workload[]; writers: number[]; modes: Mode[] };

export function formatReport(r: BenchReport, targets: TargetResult[]): string {
  const lines: string[] = [];
  let anySkewed = false;
  const cfg = r.config as TableConfig;
  lines.push(`dioread bench (${r.version}): ${cfg.block_size}-byte random reads over ${cfg.file_mib} MiB, ${cfg.seconds} s per cell`);
  for (const w of cfg.workloads) {
    for (const writers of cfg.writers) {
      const panel = panelLines(r, cfg, w, writers);
      lines.push(...panel.lines);
      anySkewed ||= panel.skewed;
    }
  }
  if (anySkewed) {
    lines.push('');
    lines.push(`${SKEW_MARK} other processes used more than ${SKEW_BUSY * 100}% of the CPUs during that cell (other_cpu_busy in the JSON): its figure is skewed; rerun on a quiet machine`);
  }
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

/**
 * One panel (a workload with a number of writers): a row per thread count with read IOPS per mode
 * and per peer, each mode against exclusive, p99 per mode, the inode-lock waits of the locking
 * modes, inode-mutex reads in mode none, writer IOPS. No lines when no cell ran; `skewed` when a
 * cell in it is marked.
 */
function panelLines(r: BenchReport, cfg: TableConfig, w: Workload, writers: number): { lines: string[]; skewed: boolean } {
  const jobs = r.jobs.filter((j) => j.workload === w && j.writers === writers);
  if (jobs.length === 0) return { lines: [], skewed: false };
  const peers = [...new Set(r.baselines.filter((b) => b.workload === w).map((b) => b.name))];
  const lines = ['', `${w} · ${writers} writer${writers === 1 ? '' : 's'} — read IOPS${w === 'direct' ? ' (O_DIRECT)' : ' (page-cache hits)'}`];
  const head = ['threads', ...cfg.modes, ...ratioModes(cfg.modes).map((m) => `${m}/exclusive`), ...peers, ...cfg.modes.map((m) => `p99 ${m}`)];
  if (cfg.modes.includes('exclusive')) head.push('i_mutex wait (exclusive)');
  if (cfg.modes.includes('shared')) head.push('i_rwsem wait (shared)');
  if (cfg.modes.includes('none')) head.push('i_mutex reads (none)');
  if (writers > 0) head.push(...cfg.modes.map((m) => `writes/s ${m}`));
  const rows: string[][] = [head];
  let skewedAny = false;
  const threads = [...new Set(jobs.map((j) => j.threads))].sort((a, b) => a - b);
  for (const t of threads) {
    const row = panelRow(r, cfg, jobs, peers, w, writers, t);
    rows.push(row.cells);
    skewedAny ||= row.skewed;
  }
  lines.push(...alignColumns(rows).map((l) => `  ${l}`));
  return { lines, skewed: skewedAny };
}

/** A lock's total wait in a cell (ns), "not timed" under counters, "-" when the cell did not run. */
function waitCell(job: Job | undefined, classes: string[]): string {
  if (!job) return '-';
  const waits = classes.map((c) => (c === 'i_mutex' ? job.locks.i_mutex : job.locks.other[c])?.['waittime-total'] ?? (job.locks.stats_level === 'timing' ? 0 : null));
  if (waits.some((x) => x === null)) return 'not timed';
  return fmtNs(waits.reduce((s: number, x) => s + (x ?? 0), 0));
}

/** The row of thread count `t` in a panel; `skewed` when one of its engine or peer cells is marked. */
function panelRow(r: BenchReport, cfg: TableConfig, jobs: Job[], peers: string[], w: Workload, writers: number, t: number): { cells: string[]; skewed: boolean } {
  const p99 = percentileKey(99);
  const by = (m: Mode): Job | undefined => jobs.find((j) => j.threads === t && j.mode === m);
  const row = [String(t), ...cfg.modes.map((m) => iopsCell(by(m)))];
  let anySkewed = cfg.modes.some((m) => skewed(by(m)));
  const excl = by('exclusive');
  for (const m of ratioModes(cfg.modes)) {
    const x = by(m);
    row.push(fmtRatio(excl && x ? x.read.iops / excl.read.iops : null));
  }
  for (const p of peers) {
    const b = r.baselines.find((x) => x.name === p && x.workload === w && x.threads === t);
    row.push(iopsCell(b));
    anySkewed ||= skewed(b);
  }
  row.push(...cfg.modes.map((m) => fmtNs(by(m)?.read.clat_ns.percentile[p99])));
  if (cfg.modes.includes('exclusive')) row.push(waitCell(excl, ['i_mutex']));
  if (cfg.modes.includes('shared')) row.push(waitCell(by('shared'), ['i_rwsem-R', 'i_rwsem-W']));
  if (cfg.modes.includes('none')) {
    const none = by('none');
    row.push(none ? String(none.locks.i_mutex.points.read?.acquisitions ?? 0) : '-');
  }
  if (writers > 0) row.push(...cfg.modes.map((m) => fmtIops(by(m)?.write.iops)));
  return { cells: row, skewed: anySkewed };
}

/** The --lock-stats-cost table: cached read IOPS per level and what counters and timing cost against off. */
function lockStatsCostLines(cells: NonNullable<BenchReport['lock_stats_cost']>): string[] {
  const lines = ['', 'lock statistics cost — cached read IOPS at each level (aims: counters cost <= 5%, timing <= 15% of read throughput)'];
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

/** The targets table: each ratio measured against its target and aim, met, missed or not run. */
function targetLines(targets: TargetResult[]): string[] {
  const lines = ['', 'targets (ratios of read IOPS in this run; benchmark targets, not tests):'];
  const rows: string[][] = [['', 'measured', 'target', 'aim', '']];
  for (const t of targets) {
    rows.push([t.what, fmtRatio(t.ratio), `>= ${t.min}x`, t.aim ? `${t.aim}x` : '', t.met === null ? 'not run' : `${t.met ? 'met' : 'MISSED'}${t.skewed ? ` (${SKEW_MARK} skewed)` : ''}`]);
  }
  lines.push(...alignColumns(rows).map((l) => `  ${l}`));
  return lines;
}
