// Setting a file's times and permission bits: utimes/futimes and chmod/fchmod, node:fs's way.
// ext4 counterpart: fs/ext4/inode.c ext4_setattr's attribute part (ATTR_ATIME, ATTR_MTIME,
// ATTR_MODE; setattr_copy then ext4_mark_inode_dirty), the size part being truncate.
//
// Under the inode's write lock (i_mutex, and i_rwsem exclusive in 'shared' mode) and in a journal
// handle, so a commit never carries half of the change; ctime becomes now, as the kernel sets it.

import { DioreadError, showValue } from './errors.js';
import { assertWritable, lockInodeWrite, setTime, unlockInodeWrite } from './inode.js';
import { I_ATIME_LO, I_CTIME_LO, I_MODE, I_MTIME_LO, inodeWord } from './shm/layout.js';
import { inHandle, markInodeDirty } from './transaction.js';
import type { Volume } from './volume.js';

/** Latest time the image stores (ondisk.ts MAX_TIME_MS: year 9999). */
const MAX_TIME_MS = 253402300799999;

/**
 * A time as node:fs's utimes takes it: a number of seconds since the epoch (fractions allowed), a
 * numeric string, or a Date. Returns milliseconds. Anything else, or a time outside 1970..9999, is
 * EINVAL naming the value.
 */
export function parseTime(where: string, name: string, value: unknown): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value * 1000;
  else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) ms = Number(value) * 1000;
  else throw new DioreadError('EINVAL', `${where}: ${name} must be a number of seconds, a numeric string or a Date, got ${showValue(value)}`);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) throw new DioreadError('EINVAL', `${where}: ${name} ${showValue(value)} is outside 1970..9999`);
  return Math.floor(ms);
}

/** chmod's mode: the permission bits 0..0o7777 (the file type stays). */
export function parseMode(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0o7777) {
    throw new DioreadError('EINVAL', `${where}: mode must be an integer 0..0o7777, got ${showValue(value)}`);
  }
  return value;
}

/** The attributes one call sets: times in ms, permission bits. */
export interface AttrChange {
  atimeMs?: number;
  mtimeMs?: number;
  perm?: number;
}

/** ext4_setattr for times and mode: set what `c` names, ctime = now, all in one handle. */
export function setAttrs(v: Volume, ino: number, c: AttrChange): void {
  assertWritable(v, 'setting times or mode');
  const tok = lockInodeWrite(v, ino);
  try {
    inHandle(v, ino, () => {
      if (c.atimeMs !== undefined) setTime(v, ino, I_ATIME_LO, c.atimeMs);
      if (c.mtimeMs !== undefined) setTime(v, ino, I_MTIME_LO, c.mtimeMs);
      if (c.perm !== undefined) {
        const w = inodeWord(v.layout, ino, I_MODE);
        v.i32[w] = (v.i32[w] & 0o170000) | c.perm;
      }
      setTime(v, ino, I_CTIME_LO, Date.now());
      markInodeDirty(v, ino);
    });
  } finally {
    unlockInodeWrite(v, ino, tok);
  }
}
