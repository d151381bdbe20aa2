// The messages between the benchmark's main thread and its reader/writer threads (types only).
// fio counterpart: one job section of a job file (rw, bs, filename, direct) plus the job's result.
import type { SharedDescriptor } from '../src/index.js';

/** What a reader thread reads with. `dioread` is the engine; the others are the peers (baselines). */
export type ReaderKind = 'dioread' | 'sab-memcpy' | 'node-fs' | 'lmdb' | 'node-fs-direct';

interface ThreadTaskBase {
  /** SharedArrayBuffer of the control block (bench/control.ts): ready count and phase. */
  control: SharedArrayBuffer;
  /** 0-based thread number inside the cell; seeds the offset sequence (src/prng.ts threadSeed). */
  threadIndex: number;
  blockSize: number;
  /** Time one read in this many (the others are only counted): see docs/BENCHMARKS.md. */
  sampleEvery: number;
}

export interface ReadTask extends ThreadTaskBase {
  role: 'read';
  kind: ReaderKind;
  /** Reads go to [0, regionIos) in units of blockSize. */
  regionIos: number;
  /** kind 'dioread': the engine and the file; direct selects the O_DIRECT handle. */
  desc?: SharedDescriptor;
  fileName?: string;
  direct?: boolean;
  /** kind 'sab-memcpy': the buffer to copy from. */
  sab?: SharedArrayBuffer;
  /** kind 'node-fs': host file; 'lmdb': environment directory; 'node-fs-direct': the image. */
  path?: string;
  /** kind 'node-fs-direct': where the bench file's read region starts on the image. */
  offsetBytes?: number;
}

export interface WriteTask extends ThreadTaskBase {
  role: 'write';
  desc: SharedDescriptor;
  fileName: string;
  /**
   * Writer i writes to [firstIo + i * regionIos, firstIo + (i + 1) * regionIos) in units of
   * blockSize: blocks no reader reads and no other writer writes.
   */
  firstIo: number;
  regionIos: number;
  /** fsync every this many writes (0 or absent: never), as `dioread profile` does. */
  syncEvery?: number;
  /** Truncate the file to firstIo * blockSize (the readers' region stays) every this many writes (0 or absent: never). */
  truncateEvery?: number;
}

/** One warm-up pass over a dioread file through a buffered handle (fills the page cache). */
export interface WarmTask {
  role: 'warm';
  desc: SharedDescriptor;
  fileName: string;
  sizeBytes: number;
}

export type BenchTask = ReadTask | WriteTask | WarmTask;

/** What a thread posts back once, at the end of its loop. */
export interface ThreadResult {
  role: 'read' | 'write';
  /** I/Os completed inside the measured window. */
  ios: number;
  bytes: number;
  /** Length of this thread's measured window. */
  seconds: number;
  /** Histogram of the sampled completion latencies (ns), bench/latency.ts encodeHistogram. */
  latencyHistogram: string;
  /** This thread's V8 heap (heapTotal of its isolate) at the end of its loop, bytes. */
  heapBytes: number;
  /** The engine thread slot of a dioread reader or writer (-1 for a peer): trace events carry it. */
  slot: number;
}
