// Guards the benchmark's output format (issue 3, and issue 9's repeats and memory): a tiny
// `dioread bench --repeat 2` run (every workload, mode, writer count and peer that is installed)
// writes fio-shaped JSON keeping every repeat, and an SVG. It checks shapes and self-consistency
// only — never how fast anything is (speed targets are not tests).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Baseline, BenchReport, IoStats, Job } from '../bench/report.js';

const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const PERCENTILE_KEYS = ['50.000000', '90.000000', '99.000000', '99.900000'];

function checkIo(io: IoStats, where: string): void {
  for (const k of ['io_bytes', 'bw_bytes', 'iops', 'runtime', 'total_ios'] as const) {
    assert.equal(typeof io[k], 'number', `${where}.${k}`);
    assert.ok(io[k] >= 0, `${where}.${k} >= 0`);
  }
  const c = io.clat_ns;
  for (const k of ['min', 'max', 'mean', 'stddev', 'N'] as const) assert.equal(typeof c[k], 'number', `${where}.clat_ns.${k}`);
  assert.deepEqual(Object.keys(c.percentile), PERCENTILE_KEYS, `${where}.clat_ns.percentile keys`);
  assert.equal(io.total_ios > 0, io.iops > 0, `${where}: iops and total_ios agree`);
  if (c.N > 0) {
    // fio reports a percentile as the upper edge of its histogram bucket (64 buckets per power of
    // two: up to 1/64 above the true value), so its p99.9 may sit a little above its exact max.
    const slack = where.startsWith('fio') ? 1 + 1 / 32 : 1;
    assert.ok(c.percentile['50.000000'] <= c.percentile['99.900000'] && c.percentile['99.900000'] <= c.max * slack, `${where}: clat_ns ordered (p50 ${c.percentile['50.000000']}, p99.9 ${c.percentile['99.900000']}, max ${c.max})`);
  }
}

/** A cell keeps both repeats; its figures are one of them (the median, by read IOPS), its spread theirs. */
function checkRepeats(cell: Job | Baseline, where: string): void {
  assert.equal(cell.repeats.length, 2, `${where}: both repeats kept`);
  cell.repeats.forEach((rep, i) => checkIo(rep.read, `${where}.repeats[${i}].read`));
  const iops = cell.repeats.map((rep) => rep.read.iops).sort((a, b) => a - b);
  assert.equal(cell.read.iops, iops[0], `${where}: the median of two is the lower repeat`);
  const spread = iops[0] > 0 ? (iops[1] - iops[0]) / iops[0] : 0;
  assert.ok(Math.abs(cell.read_iops_spread - spread) < 0.001, `${where}: read_iops_spread ${cell.read_iops_spread} is (max - min) / median ${spread}`);
  if (cell.memory) assert.ok(cell.memory.rss_bytes > 0, `${where}: RSS measured`);
}

