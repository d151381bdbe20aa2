// Guards DESIGN.md's contract "the file API follows node:fs/promises call for call" (issue 12's
// differential test): the same random sequence of operations runs against node:fs/promises on a real
// temporary directory, against dioread's FileHandle, and (in a worker thread) against an attached
// view's node:fs-style *Sync calls; every result (bytes, bytesRead/bytesWritten, sizes, stat
// fields) and every error code must be the same. The shared half is test/helpers/fs-diff.ts.
//
// The operations: open with node's flag strings, read and write in every call shape (positions
// null / undefined / -1 = the file position, numbers, bigints), append mode, readv/writev,
// truncate, stat, sync/datasync, readFile/writeFile/appendFile on a handle, close (twice), calls
// on a closed handle or one opened without the access they need; and the namespace calls (unlink,
// also of an open file, which stays readable and writable; rename, replacing its target; readdir,
// compared sorted; stat, access, exists of files, the root and paths under a missing directory or a
// file). mkdir/rmdir and paths in directories join by themselves once the engine has mkdir
// (DIRECTORIES in test/helpers/fs-diff.ts).
//
// Bounded: DIOREAD_DIFF_RUNS sequences (default 40) within DIOREAD_DIFF_DEADLINE_MS (default 60 s);
// `npm run fuzz` runs many more. DIOREAD_DIFF_SEED replays one seed; DIOREAD_DIFF_TRACE=1 prints
// every step.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { test } from 'node:test';
import fc from 'fast-check';
import { Engine } from '../src/index.js';
import { tmpDir } from './helpers/image.js';
import { DIRECTORIES, DIRS, FILES, FLAGS, MAX_POS, NAMESPACE, PAGE, PATHS, Run, SLOTS, dioreadSide, fileContents, nodeSide, showOp, type Op, type Outcome, type Pos } from './helpers/fs-diff.js';

const RUNS = Number(process.env.DIOREAD_DIFF_RUNS ?? 40);
const DEADLINE_MS = Number(process.env.DIOREAD_DIFF_DEADLINE_MS ?? 60_000);
const SEED = process.env.DIOREAD_DIFF_SEED === undefined ? undefined : Number(process.env.DIOREAD_DIFF_SEED);
const TRACE = process.env.DIOREAD_DIFF_TRACE === '1';
// ------------------------------------------------------------------------------------------------
// The operations, as fast-check arbitraries
// ------------------------------------------------------------------------------------------------

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const nearPage = (max: number) =>
  fc.oneof(
    fc.integer({ min: 0, max }),
    fc.tuple(fc.integer({ min: 0, max: Math.floor(max / PAGE) }), fc.integer({ min: -2, max: 2 })).map(([p, d]) => Math.max(0, Math.min(max, p * PAGE + d))),
  );
const writePosition: fc.Arbitrary<Pos> = fc.oneof({ weight: 3, arbitrary: fc.constantFrom<Pos>(null, undefined, -1) }, { weight: 6, arbitrary: nearPage(MAX_POS) });
/**
 * Reads also take bigint positions (node documents them for read only: its write() treats a bigint
 * position as null, the file position, which no caller means and dioread does not copy).
 */
const position: fc.Arbitrary<Pos> = fc.oneof({ weight: 9, arbitrary: writePosition }, { weight: 1, arbitrary: nearPage(MAX_POS).map((n) => BigInt(n)) });
/** A buffer, and a non-empty [off, off+len) inside it (node answers zero-length calls without a syscall). */
const bufRange = fc.integer({ min: 1, max: 2 * PAGE + 3 }).chain((bufLen) =>
  fc.integer({ min: 0, max: bufLen - 1 }).chain((off) => fc.record({ bufLen: fc.constant(bufLen), off: fc.constant(off), len: fc.integer({ min: 1, max: bufLen - off }) })),
);
const lens = fc.array(fc.integer({ min: 1, max: PAGE + 5 }), { minLength: 1, maxLength: 4 });

