// Guards DESIGN.md's contract "the file API follows node:fs/promises call for call" (issue 12's
// differential test): the same random sequence of operations runs against node:fs/promises on a real
// temporary directory and against dioread, and every result (bytes, bytesRead/bytesWritten, sizes,
// stat fields) and every error code must be the same.
//
// The operations: open with node's flag strings, read and write in every call shape (positions
// null / undefined / -1 = the file position, numbers, bigints), append mode, readv/writev,
// truncate, stat, sync/datasync, readFile/writeFile/appendFile on a handle, close (twice), calls
// on a closed handle or one opened without the access they need. When the engine has the namespace
// calls (unlink, rename, readdir, stat, mkdir, rmdir), they join the mix on their own: NAMESPACE
// below is true as soon as Engine.prototype.unlink exists.
//
// Bounded: DIOREAD_DIFF_RUNS sequences (default 60) within DIOREAD_DIFF_DEADLINE_MS (default 60 s);
// `npm run fuzz` runs many more. DIOREAD_DIFF_SEED replays one seed; DIOREAD_DIFF_TRACE=1 prints
// every step.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { DioreadError, Engine, type FileHandle } from '../src/index.js';
import { tmpDir } from './helpers/image.js';
import { pattern } from './helpers/files.js';

const RUNS = Number(process.env.DIOREAD_DIFF_RUNS ?? 60);
const DEADLINE_MS = Number(process.env.DIOREAD_DIFF_DEADLINE_MS ?? 60_000);
const SEED = process.env.DIOREAD_DIFF_SEED === undefined ? undefined : Number(process.env.DIOREAD_DIFF_SEED);
const TRACE = process.env.DIOREAD_DIFF_TRACE === '1';
const PAGE = 4096;
const MAX_POS = 6 * PAGE; // files stay small: positions cluster on page edges and past the end
const SLOTS = 3;

/** The namespace calls the engine gains in issue 12 (typed here so this file compiles before they land). */
interface NamespaceApi {
  unlink(p: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  readdir(p?: string): Promise<string[]>;
  stat(p: string): Promise<{ size: number; isFile(): boolean; isDirectory(): boolean }>;
  mkdir(p: string, o?: { recursive?: boolean }): Promise<unknown>;
  rmdir(p: string): Promise<void>;
}
const NAMESPACE = typeof (Engine.prototype as unknown as Partial<NamespaceApi>).unlink === 'function';

const FILES = NAMESPACE ? ['f0', 'f1', 'd0/f0', 'd0/f1'] : ['f0', 'f1'];
const DIRS = ['d0', 'd1'];
const FLAGS = ['r', 'rs+', 'r+', 'w', 'wx', 'w+', 'wx+', 'a', 'ax', 'a+', 'ax+', 'as', 'as+'] as const;

type Pos = null | undefined | number | bigint;
type Op =
  | { k: 'open'; slot: number; name: string; flags: string }
  | { k: 'close'; slot: number }
  | { k: 'read'; slot: number; shape: 'args' | 'opts' | 'obj' | 'none'; bufLen: number; off: number; len: number; pos: Pos }
  | { k: 'write'; slot: number; shape: 'args' | 'opts' | 'string'; seed: number; bufLen: number; off: number; len: number; pos: Pos; enc: BufferEncoding }
  | { k: 'readv'; slot: number; lens: number[]; pos: Pos }
  | { k: 'writev'; slot: number; lens: number[]; seed: number; pos: Pos }
  | { k: 'truncate'; slot: number; len: number | undefined }
  | { k: 'stat'; slot: number }
  | { k: 'sync'; slot: number; data: boolean }
  | { k: 'readFile'; slot: number; enc: 'utf8' | 'hex' | null }
  | { k: 'writeFile' | 'appendFile'; slot: number; seed: number; len: number; asString: boolean }
  | { k: 'unlink'; name: string }
  | { k: 'rename'; from: string; to: string }
  | { k: 'readdir'; dir: string }
  | { k: 'pathStat'; name: string }
  | { k: 'mkdir'; dir: string }
  | { k: 'rmdir'; dir: string };

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
    ops.push(
      { weight: 1, arbitrary: fc.record({ k: fc.constant('unlink' as const), name: fc.oneof(file, dir) }) },
      { weight: 1, arbitrary: fc.oneof(fc.record({ k: fc.constant('rename' as const), from: file, to: file }), fc.record({ k: fc.constant('rename' as const), from: dir, to: dir })) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('readdir' as const), dir: fc.constantFrom('', ...DIRS, 'f0') }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('pathStat' as const), name: fc.oneof(file, dir) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('mkdir' as const), dir }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('rmdir' as const), dir }) },
    );
  }
  return fc.oneof(...ops);
}

