// The peers' cells of one round: each peer at each thread count, as threads on the pool over its
// own copy of the data (or the image's blocks of the bench file), and fio as its own processes.
// fio counterpart: the same job with other ioengines (and fio itself).
import { cpuSnapshot, otherBusy } from './host.js';
import { meanHeapBytes } from './memory.js';
import { BASELINE_WORKLOAD, SAMPLE_EVERY, threadWorkloads, type BaselineName, type BenchOptions, type ThreadWorkload } from './options.js';
import { fioArgs, runFio, type FioJob } from './fio.js';
import type { PhysicalRun } from './image.js';
import { makeCachedHostFile, makeLmdbEnv, makeSab } from './peers.js';
import { cpuPercent, ioStats, type PeerStats } from './report.js';
import type { Repeats } from './repeats.js';
import { runCell, warmUp } from './run-cell.js';
import type { ReaderKind } from './tasks.js';
import type { BenchRun } from './engine-cells.js';

/** The peers that run as threads on the pool (fio runs as its own processes). */
type PoolPeer = Exclude<BaselineName, 'fio' | 'fio-uring' | 'node-fs-promises'>;
type PeerSource = { sab: SharedArrayBuffer } | { path: string; offsetBytes?: number };

/** Each peer's data, made once before the first round; the span of the bench file on the image for the direct peers. */
export interface PeerSources {
  peers: BaselineName[];
  sources: Map<PoolPeer, PeerSource>;
  span: PhysicalRun | null;
  /** The pool peers already given their JIT warm-up. */
  warmed: Set<PoolPeer>;
}

export async function setUpPeers(run: BenchRun, peers: BaselineName[], runs: PhysicalRun[]): Promise<PeerSources> {
  const span = runs.length ? fioSpan(runs) : null;
  if (runs.length > 1 && peers.some((b) => BASELINE_WORKLOAD[b] === 'direct')) {
    run.ui.note(`note: the bench file lies in ${runs.length} runs on the image; the direct peers read their whole span (${span!.sizeBytes} bytes)`);
  }
  const sources = new Map<PoolPeer, PeerSource>();
  for (const name of peers.filter((b): b is PoolPeer => b !== 'fio' && BASELINE_WORKLOAD[b] !== 'async')) {
    run.ui.cell(`${name}: setting up`);
    sources.set(name, await peerSource(name, run.tmp, run.plan.readBytes, run.o.blockSize, run.image, span));
  }
  return { peers, sources, span, warmed: new Set() };
}

/** A peer's read loop is a few lines of JavaScript around one call: it is warm long before this. */
const PEER_WARMUP_SECONDS = 0.5;

/** One round of the peers: every pool peer at every thread count of its workload, then fio. */
export async function peerRound(run: BenchRun, rec: Repeats, s: PeerSources, round: number): Promise<void> {
  for (const w of threadWorkloads(run.o)) {
    for (const threads of run.o.threads[w]) await peerCellsAt(run, rec, s, w, threads, round);
  }
}

/**
 * Every peer of workload `w` at `threads` threads (fio: jobs), once: what bench/run.ts runs right
 * after mode none's cell at that thread count, or peerRound for every thread count when mode none
 * does not run. Each pool peer is warmed up before its first cell.
 */
