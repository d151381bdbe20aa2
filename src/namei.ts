// Names: one flat directory of files, looked up and created under the namespace lock.
// ext4 counterpart: fs/ext4/namei.c (ext4_lookup, ext4_create) and ialloc.c (ext4_new_inode),
// reduced to a flat table of maxFiles inodes.
//
// Thread safety: I_STATE, I_NAME*, I_GENERATION change only under namespace_lock (a mutex); the
// new inode's other words are reset before I_STATE publishes it.

import { DioreadError } from './errors.js';
import {
  H_NAMESPACE_LOCK,
  I_BLOCKS,
  I_COMPLETED_HEAD,
  I_COMPLETED_LEN,
  I_COMPLETED_TAIL,
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
  LC_NAMESPACE,
  MAX_NAME_BYTES,
  inodeWord,
} from './shm/layout.js';
import { lock, unlock } from './sync/lock.js';
import { assertWritable, setTime } from './inode.js';
import { inHandle, markInodeDirty } from './transaction.js';
import type { Volume } from './volume.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Validate a file name and return its UTF-8 bytes. */
export function encodeName(name: unknown): Uint8Array {
  if (typeof name !== 'string' || name.length === 0) {
    throw new DioreadError('EINVAL', `file name must be a non-empty string, got ${typeof name === 'string' ? '""' : typeof name}`);
  }
  if (name.includes('\0') || name.includes('/')) throw new DioreadError('EINVAL', `file name ${JSON.stringify(name)} contains "/" or NUL`);
  const bytes = encoder.encode(name);
  if (bytes.length > MAX_NAME_BYTES) {
    throw new DioreadError('ENAMETOOLONG', `file name ${JSON.stringify(name)} is ${bytes.length} bytes of UTF-8, over ${MAX_NAME_BYTES}`);
  }
  return bytes;
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

export function inodeInUse(v: Volume, ino: number): boolean {
  return Atomics.load(v.i32, inodeWord(v.layout, ino, I_STATE)) === 1;
}

function lookupLocked(v: Volume, bytes: Uint8Array): number {
  for (let ino = 0; ino < v.layout.maxFiles; ino++) {
    if (inodeInUse(v, ino) && nameEquals(v, ino, bytes)) return ino;
  }
  return -1;
}

/** S_IFREG: st_mode's file type for a regular file. */
export const S_IFREG = 0o100000;

/**
 * ext4_lookup / ext4_create: open `name`, creating it when asked (with permission bits `perm`).
 * Returns the inode number.
 */
export function openInode(v: Volume, name: string, create: boolean, exclusive: boolean, perm = 0o644): number {
  const bytes = encodeName(name);
  const tok = lock(v, H_NAMESPACE_LOCK, LC_NAMESPACE);
  try {
    let ino = lookupLocked(v, bytes);
    if (ino >= 0) {
      if (create && exclusive) throw new DioreadError('EEXIST', `file ${JSON.stringify(name)} exists (create with exclusive: true)`);
    } else {
      if (!create) throw new DioreadError('ENOENT', `no file named ${JSON.stringify(name)}`);
      assertWritable(v, `create ${JSON.stringify(name)}`);
      ino = newInode(v, bytes, name, perm);
    }
    Atomics.add(v.i32, inodeWord(v.layout, ino, I_OPEN_COUNT), 1);
    return ino;
  } finally {
    unlock(v, H_NAMESPACE_LOCK, LC_NAMESPACE, tok);
  }
}

function newInode(v: Volume, bytes: Uint8Array, name: string, perm: number): number {
  const l = v.layout;
  for (let ino = 0; ino < l.maxFiles; ino++) {
    if (inodeInUse(v, ino) || v.i32[inodeWord(l, ino, I_POISONED)] !== 0) continue;
    inHandle(v, ino, () => initInode(v, ino, bytes, perm));
    return ino;
  }
  throw new DioreadError('ENOSPC', `cannot create ${JSON.stringify(name)}: all ${l.maxFiles} inodes are in use (engine option maxFiles)`);
}

/** ext4_new_inode's part after the bitmap: a fresh record, published by I_STATE last. In a handle. */
function initInode(v: Volume, ino: number, bytes: Uint8Array, perm: number): void {
  const l = v.layout;
  const i32 = v.i32;
  {
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
    i32[inodeWord(l, ino, I_NAME_LEN)] = bytes.length;
    new Uint8Array(i32.buffer).set(bytes, inodeWord(l, ino, I_NAME) * 4);
    i32[inodeWord(l, ino, I_EXT_DIRTY_LO)] = EXT_CLEAN_LO;
    i32[inodeWord(l, ino, I_EXT_DIRTY_HI)] = 0;
    i32[inodeWord(l, ino, I_GOAL)] = -1;
    markInodeDirty(v, ino);
    Atomics.store(i32, inodeWord(l, ino, I_STATE), 1);
  }
}

export function releaseInode(v: Volume, ino: number): void {
  Atomics.sub(v.i32, inodeWord(v.layout, ino, I_OPEN_COUNT), 1);
}

/** Inodes in use, in inode order. */
export function usedInodes(v: Volume): number[] {
  const out: number[] = [];
  for (let ino = 0; ino < v.layout.maxFiles; ino++) if (inodeInUse(v, ino)) out.push(ino);
  return out;
}