// ------------------------------------------------------------------------------------------------
// The two sides: one code path drives both, since the calls are the same
// ------------------------------------------------------------------------------------------------

/** What both node's FileHandle and dioread's offer (the shapes this test calls). */
type AnyHandle = Pick<FileHandle, 'read' | 'write' | 'readv' | 'writev' | 'truncate' | 'sync' | 'datasync' | 'readFile' | 'writeFile' | 'appendFile' | 'close'> & {
  stat(): Promise<{ size: number; blocks: number; blksize: number; nlink: number; mode: number; isFile(): boolean; isDirectory(): boolean }>;
};

interface Side {
  readonly kind: 'node' | 'dioread';
  open(name: string, flags: string): Promise<AnyHandle>;
  ns: NamespaceApi;
}

function nodeSide(dir: string): Side {
  const at = (p: string) => path.join(dir, p);
  return {
    kind: 'node',
    open: (name, flags) => fsp.open(at(name), flags) as unknown as Promise<AnyHandle>,
    ns: {
      unlink: (p) => fsp.unlink(at(p)),
      rename: (a, b) => fsp.rename(at(a), at(b)),
      readdir: (p = '') => fsp.readdir(at(p)),
      stat: (p) => fsp.stat(at(p)),
      mkdir: (p, o) => fsp.mkdir(at(p), o),
      rmdir: (p) => fsp.rmdir(at(p)),
    },
  };
}

function dioreadSide(eng: Engine): Side {
  return { kind: 'dioread', open: (name, flags) => eng.open(name, flags) as unknown as Promise<AnyHandle>, ns: eng as unknown as NamespaceApi };
}

/** A result both sides can be compared on: a plain value, or the error's code. */
type Outcome = { ok: unknown } | { err: string };

/** node's own argument errors (ERR_*) are dioread's EINVAL. */
function errCode(side: Side, err: unknown): string {
  if (side.kind === 'dioread') {
    if (!(err instanceof DioreadError)) throw new Error(`a ${(err as Error)?.constructor?.name ?? typeof err} reached the caller, not a DioreadError: ${String(err)}`);
    return err.code;
  }
  const code = (err as { code?: string }).code ?? String(err);
  return code.startsWith('ERR_') ? 'EINVAL' : code;
}

async function outcome(side: Side, fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await fn() };
  } catch (err) {
    return { err: errCode(side, err) };
  }
}

function stringData(seed: number, len: number): string {
  // Multi-byte characters, so that bytesWritten counts bytes, not characters.
  const alphabet = 'abcdé€xyz0123';
  let s = '';
  for (let i = 0; s.length < len; i++) s += alphabet[(seed + i * 7) % alphabet.length];
  return s;
}

/**
 * Bytes as a short, comparable string: hex, with runs of 8 or more equal bytes written `ee*3406`
 * (a failure report then shows where two results differ instead of pages of hex).
 */
function hex(b: Uint8Array): string {
  const parts: string[] = [];
  let raw = '';
  for (let i = 0; i < b.byteLength; ) {
    let j = i + 1;
    while (j < b.byteLength && b[j] === b[i]) j++;
    const byte = b[i]!.toString(16).padStart(2, '0');
    if (j - i >= 8) {
      if (raw) parts.push(raw);
      raw = '';
      parts.push(`${byte}*${j - i}`);
    } else raw += byte.repeat(j - i);
    i = j;
  }
  if (raw) parts.push(raw);
  return parts.join(' ');
}

/**
 * The position a side is given. node documents a bigint position for FileHandle.read, but node 20's
 * promise API reads at the file position instead (and readv does the same; fs.readSync honours it):
 * node's side gets the number its documentation promises, which is what dioread implements.
 */
function sidePos(side: Side, pos: Pos): number | null {
  return (side.kind === 'node' && typeof pos === 'bigint' ? Number(pos) : pos) as number | null;
}

