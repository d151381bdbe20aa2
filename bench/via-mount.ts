// dioread bench --via mount: fio randread (O_DIRECT, psync) on a file of a mounted image, at 1..16
// jobs, for each read-locking mode, beside the same fio job on a file of the host filesystem. The
// engine's lock_stat for each cell shows which path the reads took (i_mutex, i_rwsem-R or none).
// fio counterpart: a fio job file run against a FUSE mount and against the host filesystem.
//
// Main thread: the mount's workers serve the kernel; fio runs as a child process.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { Engine } from '../src/engine.js';
import { FuseMount } from '../src/fuse/session.js';
import type { LockStatRow } from '../src/lockstat.js';
import type { ReadLocking } from '../src/volume.js';

export const VIA_MOUNT_MODES: readonly ReadLocking[] = ['none', 'shared', 'exclusive'];
export const VIA_MOUNT_JOBS = [1, 2, 4, 8, 16];
const MiB = 1 << 20;

export interface ViaMountOptions {
  /** Where the image, the mount point and the host file go (a disk filesystem: O_DIRECT). */
  dir: string;
  fileMib: number;
  blockSize: number;
  jobs: number[];
  modes: readonly ReadLocking[];
  seconds: number;
  rampSeconds: number;
  /** Serving threads of the mount (default: the largest job count, so no fio job waits for one). */
  serveThreads?: number;
}

/** fio's read numbers for one cell (fio's own field names and units). */
export interface ViaMountRead {
  iops: number;
  bw_bytes: number;
  total_ios: number;
  /** Completion latency percentiles, ns ("50.000000", "99.000000"). */
  clat_ns: { mean: number; percentile: Record<string, number> };
}

export interface ViaMountCell {
  /** 'mount none' | 'mount shared' | 'mount exclusive' | 'host'. */
  series: string;
  readLocking: ReadLocking | null;
  jobs: number;
  read: ViaMountRead;
  usr_cpu: number;
  sys_cpu: number;
  /** The engine's lock_stat over the cell (mount cells): acquisitions and contentions. */
  locks: Record<string, { acquisitions: number; contentions: number }> | null;
}

export interface ViaMountReport {
  kind: 'dioread-bench-via-mount';
  config: { file_mib: number; block_size: number; seconds: number; ramp_seconds: number; serve_threads: number; jobs: number[]; modes: readonly ReadLocking[]; dir: string };
  /** The fio command of every cell, with FILE and JOBS in place of the file and numjobs. */
  fio_command: string;
  host: { cpus: number; loadavg_before: number[]; loadavg_after: number[]; host_fs: string };
  cells: ViaMountCell[];
}

function fioArgs(file: string, o: ViaMountOptions, jobs: number): string[] {
  return [
    '--name=via-mount',
    `--filename=${file}`,
    '--ioengine=psync',
    '--direct=1',
    '--rw=randread',
    `--bs=${o.blockSize}`,
    `--size=${o.fileMib}M`,
    `--numjobs=${jobs}`,
    '--norandommap',
    '--randrepeat=1',
    '--time_based',
    `--runtime=${Math.round(o.seconds * 1000)}ms`,
    `--ramp_time=${Math.round(o.rampSeconds * 1000)}ms`,
    '--group_reporting',
    '--percentile_list=50:99',
    '--output-format=json',
  ];
}

function runFio(file: string, o: ViaMountOptions, jobs: number): Promise<{ read: ViaMountRead; usr_cpu: number; sys_cpu: number }> {
  const args = fioArgs(file, o, jobs);
  return new Promise((resolve, reject) => {
    execFile('fio', args, { encoding: 'utf8', maxBuffer: 16 << 20, timeout: (o.seconds + o.rampSeconds + 60) * 1000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`fio ${args.join(' ')}: ${err.message}\n${stderr}`));
      const j = JSON.parse(stdout.slice(stdout.indexOf('{'))).jobs[0];
      const r = j.read;
      resolve({ read: { iops: r.iops, bw_bytes: r.bw_bytes, total_ios: r.total_ios, clat_ns: { mean: r.clat_ns.mean, percentile: r.clat_ns.percentile ?? {} } }, usr_cpu: j.usr_cpu, sys_cpu: j.sys_cpu });
    });
  });
}

