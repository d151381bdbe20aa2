// Guards issue 9's "figures people can trust" (not a DESIGN.md invariant: the benchmark's method):
// when a peer ran right after mode none's cell in every round, a target is the median of the
// rounds' ratios, not the ratio of two medians taken at other moments, and the ratios' own spread
// marks it; targets between cells that did not run back to back keep the ratio of medians.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateTargets } from '../bench/targets.js';
import type { BenchReport } from '../bench/report.js';

const cell = (iops: number[]) => ({
  read: { iops: [...iops].sort((a, b) => a - b)[Math.floor((iops.length - 1) / 2)] },
  other_cpu_busy: 0,
  read_iops_spread: 0,
  repeats: iops.map((x) => ({ read: { iops: x }, other_cpu_busy: 0 })),
});

/**
 * A direct run of 3 rounds: the disk slow in round 0, fast in round 1, in between in round 2. The
 * engine keeps pace with fio in rounds 0 and 1 and falls behind in round 2.
 */
function report(besideNone: boolean): BenchReport {
  return {
    version: 'dioread-test',
    config: { workloads: ['direct'], ...(besideNone ? { peers_beside_none: { threads: true, async: false } } : {}) },
    jobs: [
      { workload: 'direct', mode: 'none', threads: 1, writers: 0, ...cell([10_000, 20_000, 14_000]) },
      { workload: 'direct', mode: 'none', threads: 8, writers: 0, ...cell([40_000, 60_000, 50_000]) },
      { workload: 'direct', mode: 'exclusive', threads: 8, writers: 0, ...cell([10_000, 9_000, 30_000]) },
    ],
    baselines: [{ name: 'fio', workload: 'direct', threads: 1, ...cell([10_400, 21_000, 20_000]) }],
  } as unknown as BenchReport;
}

const fioTarget = (r: BenchReport) => evaluateTargets(r).find((t) => t.what === 'direct, 1 thread: none / fio psync 1 job')!;

test('a peer run beside mode none: the target is the median of the rounds\' ratios, marked by their spread', () => {
  const t = fioTarget(report(true));
  assert.deepEqual(t.rounds?.map((x) => x.toFixed(3)), ['0.962', '0.952', '0.700']);
  assert.equal(t.ratio!.toFixed(3), '0.952', 'median of the three rounds');
  assert.equal(t.ratioOfMedians!.toFixed(3), '0.700', '14,000 / 20,000: the medians come from different rounds');
  assert.equal(t.met, true, '0.952 >= 0.95');
  assert.equal(t.spread, true, 'the rounds range over 0.26x, more than 10% of 0.95x');
});

test('without pairs, and between cells that never ran back to back, the ratio of medians stands', () => {
  const t = fioTarget(report(false));
  assert.equal(t.rounds, null);
  assert.equal(t.ratio, t.ratioOfMedians);
  assert.equal(t.met, false);
  // Mode against mode: different engines, never back to back, even when peers were paired.
  const modes = evaluateTargets(report(true)).find((x) => x.what === 'direct, 8 threads: none / exclusive')!;
  assert.equal(modes.rounds, null);
  assert.equal(modes.ratio!.toFixed(3), '5.000', '50,000 / 10,000, not the median of 4, 6.67 and 1.67');
});
