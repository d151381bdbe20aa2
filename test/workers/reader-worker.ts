// Worker for nolock-readers-skip-i-mutex.test.ts: a fixed number of reads of one file, through a
// buffered or a direct handle, each checked against the file's known pattern.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';
import type { SharedDescriptor } from '../../src/index.js';
import { rng } from '../helpers/image.js';
import { pattern } from '../helpers/files.js';

interface Job {
  desc: SharedDescriptor;
  name: string;
  fileBytes: number;
  seed: number;
  reads: number;
  direct: boolean;
  patternSeed: number;
}

const job = workerData as Job;
const view = attach(job.desc);
const fh = view.openSync(job.name, { direct: job.direct });
const rand = rng(job.seed);
const buf = Buffer.alloc(3 * 4096);
let wrong = 0;
for (let i = 0; i < job.reads; i++) {
  const len = 1 + Math.floor(rand() * buf.length);
  const pos = Math.floor(rand() * (job.fileBytes - len));
  const n = fh.readSync(buf.subarray(0, len), { position: pos });
  if (n !== len || !buf.subarray(0, len).equals(pattern(job.patternSeed, pos, len))) wrong++;
}
fh.closeSync();
view.detach();
parentPort!.postMessage({ reads: job.reads, wrong });