/** The lock classes a read can take, summed over the cell. */
function lockDelta(rows: LockStatRow[]): ViaMountCell['locks'] {
  const out: NonNullable<ViaMountCell['locks']> = {};
  for (const r of rows) if (r.class === 'i_mutex' || r.class === 'i_rwsem-R' || r.class === 'i_rwsem-W') out[r.class] = { acquisitions: r.acquisitions, contentions: r.contentions };
  return out;
}

/** A file of `mib` MiB of non-zero bytes, written through the engine and synced. */
async function fillEngineFile(eng: Engine, mib: number): Promise<void> {
  const f = await eng.open('bench', { create: true });
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < mib; i++) {
    chunk.fill(1 + (i % 251));
    await f.write(chunk, 0, MiB, i * MiB);
  }
  await f.sync();
  await f.close();
}

async function runMode(o: ViaMountOptions, mode: ReadLocking, work: string, note: (s: string) => void): Promise<ViaMountCell[]> {
  const image = path.join(work, `mount-${mode}.img`);
  const mnt = path.join(work, `mnt-${mode}`);
  fs.mkdirSync(mnt, { recursive: true });
  await Engine.mkfs(image, { sizeBytes: (o.fileMib * 2 + 64) * MiB, maxFiles: 8 });
  const threads = o.serveThreads ?? Math.max(...o.jobs);
  const eng = await Engine.open({ path: image, readLocking: mode, lockStats: 'counters', maxThreads: 64 + threads });
  const cells: ViaMountCell[] = [];
  try {
    await fillEngineFile(eng, o.fileMib);
    const fm = await FuseMount.start(eng.share(), { mountpoint: mnt, threads, fsname: image });
    try {
      for (const jobs of o.jobs) {
        note(`mount (readLocking ${mode}): fio randread, ${jobs} job(s)`);
        eng.resetLockStats();
        const r = await runFio(path.join(mnt, 'bench'), o, jobs);
        cells.push({ series: `mount ${mode}`, readLocking: mode, jobs, ...r, locks: lockDelta(eng.lockStats()) });
      }
    } finally {
      await fm.unmount();
    }
  } finally {
    await eng.close();
    fs.rmSync(image, { force: true });
  }
  return cells;
}

async function runHost(o: ViaMountOptions, work: string, note: (s: string) => void): Promise<ViaMountCell[]> {
  const file = path.join(work, 'host-file');
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < o.fileMib; i++) fs.writeSync(fd, Buffer.alloc(MiB, 1 + (i % 251)), 0, MiB, i * MiB);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const cells: ViaMountCell[] = [];
  for (const jobs of o.jobs) {
    note(`host file: fio randread, ${jobs} job(s)`);
    cells.push({ series: 'host', readLocking: null, jobs, ...(await runFio(file, o, jobs)), locks: null });
  }
  fs.rmSync(file, { force: true });
  return cells;
}

function hostFs(dir: string): string {
  const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f.length > 4 && (dir === f[4] || dir.startsWith(f[4].endsWith('/') ? f[4] : `${f[4]}/`))).sort((a, b) => b[4].length - a[4].length)[0];
  if (!line) return 'unknown';
  const rest = line.slice(line.indexOf('-') + 1);
  return `${rest[0]} (${line[4]})`;
}

