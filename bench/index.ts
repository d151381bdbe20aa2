// The benchmark as a module: the one entry the command line (cli/bench.ts) calls. It runs the
// read-scaling cells and their peers, and turns the results into the table, the targets and the
// chart. No ext4 counterpart (fio's role).
export { runBench } from './run.js';
export { makeProgress } from './progress.js';
export { formatReport } from './table.js';
export { evaluateTargets } from './targets.js';
export { chartMissing, renderSvg } from './chart.js';
export { BASELINES, DEFAULT_THREADS, LOCK_STATS_CHOICES, MODES, WORKLOADS, checkOptions, type BenchOptions } from './options.js';
