// The "raw IO" yardstick: fio itself (psync, direct=1, randread, numjobs=N; or io_uring at an
// iodepth, one job, for the async workload) on the dioread image,
// over the physical blocks of the very file the engine's direct readers read.
// fio counterpart: this is fio; the job is the one docs/BENCHMARKS.md shows how to run by hand.
import type { IoStats } from './report.js';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FIO_PERCENTILE_LIST } from './latency.js';

export const FIO_INSTALL_HINT = 'fio is not on PATH: install it (Debian/Ubuntu: sudo apt-get install -y fio; Fedora: sudo dnf install fio; macOS: brew install fio) to compare with raw O_DIRECT reads';

/** fio's version string when fio is on PATH, else null. */
export function fioVersion(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const exe = path.join(dir, 'fio');
    try {
      fs.accessSync(exe, fs.constants.X_OK);
    } catch {
      continue;
    }
    try {
      return execFileSync(exe, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
    } catch {
      return null;
    }
  }
  return null;
}

export interface FioJob {
  image: string;
  /** Byte range of the image to read: the file's blocks on the device. */
  offsetBytes: number;
  sizeBytes: number;
  blockSize: number;
  jobs: number;
  seconds: number;
  rampSeconds: number;
  /** psync (default: one read at a time per job) or io_uring with `iodepth` reads in flight. */
  ioengine?: 'psync' | 'io_uring';
  iodepth?: number;
}

/** The fio command line for a job (also printed in docs and in the JSON config). */
export function fioArgs(j: FioJob): string[] {
  return [
    j.ioengine === 'io_uring' ? '--name=dioread-async' : '--name=dioread-direct',
    `--filename=${j.image}`,
    `--ioengine=${j.ioengine ?? 'psync'}`,
    ...(j.ioengine === 'io_uring' ? [`--iodepth=${j.iodepth ?? 1}`] : []),
    '--direct=1',
    '--rw=randread',
    `--bs=${j.blockSize}`,
    `--numjobs=${j.jobs}`,
    `--offset=${j.offsetBytes}`,
    `--size=${j.sizeBytes}`,
    '--norandommap',
    '--randrepeat=1',
    '--time_based',
    `--runtime=${fioSeconds(j.seconds)}`,
    `--ramp_time=${fioSeconds(j.rampSeconds)}`,
    '--group_reporting',
    `--percentile_list=${FIO_PERCENTILE_LIST}`,
    '--output-format=json',
  ];
}

/** fio takes times with a unit; milliseconds keep fractional seconds. */
function fioSeconds(s: number): string {
  return `${Math.max(0, Math.round(s * 1000))}ms`;
}

/** fio's read block: the same fields the benchmark's own IoStats carries (it copies fio's names). */
export type FioRead = Omit<IoStats, 'sampled_every'>;

export interface FioResult {
  read: FioRead;
  usr_cpu: number;
  sys_cpu: number;
}

export function runFio(j: FioJob): Promise<FioResult> {
  const args = fioArgs(j);
  return new Promise((resolve, reject) => {
    execFile('fio', args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: (j.seconds + j.rampSeconds + 60) * 1000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`fio ${args.join(' ')} failed: ${err.message}${stderr ? `\n${stderr}` : ''}`));
        return;
      }
      try {
        resolve(parseFioJson(stdout));
      } catch (e) {
        reject(new Error(`fio output not understood: ${(e as Error).message}`));
      }
    });
  });
}

/** Pick the group-reported job out of fio's JSON (fio may print notes before the JSON). */
export function parseFioJson(stdout: string): FioResult {
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error('no JSON in fio output');
  const out = JSON.parse(stdout.slice(start)) as { jobs: Array<{ read: Record<string, unknown>; usr_cpu: number; sys_cpu: number }> };
  const job = out.jobs[0];
  const r = job.read as FioRead;
  const c = r.clat_ns;
  return {
    read: {
      io_bytes: r.io_bytes,
      bw_bytes: r.bw_bytes,
      iops: r.iops,
      runtime: r.runtime,
      total_ios: r.total_ios,
      clat_ns: { min: c.min, max: c.max, mean: c.mean, stddev: c.stddev, N: c.N, percentile: c.percentile ?? {} },
    },
    usr_cpu: job.usr_cpu,
    sys_cpu: job.sys_cpu,
  };
}