function opArb(): fc.Arbitrary<Op> {
  const file = fc.constantFrom(...FILES);
  const dir = fc.constantFrom(...DIRS);
  const ops: Array<{ weight: number; arbitrary: fc.Arbitrary<Op> }> = [
    { weight: 5, arbitrary: fc.record({ k: fc.constant('open' as const), slot, name: file, flags: fc.constantFrom(...FLAGS) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('close' as const), slot }) },
    { weight: 8, arbitrary: fc.record({ k: fc.constant('read' as const), slot, shape: fc.constantFrom('args' as const, 'opts' as const, 'obj' as const, 'none' as const), pos: position }).chain((o) => bufRange.map((r) => ({ ...o, ...r }))) },
    {
      weight: 8,
      arbitrary: fc
        .record({ k: fc.constant('write' as const), slot, shape: fc.constantFrom('args' as const, 'opts' as const, 'string' as const), seed: fc.integer({ min: 1, max: 1e6 }), pos: writePosition, enc: fc.constantFrom<BufferEncoding>('utf8', 'latin1', 'hex') })
        .chain((o) => bufRange.map((r) => ({ ...o, ...r }))),
    },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('readv' as const), slot, lens, pos: position }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('writev' as const), slot, lens, seed: fc.integer({ min: 1, max: 1e6 }), pos: writePosition }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), slot, len: fc.option(nearPage(MAX_POS), { nil: undefined }) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('stat' as const), slot }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('sync' as const), slot, data: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('readFile' as const), slot, enc: fc.constantFrom<'utf8' | 'hex' | null>('utf8', 'hex', null) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('writeFile' as const, 'appendFile' as const), slot, seed: fc.integer({ min: 1, max: 1e6 }), len: fc.integer({ min: 1, max: 2 * PAGE }), asString: fc.boolean() }) },
  ];
  if (NAMESPACE) {
    const anyPath = fc.constantFrom(...PATHS);
    ops.push(
      // unlink of the root is EISDIR on both; of an open file, the handle keeps working.
      { weight: 2, arbitrary: fc.record({ k: fc.constant('unlink' as const), name: fc.oneof(file, fc.constant('/')) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('rename' as const), from: file, to: file }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('readdir' as const), dir: fc.constantFrom('/', 'f0', 'd0') }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('pathStat' as const), name: anyPath }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('access' as const, 'exists' as const), name: anyPath }) },
    );
  }
  if (DIRECTORIES) {
    const either = fc.oneof(file, dir);
    ops.push(
      // Directories over directories (replacing an empty one; ENOTEMPTY), over files and back.
      { weight: 2, arbitrary: fc.record({ k: fc.constant('rename' as const), from: fc.oneof(dir, either), to: fc.oneof(dir, either) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('mkdir' as const), dir: fc.oneof(dir, file), recursive: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('rmdir' as const), dir: fc.oneof(dir, file) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('readdir' as const), dir }) },
    );
  }
  return fc.oneof(...ops);
}

/** The engine each dioread side runs on: small, so that sequences reach its edges. */
const ENGINE_OPTIONS = { sizeBytes: 16 << 20, cachePages: 16, poolThreads: 1, maxFiles: 16 };

/** The same sequence through an attached view's *Sync calls, in a worker thread (test/workers/fs-diff-sync-side.ts). */
async function runSyncSide(ops: Op[]): Promise<{ outcomes: Array<Outcome | undefined>; files: Outcome[] }> {
  const eng = await Engine.open(ENGINE_OPTIONS);
  try {
    const worker = new Worker(new URL('./workers/fs-diff-sync-side.js', import.meta.url), { workerData: { desc: eng.share(), ops } });
    eng.watchWorker(worker);
    const msg = await new Promise<{ outcomes: Array<Outcome | undefined>; files: Outcome[]; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    if (msg.error !== undefined) throw new Error(`the sync side failed: ${msg.error}`);
    return msg;
  } finally {
    await eng.close();
  }
}

async function runSequence(ops: Op[]): Promise<void> {
  const dir = tmpDir('dioread-diff-');
  const eng = await Engine.open(ENGINE_OPTIONS);
  const run = new Run([nodeSide(dir), dioreadSide(eng)]);
  const expected: Array<Outcome | undefined> = [];
  try {
    for (const [step, op] of ops.entries()) {
      const where = showOp(step, op);
      if (TRACE) process.stderr.write(`${where}\n`);
      const want = await run.apply(0, op);
      expected.push(want);
      const got = await run.apply(1, op);
      assert.deepEqual(got, want, `${where}: dioread (actual) against node:fs (expected)`);
    }
    await run.closeAll();
    const [nodeFiles, dioreadFiles] = [await fileContents(run.sides[0]!), await fileContents(run.sides[1]!)];
    assert.deepEqual(dioreadFiles, nodeFiles, `after ${ops.length} steps: files (${FILES.join(', ')}): dioread (actual) against node:fs (expected)`);
    const sync = await runSyncSide(ops);
    for (const [step, op] of ops.entries()) assert.deepEqual(sync.outcomes[step], expected[step], `${showOp(step, op)}: an attached view's *Sync calls (actual) against node:fs (expected)`);
    assert.deepEqual(sync.files, nodeFiles, `after ${ops.length} steps: files through the *Sync calls (actual) against node:fs (expected)`);
  } finally {
    await run.closeAll();
    await eng.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test(`random operations give node:fs/promises' results and error codes${NAMESPACE ? ' (with the namespace calls)' : ''}${DIRECTORIES ? ' (and directories)' : ''}`, async (t) => {
  const started = Date.now();
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb(), { minLength: 1, maxLength: 40 }), async (ops) => {
      runs++;
      await runSequence(ops);
    }),
    { numRuns: RUNS, includeErrorInReport: true, interruptAfterTimeLimit: DEADLINE_MS, markInterruptAsFailure: false, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
  t.diagnostic(`${runs} sequences in ${Date.now() - started} ms (namespace calls: ${NAMESPACE ? 'yes' : 'not in the engine'}, directories: ${DIRECTORIES ? 'yes' : 'not in the engine yet'})`);
});
