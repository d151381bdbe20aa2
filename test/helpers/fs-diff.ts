// The node:fs differential's shared half (test/fs-differential.test.ts and its sync-side worker,
// test/workers/fs-diff-sync-side.ts): the operations, the sides that run them (node:fs/promises on a
// real directory, dioread's FileHandle, dioread's attached SyncFileHandle), and what is compared.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DioreadError, Engine, type FileHandle } from '../../src/index.js';
import { pattern } from './files.js';

export const PAGE = 4096;
export const MAX_POS = 6 * PAGE; // files stay small: positions cluster on page edges and past the end
export const SLOTS = 3;

/** The namespace calls, on the Engine and (as *Sync calls) on attached views. */
export interface NamespaceApi {
  unlink(p: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  readdir(p?: string): Promise<string[]>;
  stat(p: string): Promise<{ size: number; isFile(): boolean; isDirectory(): boolean }>;
  access(p: string): Promise<void>;
  exists(p: string): Promise<boolean>;
  mkdir(p: string, o?: { recursive?: boolean }): Promise<unknown>;
  rmdir(p: string): Promise<void>;
}
const engineApi = Engine.prototype as unknown as Partial<NamespaceApi>;
/** The engine has the namespace calls (they join the mix by themselves). */
export const NAMESPACE = typeof engineApi.unlink === 'function';
/** The engine has directories besides the root (mkdir/rmdir): paths in them join the mix too. */
export const DIRECTORIES = typeof engineApi.mkdir === 'function';

/**
 * The file names a sequence uses. With the namespace: a path under a missing directory (ENOENT)
 * and one under a file (ENOTDIR, or ENOENT while that file is missing), as open(2) answers them.
 */
export const FILES = !NAMESPACE ? ['f0', 'f1'] : DIRECTORIES ? ['f0', 'f1', 'f2', 'd0/f0', 'd0/f1', 'f0/x'] : ['f0', 'f1', 'f2', 'd0/f0', 'f0/x'];
export const DIRS = ['d0', 'd1', 'd0/d2'];
/** Paths stat, access and exists are asked about: the files, the root, and the directories. */
export const PATHS = [...FILES, '/', ...(DIRECTORIES ? DIRS : [])];
export const FLAGS = ['r', 'rs+', 'r+', 'w', 'wx', 'w+', 'wx+', 'a', 'ax', 'a+', 'ax+', 'as', 'as+'] as const;

export type Pos = null | undefined | number | bigint;
export type Op =
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
  | { k: 'access' | 'exists'; name: string }
  | { k: 'mkdir'; dir: string; recursive: boolean }
  | { k: 'rmdir'; dir: string };

// ------------------------------------------------------------------------------------------------
// The sides: one code path drives them all, since the calls are the same
// ------------------------------------------------------------------------------------------------

/** What both node's FileHandle and dioread's offer (the shapes this test calls). */
export type AnyHandle = Pick<FileHandle, 'read' | 'write' | 'readv' | 'writev' | 'truncate' | 'sync' | 'datasync' | 'readFile' | 'writeFile' | 'appendFile' | 'close'> & {
  stat(): Promise<{ size: number; blocks: number; blksize: number; nlink: number; mode: number; isFile(): boolean; isDirectory(): boolean }>;
};

export interface Side {
  readonly kind: 'node' | 'dioread' | 'sync';
  open(name: string, flags: string): Promise<AnyHandle>;
  ns: NamespaceApi;
}

export function nodeSide(dir: string): Side {
  const at = (p: string) => path.join(dir, p);
  return {
    kind: 'node',
    open: async (name, flags) => {
      const h = await fsp.open(at(name), flags);
      // A difference on purpose (docs/API.md): dioread's open of a directory is EISDIR whatever
      // the flags; Linux opens one for reading (its reads then fail with EISDIR).
      if ((await h.stat()).isDirectory()) {
        await h.close();
        throw Object.assign(new Error(`EISDIR: open of the directory ${name}`), { code: 'EISDIR' });
      }
      return h as unknown as AnyHandle;
    },
    ns: {
      unlink: (p) => fsp.unlink(at(p)),
      rename: (a, b) => fsp.rename(at(a), at(b)),
      readdir: (p = '/') => fsp.readdir(at(p)),
      stat: (p) => fsp.stat(at(p)),
      access: (p) => fsp.access(at(p)),
      exists: (p) => fsp.access(at(p)).then(
        () => true,
        () => false,
      ),
      mkdir: (p, o) => fsp.mkdir(at(p), o),
      rmdir: (p) => fsp.rmdir(at(p)),
    },
  };
}

export function dioreadSide(eng: Engine): Side {
  return { kind: 'dioread', open: (name, flags) => eng.open(name, flags) as unknown as Promise<AnyHandle>, ns: eng as unknown as NamespaceApi };
}

/** A result both sides can be compared on: a plain value, or the error's code. */
export type Outcome = { ok: unknown } | { err: string };

/** node's own argument errors (ERR_*) are dioread's EINVAL. */
export function errCode(side: Side, err: unknown): string {
  if (side.kind !== 'node') {
    if (!(err instanceof DioreadError)) throw new Error(`a ${(err as Error)?.constructor?.name ?? typeof err} reached the caller, not a DioreadError: ${String(err)}`);
    return err.code;
  }
  const code = (err as { code?: string }).code ?? String(err);
  return code.startsWith('ERR_') ? 'EINVAL' : code;
}

export async function outcome(side: Side, fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await fn() };
  } catch (err) {
    return { err: errCode(side, err) };
  }
}

