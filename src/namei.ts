// Names: one flat directory of files (the root), looked up, created, unlinked and renamed under the
// namespace lock; files unlinked while open live on as orphans until their last close.
// ext4 counterpart: fs/ext4/namei.c (ext4_lookup, ext4_create, ext4_unlink, ext4_rename),
// ialloc.c (ext4_new_inode), the orphan list (ext4_orphan_add, ext4_orphan_cleanup at mount) and
// ext4_evict_inode, reduced to a flat table of maxFiles inodes.
//
// Thread safety: I_STATE, I_NAME*, I_GENERATION, I_COUPLED change only under namespace_lock (a
// mutex); the new inode's other words are reset before I_STATE publishes it. Lock order:
// namespace_lock before a journal handle; eviction takes i_mutex (truncate) with namespace_lock
// not held, then namespace_lock for the final state change. An inode's life:
// INODE_FREE -> INODE_USED (create) -> INODE_ORPHAN (unlink or rename-over while open) ->
// INODE_EVICTING (the one thread that saw no opener left: compareExchange) -> INODE_FREE.

import { DioreadError, InvariantError } from './errors.js';
import {
  BLOCK_SIZE,
  H_FIRST_DATA_BLOCK,
  H_FREE_BLOCKS,
  H_BLOCK_COUNT,
  H_NAMESPACE_LOCK,
  H_ROOT_TIME_HI,
  H_ROOT_TIME_LO,
  I_BLOCKS,
  I_COMPLETED_HEAD,
  I_COMPLETED_LEN,
  I_COMPLETED_TAIL,
  I_COUPLED,
  I_EXTENT_COUNT,
  I_ATIME_LO,
  I_BTIME_LO,
  I_CTIME_LO,
  I_GENERATION,
  I_EXT_DIRTY_HI,
  I_EXT_DIRTY_LO,
  I_GOAL,
  I_POISONED,
  EXT_CLEAN_LO,
  I_MODE,
  I_MTIME_LO,
  I_NAME,
  I_NAME_LEN,
  I_OPEN_COUNT,
  I_SIZE_HI,
  I_SIZE_LO,
  I_STATE,
  INODE_EVICTING,
  INODE_FREE,
  INODE_ORPHAN,
  INODE_USED,
  LC_NAMESPACE,
  MAX_NAME_BYTES,
  inodeWord,
} from './shm/layout.js';
import { lock, unlock } from './sync/lock.js';
import { assertWritable, fileTruncate, inodeAttrs, setTime, type InodeAttrs } from './inode.js';
import { commitNow, inHandle, markInodeDirty } from './transaction.js';
import type { Volume } from './volume.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** S_IFREG / S_IFDIR: st_mode's file types. */
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;

/**
 * A path, checked: '/'-separated, a leading '/' optional, no '.' or '..' component, no NUL, each
 * component 1..MAX_NAME_BYTES of UTF-8. `names` is empty for the root.
 */
export interface ParsedPath {
  text: string;
  names: Uint8Array[];
}

export function parsePath(path: unknown, where: string): ParsedPath {
  if (typeof path !== 'string' || path.length === 0) {
    throw new DioreadError('EINVAL', `${where}: path must be a non-empty string, got ${typeof path === 'string' ? '""' : typeof path}`);
  }
  if (path.includes('\0')) throw new DioreadError('EINVAL', `${where}: path ${JSON.stringify(path)} contains NUL`);
  const names: Uint8Array[] = [];
  for (const c of path.split('/')) {
    if (c === '') continue;
    if (c === '.' || c === '..') throw new DioreadError('EINVAL', `${where}: path ${JSON.stringify(path)} has a ${JSON.stringify(c)} component (dioread takes no relative components)`);
    const bytes = encoder.encode(c);
    if (bytes.length > MAX_NAME_BYTES) {
      throw new DioreadError('ENAMETOOLONG', `${where}: name ${JSON.stringify(c)} is ${bytes.length} bytes of UTF-8, over ${MAX_NAME_BYTES}`);
    }
    names.push(bytes);
  }
  return { text: path, names };
}

/** Validate a file name (one component, no '/') and return its UTF-8 bytes. */
export function encodeName(name: unknown): Uint8Array {
  if (typeof name === 'string' && name.includes('/')) throw new DioreadError('EINVAL', `file name ${JSON.stringify(name)} contains "/"`);
  const p = parsePath(name, 'file name');
  if (p.names.length !== 1) throw new DioreadError('EINVAL', `file name ${JSON.stringify(name)} names no file`);
  return p.names[0];
}

