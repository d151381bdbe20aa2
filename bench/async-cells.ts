// The async workload: this process's main thread keeps `iodepth` direct reads in flight on one
// event loop — dioread's FileHandle.read on a direct handle (src/aio.ts's route in mode none, the
// pool in the locking modes), and, at the same depth over the same blocks, the peers fio
// (ioengine=io_uring) and node:fs/promises on an O_DIRECT descriptor of the image.
// fio counterpart: one job with ioengine=io_uring (or libaio), iodepth=N, numjobs=1.
import fsp from 'node:fs/promises';
import fs from 'node:fs';
import { aioStats } from '../src/aio.js';
import { findDirectAlignedOffset } from '../src/direct-align.js';
import { threadSeed, xorshift32 } from '../src/prng.js';
import type { Engine } from '../src/index.js';
import { cpuSnapshot, otherBusy } from './host.js';
import { BENCH_FILE, type PhysicalRun } from './image.js';
import { encodeHistogram, newLatencyHistogram } from './latency.js';
import { SAMPLE_EVERY, type Mode } from './options.js';
import { fioJob } from './peer-cells.js';
import { runFio } from './fio.js';
import { cpuPercent, ioStats, lockDelta, type CellStats, type PeerStats } from './report.js';
import type { Repeats } from './repeats.js';
import type { BenchRun, EngineSetup } from './engine-cells.js';
import { lockLevel, prepareWorkload } from './engine-cells.js';
import type { ThreadResult } from './tasks.js';

/** One read of `blockSize` bytes at byte `position` of the read region, on lane `lane` (its own buffer). */
type LaneRead = (lane: number, position: number) => Promise<number>;

interface LoopOutcome {
  result: ThreadResult;
  seconds: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  otherCpuBusy: number | null;
  rssBytes: number;
}

/**
 * `iodepth` lanes, each issuing its next read when its last completes, until the window ends: a
 * ramp first (not counted), then `seconds` measured. Every read is timed. Lane i's offsets come from
 * threadSeed(i), as reader thread i's do in the thread workloads.
 */
async function asyncLoop(read: LaneRead, iodepth: number, regionIos: number, blockSize: number, seconds: number, rampSeconds: number): Promise<LoopOutcome> {
  const hist = newLatencyHistogram();
  let measuring = false;
  let stopped = false;
  let ios = 0;
  const lane = async (i: number): Promise<void> => {
    let x = threadSeed(i);
    while (!stopped) {
      x = xorshift32(x);
      const pos = (x % regionIos) * blockSize;
      const a = performance.now();
      const n = await read(i, pos);
      if (n !== blockSize) throw new Error(`bench: short async read of ${blockSize} bytes at ${pos}: ${n}`);
      if (measuring && !stopped) {
        hist.recordValue(Math.round((performance.now() - a) * 1e6));
        ios++;
      }
    }
  };
  const lanes = Array.from({ length: iodepth }, (_, i) => lane(i));
  const all = Promise.all(lanes);
  all.catch(() => (stopped = true));
  await Promise.race([delay(rampSeconds), all]);
  measuring = true;
  const cpu0 = process.cpuUsage();
  const host0 = cpuSnapshot();
  const t0 = performance.now();
  await Promise.race([delay(seconds), all]);
  const rssBytes = process.memoryUsage.rss();
  stopped = true;
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const host1 = cpuSnapshot();
  await all;
  const window = (t1 - t0) / 1000;
  const result: ThreadResult = { role: 'read', ios, bytes: ios * blockSize, seconds: window, latencyHistogram: encodeHistogram(hist), heapBytes: process.memoryUsage().heapTotal, slot: -1 };
  hist.destroy();
  return { result, seconds: window, cpuUserNs: cpu.user * 1000, cpuSystemNs: cpu.system * 1000, otherCpuBusy: otherBusy(host0, host1), rssBytes };
}