/** Run one file operation on one side; the returned value is what is compared. */
async function fileOp(side: Side, h: AnyHandle, op: Op): Promise<unknown> {
  switch (op.k) {
    case 'read': {
      if (op.shape === 'none') {
        const r = await h.read();
        return { bytesRead: r.bytesRead, bufLen: r.buffer.byteLength, data: hex(r.buffer.subarray(0, r.bytesRead)) };
      }
      const buf = Buffer.alloc(op.bufLen, 0xee);
      const pos = sidePos(side, op.pos);
      const r =
        op.shape === 'args'
          ? await h.read(buf, op.off, op.len, pos)
          : op.shape === 'opts'
            ? await h.read(buf, { offset: op.off, length: op.len, position: pos })
            : await h.read({ buffer: buf, offset: op.off, length: op.len, position: pos });
      assert.equal(r.buffer, buf, `${side.kind}: read hands back the caller's buffer`);
      return { bytesRead: r.bytesRead, data: hex(buf) };
    }
    case 'write': {
      if (op.shape === 'string') {
        const s = stringData(op.seed, op.len);
        const r = await h.write(s, op.pos as number | null, op.enc === 'hex' ? 'utf8' : op.enc);
        assert.equal(r.buffer, s, `${side.kind}: write(string) hands back the string`);
        return { bytesWritten: r.bytesWritten };
      }
      const buf = pattern(op.seed, 0, op.bufLen);
      const r = op.shape === 'args' ? await h.write(buf, op.off, op.len, op.pos as number | null) : await h.write(buf, { offset: op.off, length: op.len, position: op.pos as number | null });
      return { bytesWritten: r.bytesWritten };
    }
    case 'readv': {
      const bufs = op.lens.map((n) => Buffer.alloc(n, 0xee));
      const r = await h.readv(bufs, sidePos(side, op.pos));
      return { bytesRead: r.bytesRead, data: bufs.map(hex) };
    }
    case 'writev': {
      const r = await h.writev(op.lens.map((n, i) => pattern(op.seed + i, 0, n)), op.pos as number | null);
      return { bytesWritten: r.bytesWritten };
    }
    case 'truncate':
      if (side.kind === 'dioread') return h.truncate(op.len);
      // The one error code that differs on purpose: Linux's ftruncate on a descriptor not open for
      // writing is EINVAL (POSIX allows EBADF or EINVAL); dioread answers EBADF, as for every other
      // write through a read-only handle (docs/API.md, argument-validation.test.ts).
      return h.truncate(op.len).catch((err: { code?: string }) => {
        throw err?.code === 'EINVAL' ? Object.assign(err, { code: 'EBADF' }) : err;
      });
    case 'stat':
      return statFields(side, h, await h.stat());
    case 'sync':
      return op.data ? h.datasync() : h.sync();
    case 'readFile': {
      const r = await h.readFile(op.enc === null ? undefined : { encoding: op.enc });
      return typeof r === 'string' ? r : hex(r);
    }
    case 'writeFile':
    case 'appendFile': {
      const data = op.asString ? stringData(op.seed, op.len) : pattern(op.seed, 0, op.len);
      return op.k === 'writeFile' ? h.writeFile(data) : h.appendFile(data);
    }
    default:
      throw new Error(`not a file operation: ${op.k}`);
  }
}

/** A side's stat(), reduced to the fields that must match (the rest is checked on dioread alone). */
function statFields(side: Side, _h: AnyHandle, st: Awaited<ReturnType<AnyHandle['stat']>>): unknown {
  if (side.kind === 'dioread') {
    // blocks: 512-byte units, 8 per 4 KiB block allocated to the file; a hole allocates nothing.
    assert.equal(st.blocks % 8, 0, `dioread blocks ${st.blocks} counts whole 4 KiB blocks`);
    assert.ok(st.blocks <= 8 * Math.ceil(st.size / PAGE), `dioread blocks ${st.blocks} for size ${st.size}: no block past the end`);
    assert.equal(st.blksize, PAGE);
  }
  return { size: st.size, nlink: st.nlink, type: st.mode & 0o170000, isFile: st.isFile(), isDirectory: st.isDirectory() };
}