function nameEquals(v: Volume, ino: number, bytes: Uint8Array): boolean {
  const l = v.layout;
  if (v.i32[inodeWord(l, ino, I_NAME_LEN)] !== bytes.length) return false;
  const u8 = new Uint8Array(v.i32.buffer, inodeWord(l, ino, I_NAME) * 4, bytes.length);
  for (let i = 0; i < bytes.length; i++) if (u8[i] !== bytes[i]) return false;
  return true;
}

export function inodeName(v: Volume, ino: number): string {
  const l = v.layout;
  const n = v.i32[inodeWord(l, ino, I_NAME_LEN)];
  return decoder.decode(new Uint8Array(v.i32.buffer).slice(inodeWord(l, ino, I_NAME) * 4, inodeWord(l, ino, I_NAME) * 4 + n));
}

function inodeState(v: Volume, ino: number): number {
  return Atomics.load(v.i32, inodeWord(v.layout, ino, I_STATE));
}

/** A named file (not free, not an orphan). */
export function inodeInUse(v: Volume, ino: number): boolean {
  return inodeState(v, ino) === INODE_USED;
}

/** The file's link count as stat reports it: 1 while named, 0 once unlinked (an orphan). */
export function inodeLinks(v: Volume, ino: number): number {
  return inodeState(v, ino) === INODE_USED ? 1 : 0;
}

function lookupLocked(v: Volume, bytes: Uint8Array): number {
  for (let ino = 0; ino < v.layout.maxFiles; ino++) {
    if (inodeInUse(v, ino) && nameEquals(v, ino, bytes)) return ino;
  }
  return -1;
}

/**
 * The file a path names, for a caller holding namespace_lock: the inode, or ROOT_PATH for '/'.
 * This format has one directory: a path of two or more components is ENOTDIR when its first names
 * a file, else ENOENT.
 */
export const ROOT_PATH = -2;
function resolveLocked(v: Volume, p: ParsedPath, where: string, missingOk: boolean): number {
  if (p.names.length === 0) return ROOT_PATH;
  if (p.names.length > 1) {
    const first = lookupLocked(v, p.names[0]);
    if (first >= 0) throw new DioreadError('ENOTDIR', `${where}: ${JSON.stringify(p.text)}: ${JSON.stringify(decoder.decode(p.names[0]))} is a file, not a directory`);
    throw new DioreadError('ENOENT', `${where}: ${JSON.stringify(p.text)}: no directory ${JSON.stringify(decoder.decode(p.names[0]))}`);
  }
  const ino = lookupLocked(v, p.names[0]);
  if (ino < 0 && !missingOk) throw new DioreadError('ENOENT', `${where}: no file ${JSON.stringify(p.text)}`);
  return ino;
}

/** Run `f` under namespace_lock. */
function withNamespace<T>(v: Volume, f: () => T): T {
  const tok = lock(v, H_NAMESPACE_LOCK, LC_NAMESPACE);
  try {
    return f();
  } finally {
    unlock(v, H_NAMESPACE_LOCK, LC_NAMESPACE, tok);
  }
}

/**
 * ext4_lookup / ext4_create: open `path`, creating it when asked (with permission bits `perm`).
 * Takes an open reference; returns the inode number.
 */
export function openInode(v: Volume, path: string, create: boolean, exclusive: boolean, perm = 0o644): number {
  const p = parsePath(path, 'open');
  return withNamespace(v, () => {
    let ino = resolveLocked(v, p, 'open', true);
    if (ino === ROOT_PATH) throw new DioreadError('EISDIR', `open: ${JSON.stringify(path)} is the root directory`);
    if (ino >= 0) {
      if (create && exclusive) throw new DioreadError('EEXIST', `file ${JSON.stringify(path)} exists (create with exclusive: true)`);
    } else {
      if (!create) throw new DioreadError('ENOENT', `no file named ${JSON.stringify(path)}`);
      assertWritable(v, `create ${JSON.stringify(path)}`);
      ino = newInode(v, p.names[0], path, perm);
      touchRootLocked(v);
    }
    Atomics.add(v.i32, inodeWord(v.layout, ino, I_OPEN_COUNT), 1);
    return ino;
  });
}

/** The inode `path` names without opening it (ROOT_PATH for '/'); ENOENT when there is none. */
export function lookupPath(v: Volume, path: string, where: string): number {
  const p = parsePath(path, where);
  return withNamespace(v, () => resolveLocked(v, p, where, false));
}

