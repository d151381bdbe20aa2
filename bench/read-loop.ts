// The read loop every reader thread runs, whatever it reads with: ramp, then measure until told to
// stop. It counts every read and times one in `sampleEvery` (see "Latency sampling" in
// docs/BENCHMARKS.md). fio counterpart: a psync job's thread loop (td_io_queue + io_u completion).
import { CTL_PHASE, PHASE_MEASURE, PHASE_RAMP, signalReady } from './control.js';
import { encodeHistogram, newLatencyHistogram, type LatencyHistogram } from './latency.js';
import { threadSeed, xorshift32 } from '../src/prng.js';
import { nowNs } from '../src/sync/trace.js';
import type { ThreadResult } from './tasks.js';

/** One way to read `blockSize` bytes at a byte position; returns bytes read. */
export interface Reader {
  read(position: number): number;
  close(): void | Promise<void>;
  /** The engine thread slot of a dioread reader or writer (absent for a peer). */
  readonly slot?: number;
  /**
   * Asked once as measuring starts: a recorder of batch spans when the engine traces (dioread
   * profile --trace), else null. Absent for a peer.
   */
  batchTracer?(): BatchTracer | null;
}

/** Records one batch of `ios` I/Os that started at `startNs` (src/sync/trace.ts nowNs) and ends now. */
export type BatchTracer = (startNs: number, ios: number) => void;

export interface LoopShape {
  threadIndex: number;
  blockSize: number;
  /** Positions are blockSize * (random integer in [0, regionIos)) + firstIo * blockSize. */
  firstIo: number;
  regionIos: number;
  sampleEvery: number;
}

/**
 * Run the loop on `reader` until the main thread sets PHASE_STOP. The offset sequence is restarted
 * from the thread's seed when measuring starts, so every cell and every peer measures the same
 * offsets. A short read is an error (the region lies inside the file): it throws.
 */
export function runReadLoop(reader: Reader, s: LoopShape, ctl: Int32Array): ThreadResult {
  return runLoop(reader, s, ctl, 'read');
}

/** The same loop for a writer (bench/write-loop.ts gives it a Reader-shaped writer). */
export function runLoop(io: Reader, s: LoopShape, ctl: Int32Array, role: 'read' | 'write'): ThreadResult {
  const bs = s.blockSize;
  const region = s.regionIos;
  const base = s.firstIo;
  const k = Math.max(1, s.sampleEvery);
  const seed = threadSeed(s.threadIndex + (role === 'write' ? 1000 : 0));
  const hist: LatencyHistogram = newLatencyHistogram();
  let x = seed ^ 0x5bd1e995 || 1; // ramp: another sequence, so the measured one starts cold too
  signalReady(ctl);
  while (Atomics.load(ctl, CTL_PHASE) === PHASE_RAMP) {
    for (let i = 0; i < k; i++) {
      x = xorshift32(x);
      io.read((base + (x % region)) * bs);
    }
  }
  x = seed;
  let ios = 0;
  const t0 = performance.now();
  const trace = io.batchTracer?.() ?? null;
  while (Atomics.load(ctl, CTL_PHASE) === PHASE_MEASURE) {
    const b0 = trace ? nowNs() : 0;
    for (let i = 1; i < k; i++) {
      x = xorshift32(x);
      const pos = (base + (x % region)) * bs;
      if (io.read(pos) !== bs) short(role, pos, bs);
    }
    x = xorshift32(x);
    const pos = (base + (x % region)) * bs;
    const a = performance.now();
    const n = io.read(pos);
    const b = performance.now();
    if (n !== bs) short(role, pos, bs);
    hist.recordValue(Math.round((b - a) * 1e6));
    ios += k;
    if (trace) trace(b0, k);
  }
  const seconds = (performance.now() - t0) / 1000;
  const latencyHistogram = encodeHistogram(hist);
  hist.destroy();
  return { role, ios, bytes: ios * bs, seconds, latencyHistogram, heapBytes: process.memoryUsage().heapTotal, slot: io.slot ?? -1 };
}

function short(role: string, pos: number, bs: number): never {
  throw new Error(`bench: short ${role} of ${bs} bytes at position ${pos}`);
}