function delay(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

export function asyncJobName(mode: Mode, iodepth: number): string {
  return `async-${mode}-qd${iodepth}`;
}

/** The async cells of one mode's engine: at each iodepth, FileHandle.read on a direct handle from this thread. */
export async function asyncEngineCells(run: BenchRun, eng: Engine, mode: Mode, rec: Repeats, setup: EngineSetup, beside?: (iodepth: number) => Promise<void>): Promise<void> {
  const { o, ui } = run;
  await prepareWorkload(eng, run.pool, run.plan, 'async', ui);
  eng.setLockStatsLevel(lockLevel(o, 'async'));
  const fh = await eng.open(BENCH_FILE, { direct: true });
  try {
    for (const iodepth of o.iodepths) {
      const jobname = asyncJobName(mode, iodepth);
      ui.cell(jobname);
      const bufs = Array.from({ length: iodepth }, () => Buffer.alloc(o.blockSize));
      const before = eng.lockStats();
      const out = await asyncLoop(async (lane, pos) => (await fh.read(bufs[lane], 0, o.blockSize, pos)).bytesRead, iodepth, run.readIos, o.blockSize, o.seconds, o.rampSeconds);
      const after = eng.lockStats();
      const route = aioStats(eng.share());
      const stats: CellStats = {
        read: ioStats([out.result], out.seconds, SAMPLE_EVERY.async),
        write: ioStats([], out.seconds, 1),
        locks: lockDelta(before, after, lockLevel(o, 'async') === 'timing'),
        usr_cpu: cpuPercent(out.cpuUserNs, out.seconds),
        sys_cpu: cpuPercent(out.cpuSystemNs, out.seconds),
        cpu_user_ns: Math.round(out.cpuUserNs),
        cpu_system_ns: Math.round(out.cpuSystemNs),
        other_cpu_busy: out.otherCpuBusy,
        memory: { rss_bytes: out.rssBytes, shared_bytes: setup.sharedBytes, reader_heap_bytes: out.result.heapBytes, reader_shared_bytes: 0 },
        aio_route: route ? route.route : 'pool',
      };
      rec.addJob({ jobname, workload: 'async', mode, threads: 1, writers: 0, iodepth }, stats);
      ui.done();
      if (mode === 'none') await beside?.(iodepth);
    }
  } finally {
    await fh.close();
  }
}

/** One round of the async peers: node:fs/promises (Node's defaults) and fio io_uring, each at every iodepth over the bench file's span. */
export async function asyncPeerRound(run: BenchRun, rec: Repeats, peers: string[], span: PhysicalRun): Promise<void> {
  for (const iodepth of run.o.iodepths) await asyncPeersAt(run, rec, peers, span, iodepth);
}

/** The async peers at one iodepth, once: what bench/run.ts runs right after mode none's cell at that depth (or asyncPeerRound without mode none). */
export async function asyncPeersAt(run: BenchRun, rec: Repeats, peers: string[], span: PhysicalRun, iodepth: number): Promise<void> {
  const { o, ui } = run;
  if (peers.includes('node-fs-promises')) {
    ui.cell(`node-fs-promises qd${iodepth}`);
    rec.addPeer({ name: 'node-fs-promises', workload: 'async', threads: 1, iodepth }, await fsPromisesCell(run, span, iodepth));
    ui.done();
  }
  if (peers.includes('fio-uring')) {
    ui.cell(`fio io_uring qd${iodepth}`);
    const host0 = cpuSnapshot();
    const r = await runFio({ ...fioJob(o, run.image, span, 1), ioengine: 'io_uring', iodepth });
    rec.addPeer({ name: 'fio-uring', workload: 'async', threads: 1, iodepth }, { read: r.read, usr_cpu: r.usr_cpu, sys_cpu: r.sys_cpu, other_cpu_busy: otherBusy(host0, cpuSnapshot()), memory: null });
    ui.done();
  }
}

/** node:fs/promises FileHandle.read on an O_DIRECT descriptor of the image, `iodepth` in flight, aligned lane buffers. */
async function fsPromisesCell(run: BenchRun, span: PhysicalRun, iodepth: number): Promise<PeerStats> {
  const { o } = run;
  const fh = await fsp.open(run.image, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  try {
    const mem = new Uint8Array(iodepth * o.blockSize + 4096);
    const base = findDirectAlignedOffset(fh.fd, mem, o.blockSize, span.offsetBytes, 4096);
    if (base < 0) throw new Error('bench: no O_DIRECT-aligned offset found (node-fs-promises)');
    const out = await asyncLoop(async (lane, pos) => (await fh.read(mem, base + lane * o.blockSize, o.blockSize, span.offsetBytes + pos)).bytesRead, iodepth, run.readIos, o.blockSize, o.seconds, o.rampSeconds);
    return {
      read: ioStats([out.result], out.seconds, SAMPLE_EVERY.async),
      usr_cpu: cpuPercent(out.cpuUserNs, out.seconds),
      sys_cpu: cpuPercent(out.cpuSystemNs, out.seconds),
      other_cpu_busy: out.otherCpuBusy,
      memory: { rss_bytes: out.rssBytes, shared_bytes: 0, reader_heap_bytes: out.result.heapBytes, reader_shared_bytes: 0 },
    };
  } finally {
    await fh.close();
  }
}
