// Worker for direct-read-sees-dirty-page.test.ts: a writer that keeps rewriting one block with a
// rising generation (published after each write returns), a prober that direct-reads that block,
// and a churner whose buffered reads keep evicting and inserting pages on that block's hash chain.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';
import type { SharedDescriptor } from '../../src/index.js';

interface Job {
  desc: SharedDescriptor;
  role: 'probe' | 'writer' | 'churn';
  /** probe, writer: the block; churn: the blocks to cycle through. */
  blocks: number[];
  /** Int32 [published generation, writer done]. */
  shared: SharedArrayBuffer;
  deadlineMs: number;
  maxOps: number;
}

const job = workerData as Job;
const gen = new Int32Array(job.shared);
const view = attach(job.desc);
const fh = view.openSync('f', job.role === 'probe' ? { direct: true } : 'r+');
const buf = Buffer.alloc(4096);
const until = Date.now() + job.deadlineMs;
let ops = 0;
let older = 0;
let first = '';
while (ops < job.maxOps && (ops & 255 || Date.now() < until)) {
  if (job.role === 'writer') {
    const g = ops + 2;
    buf.writeInt32LE(g, 0);
    buf.writeInt32LE(g, 4092);
    fh.writeSync(buf, 0, 4096, job.blocks[0] * 4096);
    Atomics.store(gen, 0, g); // this generation's write has returned
  } else if (job.role === 'probe') {
    const before = Atomics.load(gen, 0); // completed before this read began
    fh.readSync(buf, 0, 4096, job.blocks[0] * 4096);
    const a = buf.readInt32LE(0);
    const b = buf.readInt32LE(4092);
    if (a < before || b < before) {
      older++;
      if (first === '') first = `read generations ${a}/${b} after generation ${before} had returned`;
      if (older >= 3) break;
    }
  } else {
    fh.readSync(buf, 0, 4096, job.blocks[ops % job.blocks.length] * 4096);
  }
  ops++;
}
if (job.role === 'writer') Atomics.store(gen, 1, 1);
fh.closeSync();
view.detach();
parentPort!.postMessage({ ops, older, first });
