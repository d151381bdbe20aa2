// node:fs argument forms: the read/write call shapes, positions, and open flags, parsed the way
// node:fs parses them, so that a Node developer's habits give the right bytes.
// ext4 counterpart: none; this is the VFS's argument checking (rw_verify_area, build_open_flags)
// seen through node:fs's JavaScript surface (lib/internal/fs/utils.js, lib/internal/fs/promises.js).
//
// Every bad value becomes a DioreadError (EINVAL) that names it; a call that node:fs accepts is
// accepted here with the same meaning:
//   read(buffer, offset?, length?, position?)    read(buffer, { offset, length, position })
//   read({ buffer, offset, length, position })   read()  (a new 16 KiB buffer)
//   write(buffer, offset?, length?, position?)   write(buffer, { offset, length, position })
//   write(string, position?, encoding?)
// position null, undefined or -1 means "at the handle's file position, and advance it"; any other
// position reads or writes there and leaves the file position alone (pread/pwrite).

import { constants as C } from 'node:fs';
import { DioreadError, showValue } from './errors.js';
import { MAX_FILE_BYTES, checkBool, checkOptions } from './validate.js';

/** A parsed read or write: bytes [offset, offset+length) of `buffer`, at `position` (null: the file position). */
export interface IoArgs {
  buffer: Uint8Array;
  offset: number;
  length: number;
  position: number | null;
}

/** Node's default buffer for read() with no buffer (fs/promises kReadFileUnknownBufferLength). */
export const DEFAULT_READ_BYTES = 16384;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !ArrayBuffer.isView(x) && !Array.isArray(x);
}

/** Any ArrayBufferView (Buffer, TypedArray, DataView) as bytes; anything else is EINVAL. */
export function toBytes(where: string, buffer: unknown): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new DioreadError('EINVAL', `${where}: buffer must be a Buffer, TypedArray or DataView, got ${showValue(buffer)}`);
}

function checkInteger(where: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new DioreadError('EINVAL', `${where}: ${name} must be an integer from ${min} to ${max}, got ${showValue(value)}`);
  }
  return value;
}

/** A position argument: null for "the file position" (null, undefined, -1), else a byte offset. */
export function parsePosition(where: string, position: unknown): number | null {
  if (position === null || position === undefined || position === -1) return null;
  if (typeof position === 'bigint') {
    if (position === -1n) return null;
    if (position < 0n || position > BigInt(MAX_FILE_BYTES)) {
      throw new DioreadError('EINVAL', `${where}: position must be from 0 to ${MAX_FILE_BYTES} (or null / -1 for the file position), got ${showValue(position)}`);
    }
    return Number(position);
  }
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0 || position > MAX_FILE_BYTES) {
    throw new DioreadError('EINVAL', `${where}: position must be an integer from 0 to ${MAX_FILE_BYTES} (or null / -1 for the file position), got ${showValue(position)}`);
  }
  return position;
}

/** offset and length within `buffer`, node's defaults: offset 0, length the rest of the buffer. */
function range(where: string, buffer: Uint8Array, offset: unknown, length: unknown): [number, number] {
  const off = offset === undefined || offset === null ? 0 : checkInteger(where, 'offset', offset, 0, buffer.byteLength);
  const len = length === undefined || length === null ? buffer.byteLength - off : checkInteger(where, 'length', length, 0, buffer.byteLength - off);
  return [off, len];
}

/** The read forms of FileHandle.read and readSync. */
export function parseReadArgs(where: string, a0: unknown, a1: unknown, a2: unknown, a3: unknown): IoArgs {
  if (a0 instanceof Uint8Array && typeof a1 === 'object' && a1 !== null && !ArrayBuffer.isView(a1) && !Array.isArray(a1)) {
    return readOptionsFast(where, a0, a1 as Record<string, unknown>);
  }
  if (a0 === undefined || isPlainObject(a0)) {
    // read() or read({ buffer, offset, length, position })
    const o = checkOptions(where, a0, ['buffer', 'offset', 'length', 'position']);
    const buffer = o.buffer === undefined ? Buffer.alloc(DEFAULT_READ_BYTES) : toBytes(where, o.buffer);
    const [offset, length] = range(where, buffer, o.offset, o.length);
    return { buffer, offset, length, position: parsePosition(where, o.position) };
  }
  const buffer = toBytes(where, a0);
  if (isPlainObject(a1)) {
    const o = checkOptions(where, a1, ['offset', 'length', 'position']);
    const [offset, length] = range(where, buffer, o.offset, o.length);
    return { buffer, offset, length, position: parsePosition(where, o.position) };
  }
  const [offset, length] = range(where, buffer, a1, a2);
  return { buffer, offset, length, position: parsePosition(where, a3) };
}

