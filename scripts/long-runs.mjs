// npm run soak / npm run fuzz: the long versions of the bounded crash, kill, fault, race and fuzz
// tests. The same test files as npm test, run with larger counts and deadlines through their
// environment knobs; each prints its counts (node:test diagnostics). No ext4 counterpart: this is
// the xfstests "soak" habit.
import { spawnSync } from 'node:child_process';

const HOUR = 3_600_000;
const runs = {
  soak: [
    ['kill-9-keeps-synced-data', { DIOREAD_KILL_ROUNDS: '1000', DIOREAD_KILL_DEADLINE_MS: String(4 * HOUR) }],
    ['crash-states-keep-synced-data', { DIOREAD_CRASH_SEEDS: '30', DIOREAD_CRASH_DEADLINE_MS: String(HOUR) }],
    ['log-wrap-never-replays-a-stale-prefix', { DIOREAD_WRAP_SEEDS: '200', DIOREAD_CRASH_DEADLINE_MS: String(HOUR) }],
    ['faults-are-reported-never-hidden', { DIOREAD_FAULT_RUNS: '1000000', DIOREAD_FAULT_DEADLINE_MS: String(2 * HOUR) }],
    ['truncate-races-readers', { DIOREAD_RACE_SECONDS: '120' }],
  ],
  fuzz: [
    ['fuzzed-images-are-refused-or-sane', { DIOREAD_FUZZ_IMAGES: String(Number(process.env.DIOREAD_FUZZ_IMAGES ?? 10000)), DIOREAD_FUZZ_DEADLINE_MS: String(24 * HOUR) }],
    ['fallocate-matches-linux', { DIOREAD_FALLOC_RUNS: '3000', DIOREAD_FALLOC_SEED: 'random' }],
    // Extent trees: 60000 steps from a random seed (the churning file and one grown 2-3 levels deep).
    ['extent-tree-matches-a-flat-map', { DIOREAD_TREE_STEPS: '60000', DIOREAD_TREE_SEED: 'random' }],
    // The node:fs differential: DIOREAD_DIFF_RUNS random sequences (40 take about 12 s on 2 idle cores).
    ['fs-differential', { DIOREAD_DIFF_RUNS: String(Number(process.env.DIOREAD_DIFF_RUNS ?? 20000)), DIOREAD_DIFF_DEADLINE_MS: String(Number(process.env.DIOREAD_DIFF_DEADLINE_MS ?? HOUR)) }],
  ],
};
const which = process.argv[2];
if (!(which in runs)) {
  console.error(`usage: node scripts/long-runs.mjs ${Object.keys(runs).join('|')}`);
  process.exit(2);
}
let failed = 0;
for (const [file, env] of runs[which]) {
  console.log(`\n== ${file} ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const r = spawnSync(process.execPath, ['scripts/run-tests.mjs', file], { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