function newInode(v: Volume, bytes: Uint8Array, name: string, perm: number): number {
  const l = v.layout;
  for (let ino = 0; ino < l.maxFiles; ino++) {
    if (inodeState(v, ino) !== INODE_FREE || v.i32[inodeWord(l, ino, I_POISONED)] !== 0) continue;
    inHandle(v, ino, () => initInode(v, ino, bytes, perm));
    return ino;
  }
  throw new DioreadError('ENOSPC', `cannot create ${JSON.stringify(name)}: all ${l.maxFiles} inodes are in use (engine option maxFiles)`);
}

/** ext4_new_inode's part after the bitmap: a fresh record, published by I_STATE last. In a handle. */
function initInode(v: Volume, ino: number, bytes: Uint8Array, perm: number): void {
  const l = v.layout;
  const i32 = v.i32;
  i32[inodeWord(l, ino, I_SIZE_LO)] = 0;
  i32[inodeWord(l, ino, I_SIZE_HI)] = 0;
  i32[inodeWord(l, ino, I_EXTENT_COUNT)] = 0;
  i32[inodeWord(l, ino, I_BLOCKS)] = 0;
  i32[inodeWord(l, ino, I_COMPLETED_HEAD)] = -1;
  i32[inodeWord(l, ino, I_COMPLETED_TAIL)] = -1;
  i32[inodeWord(l, ino, I_COMPLETED_LEN)] = 0;
  i32[inodeWord(l, ino, I_OPEN_COUNT)] = 0;
  i32[inodeWord(l, ino, I_GENERATION)]++;
  i32[inodeWord(l, ino, I_MODE)] = S_IFREG | (perm & 0o7777);
  const now = Date.now();
  for (const t of [I_ATIME_LO, I_MTIME_LO, I_CTIME_LO, I_BTIME_LO]) setTime(v, ino, t, now);
  setName(v, ino, bytes);
  i32[inodeWord(l, ino, I_EXT_DIRTY_LO)] = EXT_CLEAN_LO;
  i32[inodeWord(l, ino, I_EXT_DIRTY_HI)] = 0;
  i32[inodeWord(l, ino, I_GOAL)] = -1;
  markInodeDirty(v, ino);
  Atomics.store(i32, inodeWord(l, ino, I_STATE), INODE_USED);
}

function setName(v: Volume, ino: number, bytes: Uint8Array): void {
  const l = v.layout;
  v.i32[inodeWord(l, ino, I_NAME_LEN)] = bytes.length;
  const at = inodeWord(l, ino, I_NAME) * 4;
  const u8 = new Uint8Array(v.i32.buffer);
  u8.fill(0, at, at + MAX_NAME_BYTES);
  u8.set(bytes, at);
}

/**
 * Take the name away (ext4_unlink's drop_nlink to 0 plus ext4_orphan_add): the inode becomes an
 * orphan, its record says so, and it is freed now if nobody has it open, else at its last close.
 * Caller holds namespace_lock and is in a handle on `ino`. Returns true when the caller must evict.
 */
function orphanLocked(v: Volume, ino: number): boolean {
  const l = v.layout;
  setName(v, ino, new Uint8Array(0));
  setTime(v, ino, I_CTIME_LO, Date.now());
  Atomics.store(v.i32, inodeWord(l, ino, I_STATE), INODE_ORPHAN);
  markInodeDirty(v, ino);
  return Atomics.load(v.i32, inodeWord(l, ino, I_OPEN_COUNT)) === 0 && claimEviction(v, ino);
}

/** The one thread that moves an orphan with no opener to INODE_EVICTING evicts it. */
function claimEviction(v: Volume, ino: number): boolean {
  return Atomics.compareExchange(v.i32, inodeWord(v.layout, ino, I_STATE), INODE_ORPHAN, INODE_EVICTING) === INODE_ORPHAN;
}

/**
 * ext4_evict_inode: free an orphan nobody has open. Truncate to 0 (pages dropped, io_ends freed
 * unconverted, blocks freed pending their commit), then, under namespace_lock in a handle, the
 * record is freed. Caller won claimEviction; holds no lock.
 */
function evictInode(v: Volume, ino: number): void {
  fileTruncate(v, ino, 0);
  withNamespace(v, () =>
    inHandle(v, ino, () => {
      if (inodeState(v, ino) !== INODE_EVICTING) throw new InvariantError(`inode ${ino}: evicting, but its state is ${inodeState(v, ino)}`);
      markInodeDirty(v, ino);
      Atomics.store(v.i32, inodeWord(v.layout, ino, I_STATE), INODE_FREE);
    }),
  );
}

