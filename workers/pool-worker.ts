// Pool worker: runs the async API's operations, synchronously, on a piscina worker thread.
// ext4 counterpart: none directly; it plays the part of the thread a system call runs on.
// Worker-side code: it imports thread-side modules and constants only.

import { Piscina } from 'piscina';
import { dropFileCache, fileCacheState, fileRead, fileSync, fileTruncate, fileWrite, getSize, inodeAttrs, writebackAndConvert } from '../src/inode.js';
import { accessPath, setAttrsPath, evictOrphans, inodeName, inodePath, mkdirPath, openInode, readdirTyped, regularFiles, releaseInode, renamePath, rmdirPath, statFs, statPath, unlinkPath, usedInodes } from '../src/namei.js';
import { markImageState } from '../src/super.js';
import { closeJournal } from '../src/transaction.js';
import { OP_OTHER, SLOT_ROLE_POOL, type SharedDescriptor } from '../src/shm/layout.js';
import { Volume } from '../src/volume.js';
import { fileAllocate } from '../src/fallocate.js';
import { setAttrs, type AttrChange } from '../src/attr.js';
import type { AllocateArgs } from '../src/fs-args.js';

export type PoolTask =
  | { op: 'open'; name: string; create: boolean; exclusive: boolean; truncate: boolean; perm: number }
  | { op: 'read'; ino: number; position: number; length: number; direct: boolean }
  | { op: 'write'; ino: number; position: number; data: Uint8Array; direct: boolean; append: boolean; sync: boolean }
  | { op: 'sync'; ino: number }
  | { op: 'truncate'; ino: number; length: number }
  | { op: 'allocate'; ino: number; args: AllocateArgs }
  | { op: 'stat'; ino: number }
  | { op: 'cacheState'; ino: number }
  | { op: 'release'; ino: number }
  | { op: 'list' }
  | { op: 'unlink'; path: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'readdir'; path: string }
  | { op: 'statPath'; path: string }
  | { op: 'access'; path: string; mode: number | undefined }
  | { op: 'statfs' }
  | { op: 'setAttrs'; ino: number; change: AttrChange }
  | { op: 'setAttrsPath'; path: string; where: string; change: AttrChange }
  | { op: 'mkdir'; path: string; recursive: boolean; mode: number }
  | { op: 'rmdir'; path: string }
  | { op: 'evictOrphans' }
  | { op: 'writebackAll' }
  | { op: 'dropCaches' }
  | { op: 'closeJournal'; clean: boolean };

const v = new Volume(Piscina.workerData as SharedDescriptor, SLOT_ROLE_POOL);

/** One operation of the async API, run on this thread; what it returns goes back to the caller. */
export default function run(t: PoolTask): unknown {
  switch (t.op) {
    case 'open':
      return openTask(t);
    case 'read':
      return readTask(t);
    case 'write':
      return writeTask(t);
    case 'sync':
      fileSync(v, t.ino);
      return null;
    case 'truncate':
      fileTruncate(v, t.ino, t.length);
      return null;
    case 'allocate':
      fileAllocate(v, t.ino, t.args);
      return null;
    case 'stat':
      return inodeAttrs(v, t.ino);
    case 'cacheState':
      return fileCacheState(v, t.ino);
    case 'release':
      releaseInode(v, t.ino);
      return null;
    case 'setAttrs':
      setAttrs(v, t.ino, t.change);
      return null;
    case 'evictOrphans':
      return evictOrphans(v);
    case 'writebackAll':
      return writebackAll();
    case 'dropCaches':
      for (const ino of usedInodes(v)) dropFileCache(v, ino);
      return null;
    case 'closeJournal':
      // Close's last step: commit everything, empty the log, mark the image clean (or not).
      closeJournal(v);
      markImageState(v, t.clean);
      return null;
    default:
      return namespaceTask(t);
  }
}

type NamespaceOp = 'list' | 'unlink' | 'rename' | 'readdir' | 'statPath' | 'access' | 'statfs' | 'setAttrsPath' | 'mkdir' | 'rmdir';

/** The calls by path (namei.ts). */
function namespaceTask(t: Extract<PoolTask, { op: NamespaceOp }>): unknown {
  v.setOp(OP_OTHER);
  switch (t.op) {
    case 'list':
      return regularFiles(v).map((ino) => ({ name: inodePath(v, ino), size: getSize(v, ino) }));
    case 'unlink':
      unlinkPath(v, t.path);
      return null;
    case 'rename':
      renamePath(v, t.from, t.to);
      return null;
    case 'readdir':
      return readdirTyped(v, t.path);
    case 'statPath':
      return statPath(v, t.path);
    case 'access':
      accessPath(v, t.path, t.mode);
      return null;
    case 'statfs':
      return statFs(v);
    case 'setAttrsPath':
      setAttrsPath(v, t.path, t.where, t.change);
      return null;
    case 'mkdir':
      return mkdirPath(v, t.path, t.recursive, t.mode) ?? null;
    case 'rmdir':
      rmdirPath(v, t.path);
      return null;
  }
}

type Task<Op extends PoolTask['op']> = Extract<PoolTask, { op: Op }>;

/** Open (or create) a file by name and take a reference on its inode; O_TRUNC cuts it to 0. Returns the inode. */
function openTask(t: Task<'open'>): number {
  v.setOp(OP_OTHER);
  const ino = openInode(v, t.name, t.create, t.exclusive, t.perm);
  try {
    if (t.truncate) fileTruncate(v, ino, 0); // O_TRUNC
  } catch (err) {
    releaseInode(v, ino);
    throw err;
  }
  return ino;
}

/** Read into a new buffer; the view's length is bytesRead, and its buffer moves to the main thread without a copy. */
function readTask(t: Task<'read'>): unknown {
  const data = new Uint8Array(t.length);
  const bytesRead = fileRead(v, t.ino, data, 0, t.length, t.position, t.direct);
  return Piscina.move(data.subarray(0, bytesRead));
}

/** Write, and with O_SYNC sync the file; returns [bytes written, the position written at]. */
function writeTask(t: Task<'write'>): [number, number] {
  const n = fileWrite(v, t.ino, t.data, 0, t.data.byteLength, t.position, t.direct, t.append);
  const at = v.writePos;
  if (t.sync && n > 0) fileSync(v, t.ino); // O_SYNC
  return [n, at];
}

/**
 * Close's first step: write back and convert every file, even when one fails (a dead thread holds
 * its mutex, a device error): report every failure, skip no file (issue 7 bug 7).
 */
function writebackAll(): string[] {
  const failures: string[] = [];
  for (const ino of usedInodes(v)) {
    try {
      writebackAndConvert(v, ino);
    } catch (err) {
      failures.push(`${inodeName(v, ino)}: ${(err as Error).message}`);
    }
  }
  return failures;
}
