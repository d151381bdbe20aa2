// Guards the lock primitives every invariant rests on (DESIGN.md invariants 4-5 and issue 2, engine
// item 3): the futex-style mutex (spinning, and sleeping with handoff), the spinlock and the seqlock,
// each across at least 4 worker threads. Mutual exclusion is proven by a non-atomic
// read-modify-write counter that must not lose an update, and the seqlock by readers that must
// never accept a torn pair; the bypassed (broken) modes must trip both detectors.
//
// Words used: an engine whose inode 7 is never allocated (no file is created), so its I_MUTEX,
// I_COMPLETED_LOCK, I_SEQ and size words (I_SIZE_LO/I_SIZE_HI: the pair the seqlock guards in the
// engine too) are free for the test; the counter lives in a separate SharedArrayBuffer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { I_COMPLETED_LOCK, I_MUTEX, I_SEQ, I_SIZE_HI, I_SIZE_LO, inodeWord } from '../src/shm/layout.js';
import { runWorkersWithWatchdog } from './helpers/files.js';
import { C_COUNTER, C_WORDS, type LockJob, type LockResult } from './helpers/lock-control.js';

const WORKER = new URL('./workers/lock-worker.js', import.meta.url);
const SPARE_INO = 7;

async function withEngine<T>(fn: (eng: Engine) => Promise<T>): Promise<T> {
  const eng = await Engine.open({ sizeBytes: 8 << 20, maxFiles: SPARE_INO + 1 });
  try {
    return await fn(eng);
  } finally {
    await eng.close();
  }
}

function words(eng: Engine) {
  const l = eng.layout;
  return {
    mutex: inodeWord(l, SPARE_INO, I_MUTEX),
    spin: inodeWord(l, SPARE_INO, I_COMPLETED_LOCK),
    seq: inodeWord(l, SPARE_INO, I_SEQ),
    lo: inodeWord(l, SPARE_INO, I_SIZE_LO),
    hi: inodeWord(l, SPARE_INO, I_SIZE_HI),
  };
}

/** 4 workers increment one counter inside the lock; returns the counter and the increments made. */
async function counterRun(kind: 'mutex' | 'spin', opts: { bypass?: boolean; spinOverride?: number; iterations?: number }) {
  return withEngine(async (eng) => {
    const w = words(eng);
    const control = new SharedArrayBuffer(C_WORDS * 4);
    const n = 4;
    const jobs: LockJob[] = Array.from({ length: n }, () => ({
      desc: eng.share(),
      control,
      kind,
      bypass: opts.bypass ?? false,
      workers: n,
      writers: 0,
      iterations: opts.iterations ?? 60_000,
      deadlineMs: 3000,
      spinOverride: opts.spinOverride ?? 0,
      lockWord: kind === 'mutex' ? w.mutex : w.spin,
      seqWord: w.seq,
      pairLo: w.lo,
      pairHi: w.hi,
    }));
    const results = await runWorkersWithWatchdog<LockResult>(WORKER, jobs, 60_000, `${kind} counter: a lock never came back`);
    const row = eng.lockStats().find((r) => r.class === (kind === 'mutex' ? 'i_mutex' : 'i_completed_io_lock'))!;
    return {
      counter: new Int32Array(control)[C_COUNTER],
      increments: results.reduce((s, r) => s + r.done, 0),
      acquisitions: row.acquisitions,
      contentions: row.contentions,
    };
  });
}

const cases = [
  { name: 'mutex', kind: 'mutex' as const, spinOverride: 0 },
  { name: 'mutex (sleeping at once: futex wait, wake and handoff)', kind: 'mutex' as const, spinOverride: 1 },
  { name: 'spinlock', kind: 'spin' as const, spinOverride: 0 },
];