/**
 * read(buffer, { offset, length, position }), the hot form (a read loop's readSync(buf, { position })):
 * the same checks and errors as the general path (checkOptions, range, parsePosition), without the
 * key array and the tuple they allocate.
 */
function readOptionsFast(where: string, buffer: Uint8Array, o: Record<string, unknown>): IoArgs {
  for (const k in o) {
    if (k !== 'offset' && k !== 'length' && k !== 'position' && Object.hasOwn(o, k)) checkOptions(where, o, ['offset', 'length', 'position']);
  }
  const size = buffer.byteLength;
  const offset = o.offset === undefined || o.offset === null ? 0 : checkInteger(where, 'offset', o.offset, 0, size);
  const length = o.length === undefined || o.length === null ? size - offset : checkInteger(where, 'length', o.length, 0, size - offset);
  const p = o.position;
  const position = typeof p === 'number' && p >= 0 && p <= MAX_FILE_BYTES && Number.isSafeInteger(p) ? p : parsePosition(where, p);
  return { buffer, offset, length, position };
}

/** A write: the bytes to write and, for the string form, the string to hand back as `buffer`. */
export interface WriteArgs extends IoArgs {
  /** What the result's `buffer` field holds: the caller's buffer, or its string. */
  given: Uint8Array | string;
}

const ENCODINGS = new Set(['utf8', 'utf-8', 'utf16le', 'utf-16le', 'ucs2', 'ucs-2', 'latin1', 'binary', 'ascii', 'base64', 'base64url', 'hex']);

function checkEncoding(where: string, encoding: unknown): BufferEncoding {
  if (encoding === undefined || encoding === null) return 'utf8';
  if (typeof encoding !== 'string' || !ENCODINGS.has(encoding.toLowerCase())) {
    throw new DioreadError('EINVAL', `${where}: unknown encoding ${showValue(encoding)}`);
  }
  return encoding.toLowerCase() as BufferEncoding;
}

/** The write forms of FileHandle.write and writeSync. */
export function parseWriteArgs(where: string, a0: unknown, a1: unknown, a2: unknown, a3: unknown): WriteArgs {
  if (typeof a0 === 'string') {
    // write(string, position?, encoding?)
    const position = parsePosition(where, a1);
    const bytes = Buffer.from(a0, checkEncoding(where, a2));
    return { buffer: bytes, offset: 0, length: bytes.byteLength, position, given: a0 };
  }
  const buffer = toBytes(where, a0);
  if (isPlainObject(a1)) {
    const o = checkOptions(where, a1, ['offset', 'length', 'position']);
    const [offset, length] = range(where, buffer, o.offset, o.length);
    return { buffer, offset, length, position: parsePosition(where, o.position), given: a0 as Uint8Array };
  }
  const [offset, length] = range(where, buffer, a1, a2);
  return { buffer, offset, length, position: parsePosition(where, a3), given: a0 as Uint8Array };
}

/** A truncate length: a byte count, default 0. */
export function parseLength(where: string, len: unknown): number {
  if (len === undefined) return 0;
  if (typeof len === 'bigint') return parseLength(where, Number(len));
  return checkInteger(where, 'length', len, 0, MAX_FILE_BYTES);
}

// ------------------------------------------------------------------------------------------------
// Open flags
// ------------------------------------------------------------------------------------------------

/** How a file is opened: access, creation, and the O_* behaviours dioread honours. */
export interface OpenMode {
  read: boolean;
  write: boolean;
  create: boolean;
  exclusive: boolean;
  truncate: boolean;
  append: boolean;
  /** O_SYNC / O_DSYNC: every write returns only when it is durable (a sync after each write). */
  sync: boolean;
  /** O_DIRECT: reads and writes bypass the page cache. */
  direct: boolean;
}