test('dioread bench: a tiny repeated run writes fio-shaped JSON with every repeat, and an SVG chart', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dioread-bench-test-'));
  try {
    const json = path.join(dir, 'out.json');
    const svg = path.join(dir, 'out.svg');
    const args = [cli, 'bench', '--seconds', '0.1', '--ramp-seconds', '0.02', '--warmup-seconds', '0.05', '--threads', '1,2', '--writers', '0,1', '--file-mib', '1', '--repeat', '2', '--dir', dir, '--json', json, '--svg', svg, '--quiet'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `bench exited with ${r.status}: ${r.stderr}`);
    assert.match(r.stdout, /targets \(ratios of median read IOPS/);
    assert.match(r.stdout, /memory/);
    assert.ok(r.stdout.includes(json) && r.stdout.includes(svg), 'the output names where it wrote');

    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as BenchReport;
    assert.deepEqual(Object.keys(report), ['version', 'config', 'jobs', 'baselines']);
    assert.match(report.version, /^dioread-\d+\.\d+\.\d+/);
    // 2 workloads x 3 modes x 2 writer counts x 2 thread counts
    assert.equal(report.jobs.length, 24);
    // Per cell, no count is asserted: in a 0.1 s cell a lock-mode writer can legitimately be kept
    // off the inode mutex the whole time. Over the run, every kind of thread did some I/O.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    for (const w of ['cached', 'direct']) {
      for (const m of ['exclusive', 'shared', 'none']) {
        assert.ok(sum(report.jobs.filter((j) => j.workload === w && j.mode === m).map((j) => j.read.total_ios)) > 0, `${w}/${m}: reads were done`);
      }
    }
    assert.ok(sum(report.jobs.map((j) => j.write.total_ios)) > 0, 'the writers wrote');
    const lockReads = report.jobs.filter((j) => j.mode === 'exclusive').map((j) => j.locks.i_mutex.points.read?.acquisitions ?? 0);
    assert.ok(sum(lockReads) > 0, 'lock-mode reads take the inode mutex');
    for (const j of report.jobs) {
      assert.deepEqual(Object.keys(j).slice(0, 8), ['jobname', 'workload', 'mode', 'threads', 'writers', 'read', 'write', 'locks']);
      checkIo(j.read, `${j.jobname}.read`);
      checkIo(j.write, `${j.jobname}.write`);
      if (j.writers === 0) assert.equal(j.write.total_ios, 0);
      assert.equal(typeof j.locks.i_mutex.acquisitions, 'number');
      assert.ok('waittime-total' in j.locks.i_mutex, `${j.jobname}: i_mutex wait total present`);
      if (j.locks.stats_level === 'timing') assert.equal(typeof j.locks.i_mutex['waittime-total'], 'number');
      // DESIGN.md invariant 4, visible in the output: nolock readers never take the inode mutex.
      if (j.mode === 'none') assert.equal(j.locks.i_mutex.points.read?.acquisitions ?? 0, 0, `${j.jobname}: reads took i_mutex`);
      for (const k of ['usr_cpu', 'sys_cpu', 'cpu_user_ns', 'cpu_system_ns'] as const) assert.equal(typeof j[k], 'number');
      assert.ok(j.other_cpu_busy === null || (j.other_cpu_busy >= 0 && j.other_cpu_busy <= 1), `${j.jobname}.other_cpu_busy`);
      checkRepeats(j, j.jobname);
      assert.ok(j.memory.shared_bytes > 0 && j.memory.reader_shared_bytes > 0, `${j.jobname}: the engine's shared memory is counted`);
    }
    const skipped = (report.config.baselines_skipped as Array<{ name: string }>).map((s) => s.name);
    // The JIT warm-up (issue 9): once, before the first round, per workload and mode and per pool peer.
    const warmups = report.config.warmups as Array<{ what: string; read_iops: number[] }>;
    const poolPeers = ['sab-memcpy', 'node-fs', 'lmdb', 'node-fs-direct'].filter((n) => !skipped.includes(n));
    assert.deepEqual(warmups.map((x) => x.what).sort(), [...['cached', 'direct'].flatMap((w) => ['exclusive', 'shared', 'none'].map((m) => `${w}-${m}`)), ...poolPeers].sort());
    for (const x of warmups) assert.ok(x.read_iops.length >= 1 && x.read_iops.every((r) => r >= 0), `warm-up ${x.what}: ${x.read_iops}`);
    const expected = ['sab-memcpy', 'node-fs', 'lmdb', 'node-fs-direct', 'fio'].filter((n) => !skipped.includes(n));
    assert.deepEqual([...new Set(report.baselines.map((b) => b.name))], expected);
    for (const b of report.baselines) {
      assert.deepEqual(Object.keys(b).slice(0, 4), ['name', 'workload', 'threads', 'read']);
      checkIo(b.read, `${b.name}/${b.threads}`);
      assert.ok(b.read.total_ios > 0, `${b.name}/${b.threads}: a peer with nobody to wait for did some reads`);
      checkRepeats(b, `${b.name}/${b.threads}`);
    }

    const text = fs.readFileSync(svg, 'utf8');
    assert.match(text, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(text, /read IOPS/);
    assert.match(text, /reader threads/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('dioread bench --workload async: one cell per mode and iodepth, with the route the reads took, and the peers at the same depth', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dioread-bench-test-'));
  try {
    const json = path.join(dir, 'out.json');
    const args = [cli, 'bench', '--workload', 'async', '--iodepth', '1,4', '--seconds', '0.1', '--ramp-seconds', '0.02', '--file-mib', '1', '--repeat', '1', '--dir', dir, '--json', json, '--svg', path.join(dir, 'out.svg'), '--quiet'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `bench exited with ${r.status}: ${r.stderr}`);
    assert.match(r.stdout, /async · reads in flight from one event loop/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as BenchReport;
    assert.deepEqual(report.jobs.map((j) => `${j.mode}/${j.iodepth}`), ['exclusive/1', 'exclusive/4', 'shared/1', 'shared/4', 'none/1', 'none/4']);
    for (const j of report.jobs) {
      checkIo(j.read, j.jobname);
      assert.ok(j.read.total_ios > 0, `${j.jobname}: reads were done`);
      // The locking modes cannot wait for their lock on the main thread: their reads go to the pool.
      if (j.mode !== 'none') assert.equal(j.aio_route, 'pool', `${j.jobname}: route`);
      else assert.ok(['uring', 'libuv'].includes(j.aio_route ?? ''), `${j.jobname}: route ${j.aio_route}`);
    }
    const skipped = (report.config.baselines_skipped as Array<{ name: string }>).map((s) => s.name);
    const peers = ['node-fs-promises', 'fio-uring'].filter((n) => !skipped.includes(n));
    assert.deepEqual([...new Set(report.baselines.map((b) => b.name))].sort(), peers.sort());
    for (const b of report.baselines) assert.ok([1, 4].includes(b.iodepth ?? 0) && b.read.total_ios > 0, `${b.name} at iodepth ${b.iodepth}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
