// Worker for read-after-write-never-zeros.test.ts: in its own region of a shared file, write (through
// a buffered or a direct handle) and read the same range back at once through both kinds of handle.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';
import type { SharedDescriptor } from '../../src/index.js';
import { rng } from '../helpers/image.js';
import { pattern } from '../helpers/files.js';

interface Job {
  desc: SharedDescriptor;
  id: number;
  regionBytes: number;
  deadlineMs: number;
  maxOps: number;
  seed: number;
}

const job = workerData as Job;
const view = attach(job.desc);
const h = { buffered: view.openSync('shared', 'r+'), direct: view.openSync('shared', { direct: true }) };
const rand = rng(job.seed);
const base = job.id * job.regionBytes;
const until = Date.now() + job.deadlineMs;
let ops = 0;
let checks = 0;
let bad = 0;
let zeros = 0;
let first = '';
const got = Buffer.alloc(3 * 4096);
while (ops < job.maxOps && Date.now() < until) {
  const len = 1 + Math.floor(rand() * 3 * 4096);
  const pos = base + Math.floor(rand() * (job.regionBytes - len));
  const data = pattern(job.id * 1_000_000 + ops + 1, pos, len);
  const via = rand() < 0.5 ? 'buffered' : 'direct';
  h[via].writeSync(data, { position: pos });
  for (const kind of ['buffered', 'direct'] as const) {
    const b = got.subarray(0, len);
    const n = h[kind].readSync(b, { position: pos });
    checks++;
    const at = n === len ? b.findIndex((x, i) => x !== data[i]) : 0;
    if (at >= 0) {
      bad++;
      if (b.includes(0)) zeros++;
      first ||= `write ${ops} (${via}) at ${pos}+${len}, read ${kind}: ${n} bytes, first difference at +${at}: got ${b[at]} want ${data[at]}`;
    }
  }
  ops++;
}
h.buffered.closeSync();
h.direct.closeSync();
view.detach();
parentPort!.postMessage({ id: job.id, ops, checks, bad, zeros, first });