/** Node's flag strings (lib/internal/fs/utils.js stringToFlags), as OpenMode. */
const FLAG_STRINGS: Record<string, Omit<OpenMode, 'direct'>> = {};
{
  const m = (read: boolean, write: boolean, create: boolean, exclusive: boolean, truncate: boolean, append: boolean, sync: boolean) =>
    ({ read, write, create, exclusive, truncate, append, sync });
  for (const [names, mode] of [
    [['r'], m(true, false, false, false, false, false, false)],
    [['rs', 'sr'], m(true, false, false, false, false, false, true)],
    [['r+'], m(true, true, false, false, false, false, false)],
    [['rs+', 'sr+'], m(true, true, false, false, false, false, true)],
    [['w'], m(false, true, true, false, true, false, false)],
    [['wx', 'xw'], m(false, true, true, true, true, false, false)],
    [['w+'], m(true, true, true, false, true, false, false)],
    [['wx+', 'xw+'], m(true, true, true, true, true, false, false)],
    [['a'], m(false, true, true, false, false, true, false)],
    [['ax', 'xa'], m(false, true, true, true, false, true, false)],
    [['as', 'sa'], m(false, true, true, false, false, true, true)],
    [['a+'], m(true, true, true, false, false, true, false)],
    [['ax+', 'xa+'], m(true, true, true, true, false, true, false)],
    [['as+', 'sa+'], m(true, true, true, false, false, true, true)],
  ] as const) {
    for (const n of names) FLAG_STRINGS[n] = mode;
  }
}

const KNOWN_FLAG_BITS = C.O_RDONLY | C.O_WRONLY | C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_TRUNC | C.O_APPEND | C.O_SYNC | C.O_DSYNC | C.O_DIRECT | C.O_NOATIME | C.O_NOFOLLOW | (C as Record<string, number>).O_CLOEXEC;

function fromNumber(where: string, flags: number): OpenMode {
  if (!Number.isSafeInteger(flags) || flags < 0 || (flags & ~KNOWN_FLAG_BITS) !== 0) {
    throw new DioreadError('EINVAL', `${where}: flags ${showValue(flags)} hold bits dioread does not know (known: O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC, O_DSYNC, O_DIRECT)`);
  }
  const acc = flags & 3;
  if (acc === 3) throw new DioreadError('EINVAL', `${where}: flags ${flags} ask for O_WRONLY and O_RDWR at once`);
  return {
    read: acc !== C.O_WRONLY,
    write: acc !== C.O_RDONLY,
    create: (flags & C.O_CREAT) !== 0,
    exclusive: (flags & C.O_CREAT) !== 0 && (flags & C.O_EXCL) !== 0,
    truncate: (flags & C.O_TRUNC) !== 0 && acc !== C.O_RDONLY,
    append: (flags & C.O_APPEND) !== 0,
    sync: (flags & (C.O_SYNC | C.O_DSYNC)) !== 0,
    direct: (flags & C.O_DIRECT) !== 0,
  };
}

function fromString(where: string, flags: string): OpenMode {
  const mode = FLAG_STRINGS[flags];
  if (mode === undefined) {
    throw new DioreadError('EINVAL', `${where}: unknown flags ${showValue(flags)} (node's flag strings: r, r+, rs+, w, wx, w+, wx+, a, ax, a+, ax+, as, as+)`);
  }
  return { ...mode, direct: false };
}

export const OPEN_OPTIONS = ['create', 'exclusive', 'direct', 'flags', 'mode'] as const;

/** What open() accepts besides its name: the flags and mode. */
export interface ParsedOpen {
  mode: OpenMode;
  /** Permission bits for a file this open creates (stat().mode shows them). */
  perm: number;
}

export const DEFAULT_FILE_PERM = 0o644;

function checkPerm(where: string, perm: unknown): number {
  if (perm === undefined || perm === null) return DEFAULT_FILE_PERM;
  if (typeof perm === 'string' && /^[0-7]{1,4}$/.test(perm)) return parseInt(perm, 8);
  return checkInteger(where, 'mode', perm, 0, 0o7777);
}

/**
 * open(name, flags?, mode?) as node:fs has it, plus dioread's options object:
 * `{ create, exclusive, direct, flags, mode }`. Without flags the object opens for reading and
 * writing (create and exclusive as given); with flags, `create`/`exclusive` may not contradict them.
 * No argument at all is 'r', as in node:fs.
 */
