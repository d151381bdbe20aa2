// Names: files and directories, looked up, created, unlinked and renamed under the namespace lock;
// files unlinked while open live on as orphans until their last close.
// ext4 counterpart: fs/ext4/namei.c (ext4_lookup, ext4_create, ext4_mkdir, ext4_rmdir, ext4_unlink,
// ext4_rename), ialloc.c (ext4_new_inode), the orphan list (ext4_orphan_add, ext4_orphan_cleanup at
// mount) and ext4_evict_inode, over a table of maxFiles inodes. This format keeps no directory
// blocks: each inode record holds its name and its parent directory (I_PARENT / DI_PARENT), so a
// path walk is a lookup of (parent, name) per component, and a rename, even across directories,
// changes one record.
//
// Thread safety: I_STATE, I_NAME*, I_PARENT, I_GENERATION, I_COUPLED change only under namespace_lock (a
// mutex); the new inode's other words are reset before I_STATE publishes it. Lock order:
// namespace_lock before a journal handle; eviction takes i_mutex (truncate) with namespace_lock
// not held, then namespace_lock for the final state change. An inode's life:
// INODE_FREE -> INODE_USED (create) -> INODE_ORPHAN (unlink or rename-over while open) ->
// INODE_EVICTING (the one thread that saw no opener left: compareExchange) -> INODE_FREE.

import { dcacheAdd, dcacheDrop, dcacheLookup } from './dcache.js';
import { metaReserve } from './alloc.js';
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
  I_DIRTY_HEAD,
  H_INODE_HINT,
  I_ROOT,
  EH_ENTRIES,
  EH_MAX,
  EH_GENERATION,
  ROOT_MAX_ENTRIES,
  I_DCACHE_NEXT,
  DCACHE_UNHASHED,
  type Layout,
  I_GOAL,
  I_POISONED,
  I_MODE,
  I_MTIME_LO,
  I_NAME,
  I_NAME_LEN,
  I_OPEN_COUNT,
  I_PARENT,
  ROOT_PARENT,
  I_SIZE_HI,
  I_SIZE_LO,
  I_STATE,
  INODE_EVICTING,
  INODE_FREE,
  INODE_ORPHAN,
  INODE_USED,
  LC_NAMESPACE,
  MAX_NAME_BYTES,
  I_NAME_WORDS,
  inodeWord,
} from './shm/layout.js';
import { lock, unlock } from './sync/lock.js';
import { assertWritable, fileTruncate, inodeAttrs, setTime, type InodeAttrs } from './inode.js';
import { commitNow, inHandle, markInodeDirty } from './transaction.js';
import { setAttrs, type AttrChange } from './attr.js';
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

/** S_IFMT: the file-type bits of st_mode. */
const S_IFMT = 0o170000;

/** A directory: the root (ROOT_PATH or ROOT_PARENT) or an inode whose mode says so. */
function isDir(v: Volume, ino: number): boolean {
  return ino < 0 || (v.i32[inodeWord(v.layout, ino, I_MODE)] & S_IFMT) === S_IFDIR;
}

/** The named inode called `bytes` in directory `dir` (ROOT_PARENT: the root), or -1. */
function lookupLocked(v: Volume, dir: number, bytes: Uint8Array): number {
  const ino = dcacheLookup(v.i32, v.layout, dir, bytes);
  if (ino >= 0 && !inodeInUse(v, ino)) throw new InvariantError(`name cache: inode ${ino} is hashed but not in use (state ${inodeState(v, ino)})`);
  return ino;
}

function show(p: ParsedPath, upto: number): string {
  return JSON.stringify(p.names.slice(0, upto).map((n) => decoder.decode(n)).join('/'));
}

/**
 * The directory holding a path's last name (ROOT_PARENT for the root), walking the components
 * before it: ENOENT for a missing one, ENOTDIR for one that is a file. Caller holds namespace_lock.
 */
function parentDirLocked(v: Volume, p: ParsedPath, where: string): number {
  let dir = ROOT_PARENT;
  for (let i = 0; i < p.names.length - 1; i++) {
    const child = lookupLocked(v, dir, p.names[i]);
    if (child < 0) throw new DioreadError('ENOENT', `${where}: ${JSON.stringify(p.text)}: no directory ${show(p, i + 1)}`);
    if (!isDir(v, child)) throw new DioreadError('ENOTDIR', `${where}: ${JSON.stringify(p.text)}: ${show(p, i + 1)} is a file, not a directory`);
    dir = child;
  }
  return dir;
}

/**
 * The inode a path names, for a caller holding namespace_lock: the inode, ROOT_PATH for '/', or -1
 * when only the last name is missing and `missingOk`.
 */
