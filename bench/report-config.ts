// The report's config block: every option of the run, the image and where the bench file lies on
// it, the host, the peers that ran or were skipped (docs/BENCHMARKS.md describes each field).
// fio counterpart: the "global options" block of fio's JSON output.
import fs from 'node:fs';
import os from 'node:os';
import { clockOverheadNs } from './latency.js';
import { SAMPLE_EVERY, SPREAD_MARK, WRITER_SAMPLE_EVERY, threadWorkloads, type BaselineName } from './options.js';
import { fioArgs, fioJob, fioSpan } from './peer-cells.js';
import { lockLevel, type BenchRun, type EngineSetup } from './engine-cells.js';

export interface Skipped {
  name: BaselineName;
  reason: string;
}

/** The peers that run, those skipped and why, and fio's version (null when fio is not wanted or not installed). */
export interface PeerPlan {
  peers: BaselineName[];
  skipped: Skipped[];
  fioVer: string | null;
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function reportConfig(run: BenchRun, peerPlan: PeerPlan, setup: EngineSetup, startedAt: string, busyBefore: number | null): Record<string, unknown> {
  const { o } = run;
  const span = setup.runs.length ? fioSpan(setup.runs) : null;
  return {
    started_at: startedAt,
    workloads: o.workloads,
    threads: Object.fromEntries(threadWorkloads(o).map((w) => [w, o.threads[w]])),
    ...(o.workloads.includes('async') ? { iodepths: o.iodepths } : {}),
    modes: o.modes,
    writers: o.writers,
    seconds: o.seconds,
    ramp_seconds: o.rampSeconds,
    warmup_seconds: o.warmupSeconds,
    warmups: run.warmups,
    repeat: o.repeat,
    spread_mark: SPREAD_MARK,
    // Peers ran right after mode none's cell of the same workload and thread count (iodepth):
    // the targets against a peer are then the median of the per-round ratios (bench/targets.ts).
    peers_beside_none: { threads: run.pairs, async: o.workloads.includes('async') && o.modes.includes('none') },
    file_mib: o.fileMib,
    block_size: o.blockSize,
    baselines: o.baselines,
    baselines_skipped: peerPlan.skipped,
    lock_stats: Object.fromEntries(o.workloads.map((w) => [w, lockLevel(o, w)])),
    sample_every: { ...Object.fromEntries(o.workloads.map((w) => [w, SAMPLE_EVERY[w]])), writer: WRITER_SAMPLE_EVERY },
    clock_overhead_ns: clockOverheadNs(),
    image: imageConfig(run, setup),
    fio: peerPlan.fioVer === null ? null : { version: peerPlan.fioVer, command: span ? ['fio', ...fioArgs(fioJob(o, run.image, span, 8))].join(' ') : null },
    host: hostConfig(busyBefore),
  };
}

/** The report's image block: the image, its cache, the bench file's regions and where they lie. */
function imageConfig(run: BenchRun, setup: EngineSetup): Record<string, unknown> {
  const { o, plan } = run;
  return {
    path: run.image,
    removed: !o.image,
    size_bytes: plan.sizeBytes,
    device_direct: setup.deviceDirect,
    cache_pages: plan.cachePages,
    shared_bytes: setup.sharedBytes,
    slot_shared_bytes: setup.slotSharedBytes,
    file_bytes: plan.fileBytes,
    read_region_bytes: plan.readBytes,
    writer_region_bytes: plan.writerIos * o.blockSize,
    read_region_on_image: setup.runs.map((x) => ({ offset_bytes: x.offsetBytes, size_bytes: x.sizeBytes })),
  };
}

/** The report's host block: Node, the OS, the CPUs, and how busy other processes kept them before the run. */
function hostConfig(busyBefore: number | null): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_bytes: os.totalmem(),
    other_cpu_busy_before_start: busyBefore,
  };
}
