// Worker for no-stale-read.test.ts: a writer (buffered or direct) or a reader of one shared file.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';
import type { SharedDescriptor } from '../../src/index.js';
import { checkStamps, rng, stamp } from '../helpers/image.js';

interface Job {
  desc: SharedDescriptor;
  role: 'reader' | 'writer' | 'direct-writer';
  id: number;
  fileBytes: number;
  deadlineMs: number;
  maxOps: number;
  seed: number;
  /** Stop early once this many stale words were seen (the negative control needs only one). */
  stopAfterStale: number;
}

const job = workerData as Job;
const view = attach(job.desc);
const fh = view.openSync('f', { create: true, direct: job.role === 'direct-writer' });
const rand = rng(job.seed);
const until = Date.now() + job.deadlineMs;
let ops = 0;
let words = 0;
let stale = 0;
let firstStale = -1;
let firstWord = '';
let truncates = 0;
const maxLen = 3 * 4096;
const buf = Buffer.alloc(maxLen + 8);

while (ops < job.maxOps && Date.now() < until) {
  const len = 8 * (1 + Math.floor((rand() * maxLen) / 8));
  const pos = 8 * Math.floor((rand() * (job.fileBytes - len)) / 8);
  const b = buf.subarray(0, len);
  if (job.role === 'reader') {
    const n = fh.readSync(b, { position: pos });
    const [bad, first, word] = checkStamps(b, pos, n);
    words += Math.floor(n / 8);
    if (bad > 0) {
      stale += bad;
      if (firstStale < 0) {
        firstStale = first;
        firstWord = word;
      }
      if (stale >= job.stopAfterStale) break;
    }
  } else {
    stamp(b, pos, (job.id << 24) | (ops & 0xffffff) | 1);
    fh.writeSync(b, { position: pos });
    // Now and then cut the file and grow it back: freed blocks get reallocated, which gives the
    // allocation path (and the unsafe control) fresh blocks to expose.
    if (job.role === 'writer' && rand() < 0.02) {
      fh.truncateSync(8 * Math.floor((rand() * job.fileBytes) / 8)); // word-aligned: a cut word would look torn
      fh.truncateSync(job.fileBytes);
      truncates++;
    }
    if (rand() < 0.01) fh.fsyncSync();
  }
  ops++;
}
fh.closeSync();
view.detach();
parentPort!.postMessage({ role: job.role, id: job.id, ops, words, stale, firstStale, firstWord, truncates });
