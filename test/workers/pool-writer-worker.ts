// Worker for tiny-io-end-pool-no-deadlock.test.ts: writes its own file (buffered and direct, with a
// model of the expected bytes) and a shared file (offset stamps, read back and checked), syncs and
// truncates now and then, until a deadline or an operation budget; then verifies its own file.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';
import type { SharedDescriptor } from '../../src/index.js';
import { checkStamps, rng, stamp } from '../helpers/image.js';
import { pattern } from '../helpers/files.js';

interface Job {
  desc: SharedDescriptor;
  id: number;
  fileBytes: number;
  sharedBytes: number;
  deadlineMs: number;
  maxOps: number;
  seed: number;
}

const job = workerData as Job;
const view = attach(job.desc);
const own = `own-${job.id}`;
const buffered = view.openSync(own, { create: true });
const direct = view.openSync(own, { create: true, direct: true });
const shared = view.openSync('shared', { create: true });
const rand = rng(job.seed);
const model = Buffer.alloc(job.fileBytes);
let size = 0;
const until = Date.now() + job.deadlineMs;
let ops = 0;
let ownWrites = 0;
let sharedWrites = 0;
let sharedWords = 0;
let stale = 0;
let firstStale = '';
let tag = 0;
const sbuf = Buffer.alloc(2 * 4096);

while (ops < job.maxOps && Date.now() < until) {
  const r = rand();
  if (r < 0.55) {
    const len = 1 + Math.floor(rand() * 3 * 4096);
    const pos = Math.floor(rand() * (job.fileBytes - len));
    const data = pattern(job.id * 1_000_000 + ++tag, pos, len);
    const n = (rand() < 0.3 ? direct : buffered).writeSync(data, { position: pos });
    if (n !== len) throw new Error(`short write ${n} of ${len} at ${pos}`);
    data.copy(model, pos);
    size = Math.max(size, pos + len);
    ownWrites++;
  } else if (r < 0.75) {
    const len = 8 * (1 + Math.floor((rand() * sbuf.length) / 8));
    const pos = 8 * Math.floor((rand() * (job.sharedBytes - len)) / 8);
    const b = sbuf.subarray(0, len);
    stamp(b, pos, (job.id << 24) | (ops & 0xffffff) | 1);
    shared.writeSync(b, { position: pos });
    sharedWrites++;
  } else if (r < 0.95) {
    const len = 8 * (1 + Math.floor((rand() * sbuf.length) / 8));
    const pos = 8 * Math.floor((rand() * (job.sharedBytes - len)) / 8);
    const b = sbuf.subarray(0, len);
    const n = shared.readSync(b, { position: pos });
    const [bad, first, word] = checkStamps(b, pos, n);
    sharedWords += Math.floor(n / 8);
    if (bad > 0 && stale === 0) firstStale = `${word} at ${first}`;
    stale += bad;
  } else if (r < 0.98) {
    buffered.fsyncSync();
  } else {
    const len = Math.floor(rand() * size);
    buffered.truncateSync(len);
    model.fill(0, len);
    size = len;
  }
  ops++;
}

// Read the whole file back through both handles.
let mismatch = '';
for (const [kind, fh] of [['buffered', buffered], ['direct', direct]] as const) {
  const got = Buffer.alloc(size + 4096);
  const n = fh.readSync(got, { position: 0 });
  if (n !== size) mismatch ||= `${kind}: read ${n} bytes, size ${size}`;
  const at = got.subarray(0, size).findIndex((b, i) => b !== model[i]);
  if (at >= 0) mismatch ||= `${kind}: byte ${at} is ${got[at]}, want ${model[at]}`;
}
buffered.closeSync();
direct.closeSync();
shared.closeSync();
view.detach();
const bytes = new Uint8Array(model.subarray(0, size));
parentPort!.postMessage({ id: job.id, ops, ownWrites, sharedWrites, sharedWords, stale, firstStale, mismatch, size, bytes }, [bytes.buffer]);