export async function peerCellsAt(run: BenchRun, rec: Repeats, s: PeerSources, w: ThreadWorkload, threads: number, round: number): Promise<void> {
  const { o, ui } = run;
  for (const [name, source] of s.sources) {
    if (BASELINE_WORKLOAD[name] !== w) continue;
    if (round === 0 && o.warmupSeconds > 0 && !s.warmed.has(name)) {
      // The JIT warm-up, as the engine's (engine-cells.ts warmUpEngine): every pool thread this peer will use.
      s.warmed.add(name);
      ui.cell(`JIT warm-up: ${name}`);
      const rates = await warmUp(run.pool, { readers: Math.max(...o.threads[w]), read: { role: 'read', kind: name satisfies ReaderKind, ...source, regionIos: run.readIos, blockSize: o.blockSize, sampleEvery: SAMPLE_EVERY[w] }, writers: 0 }, Math.min(PEER_WARMUP_SECONDS, o.warmupSeconds));
      run.warmups.push({ what: name, read_iops: rates.map(Math.round) });
    }
    ui.cell(`${name} ${threads}t`);
    rec.addPeer({ name, workload: w, threads }, await peerCell(run, name, w, source, threads));
    ui.done();
  }
  if (w === 'direct' && s.peers.includes('fio') && s.span) {
    run.ui.cell(`fio ${threads} jobs`);
    const host0 = cpuSnapshot(); // fio's processes count as this process's children once reaped
    const r = await runFio(fioJob(run.o, run.image, s.span, threads));
    const other = otherBusy(host0, cpuSnapshot());
    rec.addPeer({ name: 'fio', workload: 'direct', threads }, { read: r.read, usr_cpu: r.usr_cpu, sys_cpu: r.sys_cpu, other_cpu_busy: other, memory: null });
    run.ui.done();
  }
}

async function peerSource(name: PoolPeer, dir: string, bytes: number, blockSize: number, image: string, span: PhysicalRun | null): Promise<PeerSource> {
  switch (name) {
    case 'sab-memcpy':
      return { sab: makeSab(bytes, blockSize) };
    case 'node-fs':
      return { path: makeCachedHostFile(dir, bytes, blockSize) };
    case 'lmdb':
      return { path: await makeLmdbEnv(dir, bytes, blockSize) };
    case 'node-fs-direct':
      if (!span) throw new Error('bench: node-fs-direct needs the bench file on the image');
      return { path: image, offsetBytes: span.offsetBytes };
  }
}

/** Shared bytes a peer's configuration holds (sab-memcpy's copy; the others read files) and each of its readers holds. */
function peerSharedBytes(source: PeerSource, blockSize: number, name: PoolPeer): { config: number; reader: number } {
  if ('sab' in source) return { config: source.sab.byteLength, reader: 0 };
  // node-fs-direct reads into a SharedArrayBuffer of its own (aligned memory, bench/readers/node-fs-direct.ts).
  return { config: 0, reader: name === 'node-fs-direct' ? blockSize + 4096 : 0 };
}

async function peerCell(run: BenchRun, name: PoolPeer, w: ThreadWorkload, source: PeerSource, threads: number): Promise<PeerStats> {
  const { o } = run;
  const out = await runCell(run.pool, {
    readers: threads,
    read: { role: 'read', kind: name satisfies ReaderKind, ...source, regionIos: run.readIos, blockSize: o.blockSize, sampleEvery: SAMPLE_EVERY[w] },
    writers: 0,
    seconds: o.seconds,
    rampSeconds: o.rampSeconds,
  });
  const shared = peerSharedBytes(source, o.blockSize, name);
  return {
    read: ioStats(out.reads, out.seconds, SAMPLE_EVERY[w]),
    usr_cpu: cpuPercent(out.cpuUserNs, out.seconds),
    sys_cpu: cpuPercent(out.cpuSystemNs, out.seconds),
    other_cpu_busy: out.otherCpuBusy,
    memory: { rss_bytes: out.rssBytes, shared_bytes: shared.config, reader_heap_bytes: meanHeapBytes(out.reads), reader_shared_bytes: shared.reader },
  };
}

export function fioSpan(runs: PhysicalRun[]): PhysicalRun {
  const start = Math.min(...runs.map((r) => r.offsetBytes));
  const end = Math.max(...runs.map((r) => r.offsetBytes + r.sizeBytes));
  return { offsetBytes: start, sizeBytes: end - start };
}

export function fioJob(o: BenchOptions, image: string, span: PhysicalRun, jobs: number): FioJob {
  return { image, offsetBytes: span.offsetBytes, sizeBytes: span.sizeBytes, blockSize: o.blockSize, jobs, seconds: o.seconds, rampSeconds: o.rampSeconds };
}

export { fioArgs };