/** unlink(2): remove the name; the file lives on while open (POSIX), then its blocks are freed. */
export function unlinkPath(v: Volume, path: string): void {
  const p = parsePath(path, 'unlink');
  assertWritable(v, `unlink ${JSON.stringify(path)}`);
  const evict = withNamespace(v, () => {
    const ino = resolveLocked(v, p, 'unlink', false);
    if (ino === ROOT_PATH) throw new DioreadError('EISDIR', `unlink: ${JSON.stringify(path)} is the root directory`);
    touchRootLocked(v);
    return inHandle(v, ino, () => (orphanLocked(v, ino) ? ino : -1));
  });
  if (evict >= 0) evictInode(v, evict);
}

/**
 * rename(2): `from` takes the name `to`, atomically; a file already named `to` is unlinked in the
 * same transaction (it lives on while open). Both records travel in one journal piece (I_COUPLED),
 * so a crash leaves either both names as they were or both changed.
 */
export function renamePath(v: Volume, from: string, to: string): void {
  const pf = parsePath(from, 'rename');
  const pt = parsePath(to, 'rename');
  assertWritable(v, `rename ${JSON.stringify(from)} to ${JSON.stringify(to)}`);
  const evict = withNamespace(v, () => renameLocked(v, pf, pt));
  if (evict >= 0) evictInode(v, evict);
}

function renameLocked(v: Volume, pf: ParsedPath, pt: ParsedPath): number {
  const l = v.layout;
  const src = resolveLocked(v, pf, 'rename', false);
  if (src === ROOT_PATH) throw new DioreadError('EBUSY', `rename: ${JSON.stringify(pf.text)} is the root directory`);
  const dst = resolveLocked(v, pt, 'rename', true);
  if (dst === ROOT_PATH) throw new DioreadError('EISDIR', `rename: ${JSON.stringify(pt.text)} is the root directory`);
  if (dst === src) return -1; // the same file: rename(2) does nothing
  const coupled = (ino: number) => v.i32[inodeWord(l, ino, I_COUPLED)] >= 0;
  if (dst >= 0 && (coupled(src) || coupled(dst))) {
    // One coupling per record per transaction: commit the earlier rename first. Safe under
    // namespace_lock: no thread waits for it while inside a handle.
    commitNow(v);
    if (coupled(src) || coupled(dst)) {
      throw new DioreadError('EIO', `rename: ${JSON.stringify(pf.text)} or ${JSON.stringify(pt.text)} cannot be committed (a thread died while changing it)`);
    }
  }
  touchRootLocked(v);
  return inHandle(v, src, () => {
    setName(v, src, pt.names[0]);
    setTime(v, src, I_CTIME_LO, Date.now());
    markInodeDirty(v, src);
    if (dst < 0) return -1;
    if (!v.unsafeNoRenameCoupling) {
      v.i32[inodeWord(l, src, I_COUPLED)] = dst;
      v.i32[inodeWord(l, dst, I_COUPLED)] = src;
    }
    return orphanLocked(v, dst) ? dst : -1;
  });
}

/**
 * Drop an open reference (close). The last close of an orphan evicts it (ext4_evict_inode via iput).
 */
export function releaseInode(v: Volume, ino: number): void {
  const left = Atomics.sub(v.i32, inodeWord(v.layout, ino, I_OPEN_COUNT), 1) - 1;
  if (left < 0) throw new InvariantError(`inode ${ino}: open count went below zero`);
  if (left === 0 && inodeState(v, ino) === INODE_ORPHAN && claimEviction(v, ino)) evictInode(v, ino);
}

/** readdir(path): the names in a directory (this format has one, the root), in inode order. */
export function readdirNames(v: Volume, path: string): string[] {
  return readdirTyped(v, path).map(([name]) => name);
}

/** readdir(path) with types: [name, st_mode] pairs (every entry of this format is a file). */
export function readdirTyped(v: Volume, path: string): Array<[string, number]> {
  const p = parsePath(path, 'readdir');
  return withNamespace(v, () => {
    const ino = resolveLocked(v, p, 'readdir', false);
    if (ino !== ROOT_PATH) throw new DioreadError('ENOTDIR', `readdir: ${JSON.stringify(path)} is a file, not a directory`);
    return usedInodes(v).map((i): [string, number] => [inodeName(v, i), v.i32[inodeWord(v.layout, i, I_MODE)]]);
  });
}

/** stat(path): the attributes of the file or directory `path` names. */
export function statPath(v: Volume, path: string): InodeAttrs {
  const ino = lookupPath(v, path, 'stat');
  return ino === ROOT_PATH ? rootAttrs(v) : inodeAttrs(v, ino);
}

/** access(2)'s mode bits (node's fs.constants F_OK, X_OK, W_OK, R_OK). */
const ACCESS_W_OK = 2;