export const ROOT_PATH = -2;
function resolveLocked(v: Volume, p: ParsedPath, where: string, missingOk: boolean): number {
  if (p.names.length === 0) return ROOT_PATH;
  const ino = lookupLocked(v, parentDirLocked(v, p, where), p.names[p.names.length - 1]);
  if (ino < 0 && !missingOk) throw new DioreadError('ENOENT', `${where}: no file or directory ${JSON.stringify(p.text)}`);
  return ino;
}

/** Does directory `dir` hold any name? Caller holds namespace_lock. */
function hasEntriesLocked(v: Volume, dir: number): boolean {
  for (let ino = 0; ino < v.layout.maxFiles; ino++) if (inodeInUse(v, ino) && v.i32[inodeWord(v.layout, ino, I_PARENT)] === dir) return true;
  return false;
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
      if (isDir(v, ino)) throw new DioreadError('EISDIR', `open: ${JSON.stringify(path)} is a directory`);
    } else {
      if (!create) throw new DioreadError('ENOENT', `no file named ${JSON.stringify(path)}`);
      assertWritable(v, `create ${JSON.stringify(path)}`);
      ino = newInode(v, p.names[p.names.length - 1], path, S_IFREG | (perm & 0o7777), parentDirLocked(v, p, 'open'));
    }
    Atomics.add(v.i32, inodeWord(v.layout, ino, I_OPEN_COUNT), 1);
    return ino;
  });
}

/**
 * utimes/chmod by path (fsPromises.utimes, chmod): the inode is held by an open reference while
 * its attributes change, so an unlink meanwhile cannot free it under us. The root has no record:
 * its times are the header's (utimes sets them), its mode is fixed (chmod of '/' is EINVAL).
 */
export function setAttrsPath(v: Volume, path: string, where: string, c: AttrChange): void {
  const p = parsePath(path, where);
  const ino = withNamespace(v, () => {
    const i = resolveLocked(v, p, where, false);
    if (i >= 0) Atomics.add(v.i32, inodeWord(v.layout, i, I_OPEN_COUNT), 1);
    return i;
  });
  if (ino === ROOT_PATH) {
    if (c.perm !== undefined) throw new DioreadError('EINVAL', `${where}: the root directory's mode is fixed (0o755)`);
    assertWritable(v, where);
    if (c.mtimeMs !== undefined) withNamespace(v, () => setRootTime(v.i32, c.mtimeMs!));
    return;
  }
  try {
    setAttrs(v, ino, c);
  } finally {
    releaseInode(v, ino);
  }
}

/** The inode `path` names without opening it (ROOT_PATH for '/'); ENOENT when there is none. */
export function lookupPath(v: Volume, path: string, where: string): number {
  const p = parsePath(path, where);
  return withNamespace(v, () => resolveLocked(v, p, where, false));
}

/** ext4_new_inode: a free record becomes `bytes` in directory `dir` with st_mode `mode`. Caller holds namespace_lock. */
function newInode(v: Volume, bytes: Uint8Array, name: string, mode: number, dir: number): number {
  const l = v.layout;
  const hint = v.i32[H_INODE_HINT] % l.maxFiles; // ext4's find_inode_bit goal: after the last one taken
  for (let k = 0; k < l.maxFiles; k++) {
    const ino = (hint + k) % l.maxFiles;
    if (inodeState(v, ino) !== INODE_FREE || v.i32[inodeWord(l, ino, I_POISONED)] !== 0) continue;
    v.i32[H_INODE_HINT] = ino + 1;
    inHandle(v, ino, () => {
      initInode(v, ino, bytes, mode, dir);
      touchDirLocked(v, dir);
    });
    return ino;
  }
  throw new DioreadError('ENOSPC', `cannot create ${JSON.stringify(name)}: all ${l.maxFiles} inodes are in use (engine option maxFiles)`);
}

/**
 * The words of inode `ino`'s shared record that mean "none" with -1 (lists, goal, coupling, parent,
 * name-cache link): set when a record is first used (at mount for the image's inodes, at create),
 * never for the table as a whole, so an unused record stays an untouched zero page. Caller is the
 * mount (no other thread yet) or holds namespace_lock for a free inode.
 */
export function initInodeRecord(i32: Int32Array, l: Layout, ino: number): void {
  i32[inodeWord(l, ino, I_COMPLETED_HEAD)] = -1;
  i32[inodeWord(l, ino, I_COMPLETED_TAIL)] = -1;
  i32[inodeWord(l, ino, I_DIRTY_HEAD)] = -1;
  i32[inodeWord(l, ino, I_DCACHE_NEXT)] = DCACHE_UNHASHED;
  i32[inodeWord(l, ino, I_GOAL)] = -1;
  i32[inodeWord(l, ino, I_COUPLED)] = -1;
  i32[inodeWord(l, ino, I_PARENT)] = ROOT_PARENT;
}