export function parseOpenArgs(where: string, flags: unknown, perm: unknown): ParsedOpen {
  if (flags === undefined || flags === null) return { mode: fromString(where, 'r'), perm: checkPerm(where, perm) };
  if (typeof flags === 'string') return { mode: fromString(where, flags), perm: checkPerm(where, perm) };
  if (typeof flags === 'number') return { mode: fromNumber(where, flags), perm: checkPerm(where, perm) };
  if (!isPlainObject(flags)) {
    throw new DioreadError('EINVAL', `${where}: flags must be a flag string ('r', 'w+', ...), an O_* number or an options object, got ${showValue(flags)}`);
  }
  const o = checkOptions(where, flags, OPEN_OPTIONS);
  const direct = checkBool(where, 'direct', o.direct, false);
  let mode: OpenMode;
  if (o.flags !== undefined) {
    if (typeof o.flags !== 'string' && typeof o.flags !== 'number') throw new DioreadError('EINVAL', `${where}: option flags must be a flag string or an O_* number, got ${showValue(o.flags)}`);
    mode = typeof o.flags === 'string' ? fromString(where, o.flags) : fromNumber(where, o.flags);
    for (const k of ['create', 'exclusive'] as const) {
      if (o[k] !== undefined && checkBool(where, k, o[k], false) !== mode[k]) {
        throw new DioreadError('EINVAL', `${where}: option ${k}: ${String(o[k])} contradicts flags ${showValue(o.flags)}`);
      }
    }
  } else {
    const create = checkBool(where, 'create', o.create, false);
    const exclusive = checkBool(where, 'exclusive', o.exclusive, false);
    mode = { read: true, write: true, create, exclusive: create && exclusive, truncate: false, append: false, sync: false, direct: false };
  }
  mode.direct ||= direct;
  return { mode, perm: checkPerm(where, o.mode !== undefined ? o.mode : perm) };
}

/** The flag string (or options) that `mode` came from, for messages. */
export function describeMode(mode: OpenMode): string {
  const acc = mode.read && mode.write ? 'read-write' : mode.write ? 'write-only' : 'read-only';
  return `${acc}${mode.append ? ', append' : ''}${mode.direct ? ', direct' : ''}`;
}

// ------------------------------------------------------------------------------------------------
// fallocate
// ------------------------------------------------------------------------------------------------

/** fallocate(2)'s mode, as FileHandle.allocate's options name it. */
export interface AllocateArgs {
  offset: number;
  length: number;
  /** FALLOC_FL_KEEP_SIZE: allocate past the end without changing the size (implied by punchHole). */
  keepSize: boolean;
  /** FALLOC_FL_PUNCH_HOLE: free the blocks of the range; it reads as zeros. */
  punchHole: boolean;
  /** FALLOC_FL_ZERO_RANGE: the range reads as zeros, its blocks allocated, without writing them. */
  zeroRange: boolean;
}

/**
 * allocate(offset, length, { keepSize, punchHole, zeroRange }) as fallocate(2) checks it: offset
 * ≥ 0, length > 0 (EINVAL), the end within the largest file; punchHole and zeroRange exclusive;
 * punchHole keeps the size (Linux requires FALLOC_FL_KEEP_SIZE with it: keepSize false is EINVAL).
 */
export function parseAllocateArgs(where: string, offset: unknown, length: unknown, opts: unknown): AllocateArgs {
  const off = checkInteger(where, 'offset', typeof offset === 'bigint' ? Number(offset) : offset, 0, MAX_FILE_BYTES - 1);
  const len = checkInteger(where, 'length', typeof length === 'bigint' ? Number(length) : length, 1, MAX_FILE_BYTES);
  if (off + len > MAX_FILE_BYTES) {
    throw new DioreadError('EFBIG', `${where}: offset ${off} + length ${len} is past the largest file (${MAX_FILE_BYTES} bytes)`);
  }
  const o = opts === undefined ? {} : checkOptions(where, opts, ['keepSize', 'punchHole', 'zeroRange']);
  const punchHole = checkBool(where, 'punchHole', o.punchHole, false);
  const zeroRange = checkBool(where, 'zeroRange', o.zeroRange, false);
  if (punchHole && zeroRange) throw new DioreadError('EINVAL', `${where}: punchHole and zeroRange cannot be combined (fallocate(2) refuses it)`);
  if (punchHole && o.keepSize === false) throw new DioreadError('EINVAL', `${where}: punchHole always keeps the size (FALLOC_FL_PUNCH_HOLE needs FALLOC_FL_KEEP_SIZE); keepSize false is refused`);
  const keepSize = punchHole || checkBool(where, 'keepSize', o.keepSize, false);
  return { offset: off, length: len, keepSize, punchHole, zeroRange };
}

/** mkdir's options as node:fs takes them: `{ recursive, mode }`, or the mode alone (default 0o777 & ~umask: 0o755 here). */
export function checkMkdirOptions(where: string, options: unknown): { recursive: boolean; mode: number } {
  if (options === undefined || options === null) return { recursive: false, mode: 0o755 };
  if (typeof options === 'number') return { recursive: false, mode: checkInteger(where, 'mode', options, 0, 0o7777) };
  const o = checkOptions(where, options, ['recursive', 'mode']);
  const mode = o.mode === undefined ? 0o755 : checkInteger(where, 'mode', o.mode, 0, 0o7777);
  return { recursive: checkBool(where, 'recursive', o.recursive, false), mode };
}
