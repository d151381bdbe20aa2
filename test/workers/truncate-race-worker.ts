// Worker for truncate-races-readers.test.ts. Roles:
// - 'generations': rewrites file 'g' (gen odd: written, synced; gen even: written, left dirty),
//   publishing each completed generation, then truncates to 0 — the model's bug-1 window.
// - 'reader' / 'direct-reader': loop reading block 0 of 'g'; a value older than the generation
//   published before the read began (not zero, not short) is a failure.
// - 'shrinker': keeps 'r' at 2 written, synced blocks, then truncates it to 1 — the bug-2 window.
// - 'foreign': keeps rewriting and syncing file 'x' with its own byte, taking the freed blocks.
// - 'run-reader': direct-reads blocks 0..1 of 'r'; the foreign byte anywhere is a failure.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';
import type { SharedDescriptor } from '../../src/index.js';

interface Job {
  desc: SharedDescriptor;
  role: string;
  shared: SharedArrayBuffer; // Int32 [published generation, stop]
  deadlineMs: number;
}
const job = workerData as Job;
const sh = new Int32Array(job.shared);
const view = attach(job.desc);
const until = Date.now() + job.deadlineMs;
const PAGE = 4096;
const FOREIGN = 0xee;
let ops = 0;
let bad = 0;
let first = '';
const buf = Buffer.alloc(2 * PAGE);
const fill = (gen: number) => Buffer.alloc(4 * PAGE, gen & 0x7f);

if (job.role === 'generations') {
  const f = view.openSync('g', 'w+');
  for (let gen = 1; Date.now() < until; gen += 2) {
    f.writeSync(fill(gen), 0, 4 * PAGE, 0);
    f.fsyncSync();
    Atomics.store(sh, 0, gen);
    f.writeSync(fill(gen + 1), 0, 4 * PAGE, 0); // only in the cache, dirty
    Atomics.store(sh, 0, gen + 1);
    f.ftruncateSync(0);
    ops++;
  }
  Atomics.store(sh, 1, 1);
  f.closeSync();
} else if (job.role === 'reader' || job.role === 'direct-reader') {
  const f = view.openSync('g', { direct: job.role === 'direct-reader' });
  while (Atomics.load(sh, 1) === 0 && Date.now() < until) {
    const published = Atomics.load(sh, 0);
    const n = f.readSync(buf, 0, PAGE, 0);
    ops++;
    if (n === 0) continue; // truncated: nothing to read
    const v = buf[0];
    if (v !== 0 && v < (published & 0x7f) && (published & 0x7f) - v < 64) {
      bad++;
      if (!first) first = `read generation ${v} after generation ${published & 0x7f} had been published`;
    }
  }
  f.closeSync();
} else if (job.role === 'shrinker') {
  const f = view.openSync('r', 'w+');
  while (Date.now() < until) {
    f.writeSync(Buffer.alloc(2 * PAGE, 0x11), 0, 2 * PAGE, 0);
    f.fsyncSync();
    f.ftruncateSync(PAGE);
    f.fsyncSync(); // commits the free: the block becomes allocatable to 'x'
    ops++;
  }
  Atomics.store(sh, 1, 1);
  f.closeSync();
} else if (job.role === 'foreign') {
  const f = view.openSync('x', 'w+');
  while (Atomics.load(sh, 1) === 0 && Date.now() < until) {
    f.ftruncateSync(0);
    f.writeSync(Buffer.alloc(2 * PAGE, FOREIGN), 0, 2 * PAGE, 0);
    f.fsyncSync();
    ops++;
  }
  f.closeSync();
} else {
  const f = view.openSync('r', { direct: true });
  while (Atomics.load(sh, 1) === 0 && Date.now() < until) {
    const n = f.readSync(buf, 0, 2 * PAGE, 0);
    ops++;
    const i = buf.subarray(0, n).indexOf(FOREIGN);
    if (i >= 0) {
      bad++;
      if (!first) first = `byte ${i} of a direct read of 'r' holds file 'x''s byte`;
    }
  }
  f.closeSync();
}
view.detach();
parentPort!.postMessage({ ops, bad, first });
