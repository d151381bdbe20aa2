// Guards DESIGN.md invariants 1, 6, 7 and 9 as plain file semantics: random single-thread sequences
// of write / read / truncate / sync / reopen (plus pausing the conversion worker and drop_caches),
// through buffered and direct handles, in both read modes, on a 16-page cache so that eviction and
// writeback run, compared with an in-memory model of a file. The image is pre-filled with a
// sentinel, so a stale byte shows as a mismatch too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type Engine, type FileHandle } from '../src/index.js';
import { PAGE, cleanup, firstDiff, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

const FILES = 2;
const MAX_END = 24 * PAGE; // 24 blocks per file at most: a table of 32 extent records never fills
const IMAGE_BYTES = 8 << 20;
const CACHE_PAGES = 16; // 2 files of up to 24 pages: eviction and reclaim writeback run
const PAUSE_OPS = 2;
/** DIOREAD_MODEL_TRACE=1 prints every step (to find where a sequence hangs or fails). */
const TRACE = process.env.DIOREAD_MODEL_TRACE === '1';

type Op =
  | { k: 'write'; file: number; direct: boolean; pos: number; len: number; seed: number }
  | { k: 'read'; file: number; direct: boolean; pos: number; len: number }
  | { k: 'truncate'; file: number; len: number }
  | { k: 'sync'; file: number }
  | { k: 'stat'; file: number }
  | { k: 'reopen' }
  | { k: 'pause' }
  | { k: 'dropCaches' };

// Positions cluster on page edges (where the bugs live) but may be anywhere.
const position = (max: number) =>
  fc.oneof(
    fc.integer({ min: 0, max }),
    fc.integer({ min: 0, max: Math.floor(max / PAGE) }).map((p) => p * PAGE),
    fc.tuple(fc.integer({ min: 1, max: Math.floor(max / PAGE) }), fc.integer({ min: -3, max: 3 })).map(([p, d]) => Math.max(0, Math.min(max, p * PAGE + d))),
  );
const length = fc.oneof(fc.integer({ min: 1, max: 4 * PAGE }), fc.integer({ min: 1, max: 4 }).map((p) => p * PAGE), fc.integer({ min: 1, max: 16 }));
const file = fc.integer({ min: 0, max: FILES - 1 });

/** For the 16-record table: short writes all over, so files fragment (allocation and conversion). */
const smallWrites: fc.Arbitrary<Op> = fc.record({
  k: fc.constant('write' as const),
  file,
  direct: fc.boolean(),
  pos: position(MAX_END - PAGE),
  len: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(PAGE)),
  seed: fc.integer({ min: 1, max: 1e6 }),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('write' as const), file, direct: fc.boolean(), pos: position(MAX_END - 4 * PAGE), len: length, seed: fc.integer({ min: 1, max: 1e6 }) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('read' as const), file, direct: fc.boolean(), pos: position(MAX_END), len: length }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), file, len: position(MAX_END) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('sync' as const), file }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('stat' as const), file }) },
  { weight: 1, arbitrary: fc.constant({ k: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.constant({ k: 'pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'dropCaches' as const }) },
);

class Session {
  eng!: Engine;
  h: Array<{ buffered: FileHandle; direct: FileHandle }> = [];
  /** Operations left before the paused conversion worker is resumed (0: running). */
  pausedFor = 0;
  constructor(
    readonly image: string,
    readonly nolock: boolean,
  ) {}
  async open() {
    this.eng = await openImage(this.image, { dioreadNolock: this.nolock, cachePages: CACHE_PAGES, ioEnds: 32, poolThreads: 1 });
    this.pausedFor = 0;
    this.h = [];
    for (let i = 0; i < FILES; i++) {
      this.h.push({ buffered: await this.eng.open(`f${i}`, { create: true }), direct: await this.eng.open(`f${i}`, { create: true, direct: true }) });
    }
  }
  async close() {
    for (const x of this.h) {
      await x.buffered.close();
      await x.direct.close();
    }
    this.h = [];
    await this.eng.close();
  }
}

/**
 * Every write lands whole (the tree grows as the extents do; the device is far from full). The
 * small-writes mix makes files of many extents, so roots fill and trees grow in depth, and
 * conversions split extents inside leaves.
 */
async function runOps(ops: Op[], nolock: boolean, stats: { short: number; enospc: number }): Promise<void> {
  const image = await freshImage(IMAGE_BYTES, { maxFiles: 4 });
  const model: Buffer[] = Array.from({ length: FILES }, () => Buffer.alloc(0));
  const s = new Session(image, nolock);
  await s.open();
  try {
    for (const [step, op] of ops.entries()) {
      const where = `step ${step} ${JSON.stringify(op)}`;
      if (TRACE) process.stderr.write(`${where}\n`);
      switch (op.k) {
        case 'write': {
          const data = pattern(op.seed, op.pos, op.len);
          let bytesWritten = 0;
          bytesWritten = (await s.h[op.file][op.direct ? 'direct' : 'buffered'].write(data, { position: op.pos })).bytesWritten;
          assert.equal(bytesWritten, op.len, where);
          if (bytesWritten < op.len) stats.short++;
          const m = model[op.file];
          const end = op.pos + bytesWritten;
          const next = end > m.length ? Buffer.concat([m, Buffer.alloc(end - m.length)]) : m;
          data.copy(next, op.pos, 0, bytesWritten);
          model[op.file] = next;
          break;
        }
        case 'read': {
          const buf = Buffer.alloc(op.len);
          const { bytesRead } = await s.h[op.file][op.direct ? 'direct' : 'buffered'].read(buf, { position: op.pos });
          const m = model[op.file];
          const want = m.subarray(Math.min(op.pos, m.length), Math.min(op.pos + op.len, m.length));
          assert.equal(bytesRead, want.length, `${where}: bytesRead`);
          const d = firstDiff(buf.subarray(0, bytesRead), want);
          assert.equal(d, null, `${where}: ${d?.what} (offset relative to ${op.pos})`);
          break;
        }
        case 'truncate': {
          await s.h[op.file].buffered.truncate(op.len);
          const m = model[op.file];
          model[op.file] = op.len <= m.length ? Buffer.from(m.subarray(0, op.len)) : Buffer.concat([m, Buffer.alloc(op.len - m.length)]);
          break;
        }
        case 'sync':
          await s.h[op.file].buffered.sync();
          assert.equal((await s.h[op.file].buffered.cacheState()).pendingConversions, 0, `${where}: sync left the completed list empty`);
          break;
        case 'stat':
          assert.equal((await s.h[op.file].direct.stat()).size, model[op.file].length, `${where}: size`);
          break;
        case 'reopen': {
          await s.close();
          const r = fsck(image);
          assert.ok(r.clean, `${where}: fsck ${r.summary}`);
          await s.open();
          break;
        }
        case 'pause':
          // The writeback-before-conversion window, kept short: with the worker paused, pages
          // written back stay pinned and io_ends stay taken, and a reader (holding no inode mutex)
          // that needs a frame or an io_end has to wait for the worker. Starting from an empty
          // queue, two operations pin at most 10 pages of the 16 and take 10 io_ends of the 32.
          if (s.pausedFor === 0) {
            await s.eng.drainConversion();
            await s.eng.pauseConversion();
          }
          s.pausedFor = PAUSE_OPS + 1;
          break;
        case 'dropCaches':
          await s.eng.dropCaches();
          break;
      }
      if (s.pausedFor > 0 && --s.pausedFor === 0) await s.eng.resumeConversion();
    }
    // Whole files, both handle kinds, then once more from the image after a clean close.
    for (let i = 0; i < FILES; i++) {
      for (const kind of ['buffered', 'direct'] as const) {
        const d = firstDiff(await readWhole(s.h[i][kind], model[i].length + PAGE), model[i]);
        assert.equal(d, null, `end, f${i} ${kind}: ${d?.what}`);
      }
    }
    await s.close();
    const r = fsck(image);
    assert.ok(r.clean, `end: fsck ${r.summary}`);
    assert.deepEqual(r.warnings, [], 'end: clean close, no leaked blocks');
    await s.open();
    for (let i = 0; i < FILES; i++) {
      const d = firstDiff(await readWhole(s.h[i].direct, model[i].length + PAGE), model[i]);
      assert.equal(d, null, `after reopen, f${i}: ${d?.what}`);
    }
  } finally {
    await s.close().catch(() => undefined);
  }
  cleanup(image);
}

const NUM_RUNS = Number(process.env.DIOREAD_MODEL_RUNS ?? 40);
// A fixed seed keeps CI reproducible; DIOREAD_MODEL_SEED=random explores (the seed is printed).
const SEED = process.env.DIOREAD_MODEL_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.DIOREAD_MODEL_SEED ?? 0x5eed);

const variants = [
  { nolock: true, smallWritesMix: false },
  { nolock: false, smallWritesMix: false },
  { nolock: true, smallWritesMix: true },
];
for (const [k, { nolock, smallWritesMix }] of variants.entries()) {
  test(`random operation sequences match the file model (${nolock ? 'nolock' : 'inode-mutex'} reads${smallWritesMix ? ', many small extents' : ''})`, async (t) => {
    const seed = SEED + k;
    let runs = 0;
    let ops = 0;
    const stats = { short: 0, enospc: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(smallWritesMix ? fc.oneof({ weight: 3, arbitrary: smallWrites }, { weight: 2, arbitrary: opArb }) : opArb, { minLength: 10, maxLength: 60, size: 'max' }), async (seq) => {
        runs++;
        ops += seq.length;
        await runOps(seq, nolock, stats);
      }),
      { numRuns: smallWritesMix ? Math.ceil(NUM_RUNS / 2) : NUM_RUNS, seed, endOnFailure: false },
    );
    t.diagnostic(`seed ${seed}: ${runs} sequences, ${ops} operations (shrinking included); short writes ${stats.short}, ENOSPC ${stats.enospc}`);
  });
}
