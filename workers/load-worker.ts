// Load worker for `dioread profile`: a reader or a writer thread on a shared engine, attached
// through attach(); its whole loop runs here, nothing per operation crosses threads.
// No ext4 counterpart (a fio job thread, in spirit).

import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../src/attach.js';
import { OP_READ, OP_WRITE, TK_BATCH, type SharedDescriptor } from '../src/shm/layout.js';
import { nowNs, traceEvent, tracing } from '../src/sync/trace.js';
import { xorshift32Sequence } from '../src/prng.js';

export interface LoadJob {
  desc: SharedDescriptor;
  role: 'reader' | 'writer';
  file: string;
  direct: boolean;
  seconds: number;
  /** Readers read 4 KiB blocks in [0, readerBlocks); writers write blocks in [readerBlocks, 2*readerBlocks). */
  readerBlocks: number;
  blockSize: number;
  seed: number;
  /** Writers cut their region back to holes every this many writes (allocation and conversion keep running). */
  truncateEvery: number;
  /** Writers fsync every this many writes (writeback, io_ends, conversion by sync). */
  syncEvery: number;
}

export interface LoadResult {
  role: string;
  ops: number;
  bytes: number;
  seconds: number;
  slot: number;
}

const job = workerData as LoadJob;
const view = attach(job.desc);
const fh = view.openSync(job.file, { direct: job.role === 'reader' && job.direct });
const buf = Buffer.alloc(job.blockSize, job.role === 'writer' ? 0x5a : 0);
const next = xorshift32Sequence(job.seed);
const t0 = performance.now();
const until = t0 + job.seconds * 1000;
let ops = 0;
let bytes = 0;
const traced = tracing(view.volume);
const opCode = job.role === 'reader' ? OP_READ : OP_WRITE;
while (performance.now() < until) {
  const b0 = traced ? nowNs() : 0;
  for (let i = 0; i < 64; i++) {
    const block = next() % job.readerBlocks;
    if (job.role === 'reader') {
      bytes += fh.readSync(buf, { position: block * job.blockSize });
    } else {
      bytes += fh.writeSync(buf, { position: (job.readerBlocks + block) * job.blockSize });
      if (job.syncEvery > 0 && (ops + 1) % job.syncEvery === 0) fh.fsyncSync();
      if (job.truncateEvery > 0 && (ops + 1) % job.truncateEvery === 0) fh.truncateSync(job.readerBlocks * job.blockSize);
    }
    ops++;
  }
  if (traced) traceEvent(view.volume, TK_BATCH, b0, nowNs() - b0, opCode, 64, 0);
}
const seconds = (performance.now() - t0) / 1000;
const slot = view.slot;
fh.closeSync();
view.detach();
parentPort!.postMessage({ role: job.role, ops, bytes, seconds, slot } satisfies LoadResult);
