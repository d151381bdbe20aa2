// The ratios issue 3 sets as targets, computed from one run's report. They are benchmark targets,
// printed with the table; no test asserts them. No fio counterpart.
import type { BaselineName, Mode, Workload } from './options.js';
import type { BenchReport } from './report.js';

export interface TargetResult {
  what: string;
  /** measured ratio, or null when a cell it needs was not run */
  ratio: number | null;
  min: number;
  aim?: number;
  met: boolean | null;
  /** the two figures divided */
  numerator: number | null;
  denominator: number | null;
  /** other processes used more than SKEW_BUSY of the CPUs during one of the two cells */
  skewed: boolean;
}

/** Share of the CPUs other processes may use during a cell before its figure counts as skewed. */
export const SKEW_BUSY = 0.1;

type Ref = { job: { workload: Workload; mode: Mode; threads: number; writers: number } } | { baseline: { name: BaselineName; workload: Workload; threads: number } };

function cellOf(r: BenchReport, ref: Ref): { read: { iops: number }; other_cpu_busy: number | null } | undefined {
  if ('job' in ref) {
    return r.jobs.find((x) => x.workload === ref.job.workload && x.mode === ref.job.mode && x.threads === ref.job.threads && x.writers === ref.job.writers);
  }
  return r.baselines.find((x) => x.name === ref.baseline.name && x.workload === ref.baseline.workload && x.threads === ref.baseline.threads);
}

export function isSkewed(x: { other_cpu_busy: number | null } | undefined): boolean {
  return !!x && x.other_cpu_busy !== null && x.other_cpu_busy > SKEW_BUSY;
}

const job = (workload: Workload, mode: Mode, threads: number, writers: number): Ref => ({ job: { workload, mode, threads, writers } });
const peer = (name: BaselineName, workload: Workload, threads: number): Ref => ({ baseline: { name, workload, threads } });

const TARGETS: Array<{ what: string; num: Ref; den: Ref; min: number; aim?: number }> = [
  { what: 'cached, 1 thread: nolock / sab-memcpy', num: job('cached', 'nolock', 1, 0), den: peer('sab-memcpy', 'cached', 1), min: 0.6, aim: 0.85 },
  { what: 'cached, 1 thread: nolock / node-fs', num: job('cached', 'nolock', 1, 0), den: peer('node-fs', 'cached', 1), min: 0.9, aim: 1.2 },
  { what: 'cached, 2 threads + 1 writer: nolock / lock', num: job('cached', 'nolock', 2, 1), den: job('cached', 'lock', 2, 1), min: 1.5 },
  { what: 'cached nolock: 2 threads / 1 thread', num: job('cached', 'nolock', 2, 0), den: job('cached', 'nolock', 1, 0), min: 1.6 },
  { what: 'direct, 8 threads: nolock / lock', num: job('direct', 'nolock', 8, 0), den: job('direct', 'lock', 8, 0), min: 2.5 },
  { what: 'direct, 8 threads: nolock / fio 8 jobs', num: job('direct', 'nolock', 8, 0), den: peer('fio', 'direct', 8), min: 0.8 },
];

export function evaluateTargets(r: BenchReport): TargetResult[] {
  return TARGETS.map((t) => {
    const a = cellOf(r, t.num);
    const b = cellOf(r, t.den);
    const n = a ? a.read.iops : null;
    const d = b ? b.read.iops : null;
    const ratio = n !== null && d !== null && d > 0 ? n / d : null;
    return { what: t.what, ratio, min: t.min, aim: t.aim, met: ratio === null ? null : ratio >= t.min, numerator: n, denominator: d, skewed: isSkewed(a) || isSkewed(b) };
  });
}