/** Run every mode's cells and the host's. */
export async function runViaMount(o: ViaMountOptions, note: (s: string) => void = () => {}): Promise<ViaMountReport> {
  const dir = fs.realpathSync(o.dir);
  const work = fs.mkdtempSync(path.join(dir, 'dioread-bench-mount-'));
  const before = os.loadavg();
  const cells: ViaMountCell[] = [];
  try {
    for (const mode of o.modes) cells.push(...(await runMode(o, mode, work, note)));
    cells.push(...(await runHost(o, work, note)));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return {
    kind: 'dioread-bench-via-mount',
    config: { file_mib: o.fileMib, block_size: o.blockSize, seconds: o.seconds, ramp_seconds: o.rampSeconds, serve_threads: o.serveThreads ?? Math.max(...o.jobs), jobs: o.jobs, modes: o.modes, dir },
    fio_command: `fio ${fioArgs('FILE', o, 0).join(' ').replace('--numjobs=0', '--numjobs=JOBS')}`,
    host: { cpus: os.cpus().length, loadavg_before: before, loadavg_after: os.loadavg(), host_fs: hostFs(dir) },
    cells,
  };
}

/** A text table: one row per cell. */
export function formatViaMount(r: ViaMountReport): string {
  const head = ['series', 'jobs', 'IOPS', 'MiB/s', 'p50 µs', 'p99 µs', 'i_mutex acq/cont', 'i_rwsem-R acq/cont'];
  const rows = r.cells.map((c) => {
    const p = c.read.clat_ns.percentile;
    const lk = (name: string) => (c.locks ? `${c.locks[name]?.acquisitions ?? 0}/${c.locks[name]?.contentions ?? 0}` : '-');
    return [c.series, String(c.jobs), Math.round(c.read.iops).toLocaleString('en-US'), (c.read.bw_bytes / MiB).toFixed(1), ((p['50.000000'] ?? 0) / 1000).toFixed(0), ((p['99.000000'] ?? 0) / 1000).toFixed(0), lk('i_mutex'), lk('i_rwsem-R')];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => (i < 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const load = `load average ${r.host.loadavg_before.map((x) => x.toFixed(2)).join(' ')} before, ${r.host.loadavg_after.map((x) => x.toFixed(2)).join(' ')} after; ${r.host.cpus} CPUs`;
  return [`fio randread through a dioread mount vs the host filesystem (${r.host.host_fs}); ${load}`, line(head), ...rows.map(line), `fio: ${r.fio_command}`].join('\n');
}

export function viaMountChartSpec(r: ViaMountReport): TopLevelSpec {
  const values = r.cells.map((c) => ({ series: c.series, jobs: c.jobs, iops: c.read.iops }));
  const series = [...new Set(values.map((v) => v.series))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'dioread mount: fio randread IOPS against jobs', subtitle: `${r.config.block_size}-byte O_DIRECT reads of a ${r.config.file_mib} MiB file, ${r.config.seconds} s per point, ${r.config.serve_threads} serving threads; host: ${r.host.host_fs}` },
    data: { values },
    width: 360,
    height: 220,
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'jobs', type: 'quantitative', title: 'fio numjobs', scale: { type: 'log', base: 2 }, axis: { values: r.config.jobs, format: 'd' } },
      y: { field: 'iops', type: 'quantitative', title: 'read IOPS', axis: { format: '~s' } },
      color: { field: 'series', type: 'nominal', title: 'file', scale: { domain: series } },
      strokeDash: { field: 'series', type: 'nominal', title: 'file', scale: { domain: series, range: series.map((s) => (s === 'host' ? [5, 3] : [1, 0])) } },
    },
    config: { font: 'sans-serif' },
  };
}

export async function renderViaMountSvg(r: ViaMountReport): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(viaMountChartSpec(r)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The --via mount action: run, print the table, write the JSON and the SVG. */
export async function runViaMountCommand(o: ViaMountOptions, jsonPath: string, svgPath: string, quiet: boolean): Promise<void> {
  const report = await runViaMount(o, quiet ? () => {} : (s) => console.error(s));
  console.log(formatViaMount(report));
  fs.mkdirSync(path.dirname(path.resolve(jsonPath)), { recursive: true });
  fs.writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  fs.mkdirSync(path.dirname(path.resolve(svgPath)), { recursive: true });
  fs.writeFileSync(svgPath, await renderViaMountSvg(report));
  console.log(`\nJSON: ${path.resolve(jsonPath)}\nSVG:  ${path.resolve(svgPath)}`);
}