async function nsOp(side: Side, op: Op): Promise<unknown> {
  const ns = side.ns;
  switch (op.k) {
    case 'unlink':
      return ns.unlink(op.name);
    case 'rename':
      return ns.rename(op.from, op.to);
    case 'readdir':
      return (await ns.readdir(op.dir)).sort();
    case 'pathStat': {
      const st = await ns.stat(op.name);
      return { isFile: st.isFile(), isDirectory: st.isDirectory(), size: st.isFile() ? st.size : null };
    }
    case 'mkdir':
      return ns.mkdir(op.dir).then(() => undefined);
    case 'rmdir':
      return ns.rmdir(op.dir);
    default:
      throw new Error(`not a namespace operation: ${op.k}`);
  }
}

// ------------------------------------------------------------------------------------------------
// One sequence on both sides
// ------------------------------------------------------------------------------------------------

class Run {
  readonly handles: Array<Array<AnyHandle | null>> = [Array(SLOTS).fill(null), Array(SLOTS).fill(null)];
  constructor(readonly sides: [Side, Side]) {}

  /** Apply `op` to side i; undefined when it does not apply (an empty slot). */
  async apply(i: 0 | 1, op: Op): Promise<Outcome | undefined> {
    const side = this.sides[i];
    const hs = this.handles[i];
    switch (op.k) {
      case 'open': {
        const old = hs[op.slot];
        hs[op.slot] = null;
        if (old) await old.close();
        const o = await outcome(side, () => side.open(op.name, op.flags));
        if ('ok' in o) {
          hs[op.slot] = o.ok as AnyHandle;
          return { ok: 'opened' };
        }
        return o;
      }
      case 'close': {
        const h = hs[op.slot];
        if (!h) return undefined;
        // Closed twice: the second close resolves; the handle stays in its slot, closed, so that
        // later calls on it must fail with EBADF on both sides.
        return outcome(side, async () => {
          await h.close();
          await h.close();
        });
      }
      case 'unlink':
      case 'rename':
      case 'readdir':
      case 'pathStat':
      case 'mkdir':
      case 'rmdir':
        return outcome(side, () => nsOp(side, op));
      default: {
        const h = hs[op.slot];
        if (!h) return undefined;
        return outcome(side, () => fileOp(side, h, op));
      }
    }
  }

  async closeAll(): Promise<void> {
    for (const hs of this.handles) for (const h of hs) await h?.close().catch(() => undefined);
  }
}

/** Whole contents of every file, read by a fresh handle on each side: equal (or ENOENT on both). */
async function compareFiles(run: Run, where: string): Promise<void> {
  for (const name of FILES) {
    const got: Outcome[] = [];
    for (const side of run.sides) {
      got.push(
        await outcome(side, async () => {
          const h = await side.open(name, 'r');
          try {
            const all = (await h.readFile()) as Buffer;
            const st = await h.stat();
            return { size: st.size, data: all.toString('hex') };
          } finally {
            await h.close();
          }
        }),
      );
    }
    assert.deepEqual(got[1], got[0], `${where}: file ${name}: dioread (actual) against node:fs (expected)`);
  }
}

async function runSequence(ops: Op[]): Promise<void> {
  const dir = tmpDir('dioread-diff-');
  const eng = await Engine.open({ sizeBytes: 16 << 20, cachePages: 16, poolThreads: 1, maxFiles: 16, extentsPerFile: 256 });
  const run = new Run([nodeSide(dir), dioreadSide(eng)]);
  try {
    for (const [step, op] of ops.entries()) {
      const where = `step ${step} ${JSON.stringify(op, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v === undefined ? 'undefined' : v))}`;
      if (TRACE) process.stderr.write(`${where}\n`);
      const want = await run.apply(0, op);
      const got = await run.apply(1, op);
      assert.deepEqual(got, want, `${where}: dioread (actual) against node:fs (expected)`);
    }
    await compareFiles(run, `after ${ops.length} steps`);
  } finally {
    await run.closeAll();
    await eng.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test(`random operations give node:fs/promises' results and error codes${NAMESPACE ? ' (with the namespace calls)' : ''}`, async (t) => {
  const started = Date.now();
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb(), { minLength: 1, maxLength: 40 }), async (ops) => {
      runs++;
      await runSequence(ops);
    }),
    { numRuns: RUNS, includeErrorInReport: true, interruptAfterTimeLimit: DEADLINE_MS, markInterruptAsFailure: false, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
  t.diagnostic(`${runs} sequences in ${Date.now() - started} ms (namespace calls: ${NAMESPACE ? 'yes' : 'not in the engine yet'})`);
});