export function stringData(seed: number, len: number): string {
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
export function hex(b: Uint8Array): string {
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
export function sidePos(side: Side, pos: Pos): number | null {
  return (side.kind === 'node' && typeof pos === 'bigint' ? Number(pos) : pos) as number | null;
}

/** Run one file operation on one side; the returned value is what is compared. */
export async function fileOp(side: Side, h: AnyHandle, op: Op): Promise<unknown> {
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
      if (side.kind !== 'node') return h.truncate(op.len);
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
export function statFields(side: Side, _h: AnyHandle, st: Awaited<ReturnType<AnyHandle['stat']>>): unknown {
  if (side.kind !== 'node') {
    // blocks: 512-byte units, 8 per 4 KiB block allocated to the file; a hole allocates nothing.
    assert.equal(st.blocks % 8, 0, `dioread blocks ${st.blocks} counts whole 4 KiB blocks`);
    assert.ok(st.blocks <= 8 * Math.ceil(st.size / PAGE), `dioread blocks ${st.blocks} for size ${st.size}: no block past the end`);
    assert.equal(st.blksize, PAGE);
  }
  return { size: st.size, nlink: st.nlink, type: st.mode & 0o170000, isFile: st.isFile(), isDirectory: st.isDirectory() };
}

export async function nsOp(side: Side, op: Op): Promise<unknown> {
  const ns = side.ns;
  switch (op.k) {
    case 'unlink':
      return ns.unlink(op.name);
    case 'rename':
      return ns.rename(op.from, op.to);
    case 'readdir':
      // Each lists in its directory's own order (node's is the host filesystem's): compared sorted.
      return (await ns.readdir(op.dir)).sort();
    case 'access':
      return ns.access(op.name);
    case 'exists':
      return ns.exists(op.name);
    case 'pathStat': {
      const st = await ns.stat(op.name);
      return { isFile: st.isFile(), isDirectory: st.isDirectory(), size: st.isFile() ? st.size : null };
    }
    case 'mkdir':
      // What it resolves to differs in form (node: the host path of the first directory made).
      return ns.mkdir(op.dir, { recursive: op.recursive }).then(() => undefined);
    case 'rmdir':
      return ns.rmdir(op.dir);
    default:
      throw new Error(`not a namespace operation: ${op.k}`);
  }
}

// ------------------------------------------------------------------------------------------------
// One sequence on several sides
// ------------------------------------------------------------------------------------------------

export class Run {
  readonly handles: Array<Array<AnyHandle | null>>;
  constructor(readonly sides: Side[]) {
    this.handles = sides.map(() => Array<AnyHandle | null>(SLOTS).fill(null));
  }

  /** Apply `op` to side i; undefined when it does not apply (an empty slot). */
  async apply(i: number, op: Op): Promise<Outcome | undefined> {
    const side = this.sides[i]!;
    const hs = this.handles[i]!;
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
      case 'access':
      case 'exists':
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

/** Whole contents of every file, read by a fresh handle (ENOENT for a missing one). */
export async function fileContents(side: Side): Promise<Outcome[]> {
  const got: Outcome[] = [];
  for (const name of FILES) {
    got.push(
      await outcome(side, async () => {
        const h = await side.open(name, 'r');
        try {
          const all = (await h.readFile()) as Buffer;
          const st = await h.stat();
          return { size: st.size, data: hex(all) };
        } finally {
          await h.close();
        }
      }),
    );
  }
  return got;
}

/** Show an operation in a failure message (bigints and undefined spelled out). */
export function showOp(step: number, op: Op): string {
  return `step ${step} ${JSON.stringify(op, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v === undefined ? 'undefined' : v))}`;
}