for (const c of cases) {
  test(`${c.name}: 4 workers, a non-atomic counter inside the lock loses no update`, async (t) => {
    const r = await counterRun(c.kind, { spinOverride: c.spinOverride });
    t.diagnostic(`${c.name}: ${r.increments} increments, counter ${r.counter}; lock_stat acquisitions ${r.acquisitions}, contentions ${r.contentions}`);
    assert.ok(r.increments >= 4 * 1000, `every worker made progress (${r.increments})`);
    assert.equal(r.counter, r.increments, 'no update lost');
    assert.equal(r.acquisitions, r.increments, 'lock_stat counted every acquisition');
    assert.ok(r.contentions > 0, 'the workers did contend (else the test proves nothing)');
  });
}

test('negative control: the same counter without the lock loses updates', async (t) => {
  let lost = 0;
  for (let attempt = 0; attempt < 3 && lost === 0; attempt++) {
    const r = await counterRun('mutex', { bypass: true, iterations: 200_000 });
    lost = r.increments - r.counter;
    t.diagnostic(`bypassed lock, attempt ${attempt + 1}: ${r.increments} increments, counter ${r.counter}, lost ${lost}`);
  }
  assert.ok(lost > 0, 'unprotected read-modify-write must lose updates: the detector detects');
});

/** 2 seqlock writers and 3 readers (5 workers); returns the readers' accepted reads and torn pairs. */
async function seqRun(bypass: boolean) {
  return withEngine(async (eng) => {
    const w = words(eng);
    const i32 = new Int32Array(eng.share().meta);
    i32[w.lo] = 0;
    i32[w.hi] = ~0; // the pair starts consistent: hi === ~lo
    const control = new SharedArrayBuffer(C_WORDS * 4);
    const kinds: Array<LockJob['kind']> = ['seq-writer', 'seq-writer', 'seq-reader', 'seq-reader', 'seq-reader'];
    const jobs: LockJob[] = kinds.map((kind) => ({
      desc: eng.share(),
      control,
      kind,
      bypass: kind === 'seq-reader' && bypass,
      workers: kinds.length,
      writers: 2,
      iterations: 100_000,
      deadlineMs: 2500,
      spinOverride: 0,
      lockWord: w.mutex,
      seqWord: w.seq,
      pairLo: w.lo,
      pairHi: w.hi,
    }));
    const results = await runWorkersWithWatchdog<LockResult>(WORKER, jobs, 60_000, 'seqlock: stuck');
    const writes = results.filter((r) => r.kind === 'seq-writer').reduce((s, r) => s + r.done, 0);
    const readers = results.filter((r) => r.kind === 'seq-reader');
    return {
      writes,
      pairLo: i32[w.lo],
      reads: readers.reduce((s, r) => s + r.done, 0),
      retries: readers.reduce((s, r) => s + r.retries, 0),
      torn: readers.reduce((s, r) => s + r.torn, 0),
      firstTorn: readers.find((r) => r.torn > 0)?.firstTorn ?? '',
    };
  });
}

test('seqlock: 2 writers and 3 readers; a reader never accepts a torn pair', async (t) => {
  const r = await seqRun(false);
  t.diagnostic(`seqlock: ${r.writes} writes, ${r.reads} reads accepted, ${r.retries} retried, torn ${r.torn}`);
  assert.equal(r.pairLo, r.writes, 'the writers (serialized by the mutex) lost no update');
  assert.ok(r.reads > 1000, `readers made progress (${r.reads})`);
  assert.ok(r.retries > 0, 'readers overlapped writers and retried (else the test proves nothing)');
  assert.equal(r.torn, 0, `torn pair accepted: ${r.firstTorn}`);
});

test('negative control: seqlock readers that skip the retry check see torn pairs', async (t) => {
  let torn = 0;
  for (let attempt = 0; attempt < 3 && torn === 0; attempt++) {
    const r = await seqRun(true);
    torn = r.torn;
    t.diagnostic(`no retry check, attempt ${attempt + 1}: ${r.writes} writes, ${r.reads} reads, torn ${r.torn} (first: ${r.firstTorn})`);
  }
  assert.ok(torn > 0, 'reads without the sequence check must see torn pairs: the detector detects');
});