/** ext4_new_inode's part after the bitmap: a fresh record, published by I_STATE last. In a handle. */
function initInode(v: Volume, ino: number, bytes: Uint8Array, mode: number, dir: number): void {
  const l = v.layout;
  const i32 = v.i32;
  // A record never used since the mount is all zeros: give its "none" words their -1 first (a free
  // record used before keeps them: its lists are empty and it is on no chain).
  if (i32[inodeWord(l, ino, I_GENERATION)] === 0 && i32[inodeWord(l, ino, I_DCACHE_NEXT)] === 0) initInodeRecord(i32, l, ino);
  i32[inodeWord(l, ino, I_SIZE_LO)] = 0;
  i32[inodeWord(l, ino, I_SIZE_HI)] = 0;
  i32[inodeWord(l, ino, I_EXTENT_COUNT)] = 0;
  i32[inodeWord(l, ino, I_BLOCKS)] = 0;
  i32[inodeWord(l, ino, I_COMPLETED_HEAD)] = -1;
  i32[inodeWord(l, ino, I_COMPLETED_TAIL)] = -1;
  i32[inodeWord(l, ino, I_COMPLETED_LEN)] = 0;
  i32[inodeWord(l, ino, I_OPEN_COUNT)] = 0;
  i32[inodeWord(l, ino, I_GENERATION)]++;
  i32[inodeWord(l, ino, I_MODE)] = mode;
  i32[inodeWord(l, ino, I_PARENT)] = dir;
  const now = Date.now();
  for (const t of [I_ATIME_LO, I_MTIME_LO, I_CTIME_LO, I_BTIME_LO]) setTime(v, ino, t, now);
  setName(v, ino, bytes);
  dcacheAdd(i32, l, ino);
  // An empty tree: a leaf root of this generation (the last life's nodes were all freed at eviction).
  const root = inodeWord(l, ino, I_ROOT);
  if (i32[root + EH_ENTRIES] !== 0 || i32[inodeWord(l, ino, I_DIRTY_HEAD)] >= 0) throw new InvariantError(`inode ${ino}: reused with an extent tree or dirty nodes left`);
  i32.fill(0, root, inodeWord(l, ino, I_DCACHE_NEXT));
  i32[root + EH_MAX] = ROOT_MAX_ENTRIES;
  i32[root + EH_GENERATION] = i32[inodeWord(l, ino, I_GENERATION)];
  i32[inodeWord(l, ino, I_GOAL)] = -1;
  markInodeDirty(v, ino);
  Atomics.store(i32, inodeWord(l, ino, I_STATE), INODE_USED);
}

function setName(v: Volume, ino: number, bytes: Uint8Array): void {
  const l = v.layout;
  v.i32[inodeWord(l, ino, I_NAME_LEN)] = bytes.length;
  const at = inodeWord(l, ino, I_NAME) * 4;
  const u8 = new Uint8Array(v.i32.buffer);
  u8.fill(0, at, at + I_NAME_WORDS * 4);
  u8.set(bytes, at);
}

/**
 * Take the name away (ext4_unlink's drop_nlink to 0 plus ext4_orphan_add): the inode becomes an
 * orphan, its record says so, and it is freed now if nobody has it open, else at its last close.
 * Caller holds namespace_lock and is in a handle on `ino`. Returns true when the caller must evict.
 */
