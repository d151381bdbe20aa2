// Worker for truncate-races-readers.test.ts. Roles:
// - 'generations': rewrites file 'g' (gen odd: written, synced; gen even: written, left dirty),
//   publishing each completed generation, then truncates to 0 — the model's bug-1 window — or,
//   with freeBy 'punch', punches the 4 blocks out and keeps the size.
// - 'reader' / 'direct-reader': loop reading block 0 of 'g'; a value older than the generation
//   published before the read began (not zero, not short) is a failure.
// - 'shrinker': keeps 'r' at 2 written, synced blocks, then truncates it to 1 — the bug-2 window.
// - 'puncher': the same, but punches block 1 out (fallocate punch hole) instead of truncating.
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
  /** Control runs: stop every role at the first bad read. */
  stopOnBad?: boolean;
  /** How 'generations' frees the blocks after each pair: truncate to 0 (default) or punch them out, keeping the size. */
  freeBy?: 'truncate' | 'punch';
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
/** Reads not judged: the reader stalled for 64 generations or more (see the reader loop). */
let ambiguous = 0;
const buf = Buffer.alloc(2 * PAGE);
const fill = (gen: number) => Buffer.alloc(4 * PAGE, gen & 0x7f);

if (job.role === 'generations') {
  const f = view.openSync('g', 'w+');
  for (let gen = 1; Date.now() < until && Atomics.load(sh, 1) === 0; gen += 2) {
    f.writeSync(fill(gen), 0, 4 * PAGE, 0);
    f.fsyncSync();
    Atomics.store(sh, 0, gen);
    f.writeSync(fill(gen + 1), 0, 4 * PAGE, 0); // only in the cache, dirty
    Atomics.store(sh, 0, gen + 1);
    if (job.freeBy === 'punch') f.allocateSync(0, 4 * PAGE, { punchHole: true });
    else f.ftruncateSync(0);
    ops++;
  }
  Atomics.store(sh, 1, 1);
  f.closeSync();
} else if (job.role === 'reader' || job.role === 'direct-reader') {
  const f = view.openSync('g', { direct: job.role === 'direct-reader' });
  while (Atomics.load(sh, 1) === 0 && Date.now() < until) {
    const before = Atomics.load(sh, 0);
    const n = f.readSync(buf, 0, PAGE, 0);
    const after = Atomics.load(sh, 0);
    ops++;
    if (n === 0 || buf[0] === 0) continue; // truncated: nothing, or zeros, to read
    // The block holds only 7 bits of its generation. The read returned what some generation in
    // [before, after + 1] put there (after + 1: being written, not yet published); the full
    // generation g is the one of those bits in (after + 1 - 128, after + 1]. A reader stalled for
    // 64 generations or more cannot tell older from newer: such a read is not judged (a stalled
    // reader on a loaded 2-core machine wrapped the bits and counted a newer read as older).
    if (buf[0] > 0x7f) {
      // No generation writes such a byte (fill() keeps 7 bits): the device's old contents.
      bad++;
      if (!first) first = `read byte 0x${buf[0].toString(16)}, which no generation writes (the device's old contents), after generation ${before}`;
      if (job.stopOnBad) Atomics.store(sh, 1, 1);
      continue;
    }
    if (after - before >= 64) {
      ambiguous++;
      continue;
    }
    const g = after + 1 - ((after + 1 - buf[0]) & 0x7f);
    if (g < before) {
      bad++;
      if (!first) first = `read generation ${g} after generation ${before} had been published (${after} when the read returned)`;
      if (job.stopOnBad) Atomics.store(sh, 1, 1); // a control run: one catch is enough
    }
  }
  f.closeSync();
} else if (job.role === 'shrinker' || job.role === 'puncher') {
  const f = view.openSync('r', 'w+');
  while (Date.now() < until) {
    f.writeSync(Buffer.alloc(2 * PAGE, 0x11), 0, 2 * PAGE, 0);
    f.fsyncSync();
    // Free block 1: truncate it away, or punch it out (fallocate's punch hole keeps the size).
    if (job.role === 'shrinker') f.ftruncateSync(PAGE);
    else f.allocateSync(PAGE, PAGE, { punchHole: true });
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
parentPort!.postMessage({ ops, bad, first, ambiguous });