/**
 * access(path, mode): ENOENT when nothing has that name; asking for W_OK on a read-only engine is
 * EROFS, as access(2) answers on a read-only mount. Every file is readable and writable by the
 * process (the image records no owners); X_OK asks the permission bits.
 */
export function accessPath(v: Volume, path: string, mode: unknown): void {
  if (mode !== undefined && (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 7)) {
    throw new DioreadError('EINVAL', `access: mode must be an integer 0..7 (fs.constants F_OK, R_OK, W_OK, X_OK), got ${String(mode)}`);
  }
  const a = statPath(v, path);
  const m = (mode as number | undefined) ?? 0;
  if (m & ACCESS_W_OK) assertWritable(v, `access ${JSON.stringify(path)} for writing`);
  if (m & 1 && (a.mode & 0o111) === 0) throw new DioreadError('EACCES', `access: ${JSON.stringify(path)} is not executable (mode 0o${(a.mode & 0o7777).toString(8)})`);
}

/** Inodes in use (named), in inode order. */
export function usedInodes(v: Volume): number[] {
  const out: number[] = [];
  for (let ino = 0; ino < v.layout.maxFiles; ino++) if (inodeInUse(v, ino)) out.push(ino);
  return out;
}

/** Orphans nobody has open any more, and those still open, evicted (engine close). Returns the count. */
export function evictOrphans(v: Volume): number {
  let n = 0;
  for (let ino = 0; ino < v.layout.maxFiles; ino++) {
    if (inodeState(v, ino) !== INODE_ORPHAN) continue;
    if (!claimEviction(v, ino)) continue;
    evictInode(v, ino);
    n++;
  }
  return n;
}

/** statfs(2) of the image: block and inode totals (f_bsize 4096). */
export interface StatFs {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export function statFs(v: Volume): StatFs {
  const i32 = v.i32;
  let free = 0;
  for (let ino = 0; ino < v.layout.maxFiles; ino++) if (inodeState(v, ino) === INODE_FREE) free++;
  const bfree = Math.max(0, Atomics.load(i32, H_FREE_BLOCKS));
  return { bsize: BLOCK_SIZE, blocks: i32[H_BLOCK_COUNT] - i32[H_FIRST_DATA_BLOCK], bfree, bavail: bfree, files: v.layout.maxFiles, ffree: free };
}

/** The root directory's stat: this format keeps no record for it (times: mount, then last change). */
export function rootAttrs(v: Volume): InodeAttrs {
  const t = v.i32[H_ROOT_TIME_HI] * 2 ** 32 + (v.i32[H_ROOT_TIME_LO] >>> 0);
  return { ino: v.layout.maxFiles, mode: S_IFDIR | 0o755, nlink: 2, size: BLOCK_SIZE, blocks: 0, atimeMs: t, mtimeMs: t, ctimeMs: t, birthtimeMs: t };
}

/** The root changed (a name came or went): its mtime and ctime. Caller holds namespace_lock. */
function touchRootLocked(v: Volume): void {
  setRootTime(v.i32, Date.now());
}

/** At mount, and under namespace_lock after: the root's times. */
export function setRootTime(i32: Int32Array, ms: number): void {
  i32[H_ROOT_TIME_LO] = ms % 2 ** 32;
  i32[H_ROOT_TIME_HI] = Math.floor(ms / 2 ** 32);
}

/** readdir's options: `withFileTypes` or an encoding (only utf8 names: the image stores UTF-8). */
export function readdirWantsTypes(where: string, options: unknown): boolean {
  if (options === undefined || options === null) return false;
  if (typeof options === 'string') {
    if (options !== 'utf8' && options !== 'utf-8') throw new DioreadError('EINVAL', `${where}: encoding ${JSON.stringify(options)} is not supported (names are UTF-8)`);
    return false;
  }
  if (typeof options !== 'object') throw new DioreadError('EINVAL', `${where}: options must be an object or an encoding, got ${typeof options}`);
  const o = options as { withFileTypes?: unknown; encoding?: unknown; recursive?: unknown };
  if (o.encoding !== undefined && o.encoding !== null && o.encoding !== 'utf8' && o.encoding !== 'utf-8') {
    throw new DioreadError('EINVAL', `${where}: encoding ${JSON.stringify(o.encoding)} is not supported (names are UTF-8)`);
  }
  if (o.withFileTypes !== undefined && typeof o.withFileTypes !== 'boolean') throw new DioreadError('EINVAL', `${where}: withFileTypes must be a boolean, got ${String(o.withFileTypes)}`);
  return o.withFileTypes === true;
}