function orphanLocked(v: Volume, ino: number): boolean {
  const l = v.layout;
  dcacheDrop(v.i32, l, ino);
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
    if (isDir(v, ino)) throw new DioreadError('EISDIR', `unlink: ${JSON.stringify(path)} is a directory (rmdir removes it)`);
    const dir = v.i32[inodeWord(v.layout, ino, I_PARENT)];
    return inHandle(v, ino, () => {
      touchDirLocked(v, dir);
      return orphanLocked(v, ino) ? ino : -1;
    });
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

/**
 * rename(2)'s checks on a caller holding namespace_lock: a directory never moves into itself or
 * below itself (EINVAL); a file never replaces a directory (EISDIR), a directory never a file
 * (ENOTDIR), and a directory replaces only an empty one (ENOTEMPTY).
 */
function checkRenameLocked(v: Volume, pf: ParsedPath, pt: ParsedPath, src: number, dst: number, dstDir: number): void {
  const srcIsDir = isDir(v, src);
  if (srcIsDir) {
    for (let at = dstDir, steps = 0; at >= 0 && steps <= v.layout.maxFiles; at = v.i32[inodeWord(v.layout, at, I_PARENT)], steps++) {
      if (at === src) throw new DioreadError('EINVAL', `rename: cannot move directory ${JSON.stringify(pf.text)} into itself (${JSON.stringify(pt.text)})`);
    }
  }
  if (dst < 0 || dst === src) return;
  const dstIsDir = isDir(v, dst);
  if (!srcIsDir && dstIsDir) throw new DioreadError('EISDIR', `rename: ${JSON.stringify(pt.text)} is a directory and ${JSON.stringify(pf.text)} is not`);
  if (srcIsDir && !dstIsDir) throw new DioreadError('ENOTDIR', `rename: ${JSON.stringify(pf.text)} is a directory and ${JSON.stringify(pt.text)} is not`);
  if (dstIsDir && hasEntriesLocked(v, dst)) throw new DioreadError('ENOTEMPTY', `rename: directory ${JSON.stringify(pt.text)} is not empty`);
}

function renameLocked(v: Volume, pf: ParsedPath, pt: ParsedPath): number {
  const l = v.layout;
  const src = resolveLocked(v, pf, 'rename', false);
  if (src === ROOT_PATH) throw new DioreadError('EBUSY', `rename: ${JSON.stringify(pf.text)} is the root directory`);
  const dst = resolveLocked(v, pt, 'rename', true);
  if (dst === ROOT_PATH) throw new DioreadError('EISDIR', `rename: ${JSON.stringify(pt.text)} is the root directory`);
  const dstDir = parentDirLocked(v, pt, 'rename');
  checkRenameLocked(v, pf, pt, src, dst, dstDir);
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
  const srcDir = v.i32[inodeWord(l, src, I_PARENT)];
  return inHandle(v, src, () => {
    dcacheDrop(v.i32, l, src);
    setName(v, src, pt.names[pt.names.length - 1]);
    v.i32[inodeWord(l, src, I_PARENT)] = dstDir;
    dcacheAdd(v.i32, l, src); // ahead of dst on the chain, which is dropped below
    setTime(v, src, I_CTIME_LO, Date.now());
    markInodeDirty(v, src);
    touchDirLocked(v, srcDir);
    if (dstDir !== srcDir) touchDirLocked(v, dstDir);
    if (dst < 0) return -1;
    if (!v.unsafeNoRenameCoupling) {
      v.i32[inodeWord(l, src, I_COUPLED)] = dst;
      v.i32[inodeWord(l, dst, I_COUPLED)] = src;
    }
    if (isDir(v, dst)) {
      freeDirLocked(v, dst); // empty, and never open: no orphan state for a directory
      return -1;
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

/** readdir(path) with types: [name, st_mode] pairs, in inode order. */
export function readdirTyped(v: Volume, path: string): Array<[string, number]> {
  const p = parsePath(path, 'readdir');
  return withNamespace(v, () => {
    const ino = resolveLocked(v, p, 'readdir', false);
    if (!isDir(v, ino)) throw new DioreadError('ENOTDIR', `readdir: ${JSON.stringify(path)} is a file, not a directory`);
    const dir = ino === ROOT_PATH ? ROOT_PARENT : ino;
    return usedInodes(v)
      .filter((i) => v.i32[inodeWord(v.layout, i, I_PARENT)] === dir)
      .map((i): [string, number] => [inodeName(v, i), v.i32[inodeWord(v.layout, i, I_MODE)]]);
  });
}

/**
 * mkdir(2), and `mkdir -p` with `recursive` (node's fsPromises.mkdir): EEXIST when the path exists
 * (unless recursive and it is a directory), ENOENT for a missing parent (unless recursive),
 * ENOTDIR when a component is a file. Returns, with `recursive`, the first directory it created
 * (undefined when none), as node does.
 */
export function mkdirPath(v: Volume, path: string, recursive: boolean, perm = 0o755): string | undefined {
  const p = parsePath(path, 'mkdir');
  assertWritable(v, `mkdir ${JSON.stringify(path)}`);
  return withNamespace(v, () => {
    if (p.names.length === 0) {
      if (recursive) return undefined;
      throw new DioreadError('EEXIST', `mkdir: ${JSON.stringify(path)} is the root directory`);
    }
    let dir = ROOT_PARENT;
    let first: string | undefined;
    for (let i = 0; i < p.names.length; i++) {
      const last = i === p.names.length - 1;
      const child = lookupLocked(v, dir, p.names[i]);
      if (child >= 0) {
        if (!isDir(v, child)) throw new DioreadError(last ? 'EEXIST' : 'ENOTDIR', `mkdir: ${JSON.stringify(path)}: ${show(p, i + 1)} is a file`);
        if (last && !recursive) throw new DioreadError('EEXIST', `mkdir: directory ${JSON.stringify(path)} exists`);
        dir = child;
        continue;
      }
      if (!last && !recursive) throw new DioreadError('ENOENT', `mkdir: ${JSON.stringify(path)}: no directory ${show(p, i + 1)} (recursive: true creates it)`);
      dir = newInode(v, p.names[i], path, S_IFDIR | (perm & 0o7777), dir);
      first ??= `${path.startsWith('/') ? '/' : ''}${JSON.parse(show(p, i + 1))}`;
    }
    return recursive ? first : undefined;
  });
}

/** rmdir(2): ENOTDIR for a file, ENOTEMPTY while it holds a name, EBUSY for the root. */
export function rmdirPath(v: Volume, path: string): void {
  const p = parsePath(path, 'rmdir');
  assertWritable(v, `rmdir ${JSON.stringify(path)}`);
  withNamespace(v, () => {
    const ino = resolveLocked(v, p, 'rmdir', false);
    if (ino === ROOT_PATH) throw new DioreadError('EBUSY', `rmdir: ${JSON.stringify(path)} is the root directory`);
    if (!isDir(v, ino)) throw new DioreadError('ENOTDIR', `rmdir: ${JSON.stringify(path)} is a file, not a directory`);
    if (hasEntriesLocked(v, ino)) throw new DioreadError('ENOTEMPTY', `rmdir: directory ${JSON.stringify(path)} is not empty`);
    const dir = v.i32[inodeWord(v.layout, ino, I_PARENT)];
    inHandle(v, ino, () => {
      touchDirLocked(v, dir);
      freeDirLocked(v, ino);
    });
  });
}

/** An empty directory's record goes free (it holds no data and is never open). In a handle, under namespace_lock. */
function freeDirLocked(v: Volume, ino: number): void {
  dcacheDrop(v.i32, v.layout, ino);
  setName(v, ino, new Uint8Array(0));
  v.i32[inodeWord(v.layout, ino, I_PARENT)] = ROOT_PARENT;
  markInodeDirty(v, ino);
  Atomics.store(v.i32, inodeWord(v.layout, ino, I_STATE), INODE_FREE);
}

/** A file's path from the root, '/'-joined (no leading '/'), walking I_PARENT. Caller holds namespace_lock or accepts a racy answer. */
export function inodePath(v: Volume, ino: number): string {
  const parts: string[] = [];
  for (let at = ino, steps = 0; at >= 0 && steps <= v.layout.maxFiles; at = v.i32[inodeWord(v.layout, at, I_PARENT)], steps++) parts.push(inodeName(v, at));
  return parts.reverse().join('/');
}

/** Every regular file in use, by its path from the root (engine.list, dioread ls). */
export function regularFiles(v: Volume): number[] {
  return usedInodes(v).filter((ino) => !isDir(v, ino));
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
  // bavail leaves out what data may not take (the extent-tree reserve), as df shows ext4's reserved blocks.
  return { bsize: BLOCK_SIZE, blocks: i32[H_BLOCK_COUNT] - i32[H_FIRST_DATA_BLOCK], bfree, bavail: Math.max(0, bfree - metaReserve(i32[H_BLOCK_COUNT], i32[H_FIRST_DATA_BLOCK])), files: v.layout.maxFiles, ffree: free };
}

/** The root directory's stat: this format keeps no record for it (times: mount, then last change). */
export function rootAttrs(v: Volume): InodeAttrs {
  const t = v.i32[H_ROOT_TIME_HI] * 2 ** 32 + (v.i32[H_ROOT_TIME_LO] >>> 0);
  return { ino: v.layout.maxFiles, mode: S_IFDIR | 0o755, nlink: 2, size: BLOCK_SIZE, blocks: 0, atimeMs: t, mtimeMs: t, ctimeMs: t, birthtimeMs: t };
}

/**
 * A directory changed (a name came or went): its mtime and ctime. The root keeps its times in the
 * header; any other directory's change is journaled with its record. Caller holds namespace_lock
 * and is in a handle.
 */
function touchDirLocked(v: Volume, dir: number): void {
  const now = Date.now();
  if (dir < 0) {
    setRootTime(v.i32, now);
    return;
  }
  setTime(v, dir, I_MTIME_LO, now);
  setTime(v, dir, I_CTIME_LO, now);
  markInodeDirty(v, dir);
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
