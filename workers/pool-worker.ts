// Pool worker: runs the async API's operations, synchronously, on a piscina worker thread.
// ext4 counterpart: none directly; it plays the part of the thread a system call runs on.
// Worker-side code: it imports thread-side modules and constants only.

import { Piscina } from 'piscina';
import { dropFileCache, fileCacheState, fileRead, fileSync, fileTruncate, fileWrite, getSize, inodeAttrs, lockInode, syncLocked, unlockInode } from '../src/inode.js';
import { inodeName, openInode, releaseInode, usedInodes } from '../src/namei.js';
import { persistAll } from '../src/super.js';
import { OP_OTHER, SLOT_ROLE_POOL, type SharedDescriptor } from '../src/shm/layout.js';
import { Volume } from '../src/volume.js';

export type PoolTask =
  | { op: 'open'; name: string; create: boolean; exclusive: boolean; truncate: boolean; perm: number }
  | { op: 'read'; ino: number; position: number; length: number; direct: boolean }
  | { op: 'write'; ino: number; position: number; data: Uint8Array; direct: boolean; append: boolean; sync: boolean }
  | { op: 'sync'; ino: number }
  | { op: 'truncate'; ino: number; length: number }
  | { op: 'stat'; ino: number }
  | { op: 'cacheState'; ino: number }
  | { op: 'release'; ino: number }
  | { op: 'list' }
  | { op: 'syncAll' }
  | { op: 'dropCaches' }
  | { op: 'persistAll'; clean: boolean };

const v = new Volume(Piscina.workerData as SharedDescriptor, SLOT_ROLE_POOL);

export default function run(t: PoolTask): unknown {
  switch (t.op) {
    case 'open': {
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
    case 'read': {
      const data = new Uint8Array(t.length);
      const bytesRead = fileRead(v, t.ino, data, 0, t.length, t.position, t.direct);
      // The view's length is bytesRead; its buffer moves to the main thread without a copy.
      return Piscina.move(data.subarray(0, bytesRead));
    }
    case 'write': {
      const n = fileWrite(v, t.ino, t.data, 0, t.data.byteLength, t.position, t.direct, t.append);
      const at = v.writePos;
      if (t.sync && n > 0) fileSync(v, t.ino); // O_SYNC
      return [n, at];
    }
    case 'sync':
      fileSync(v, t.ino);
      return null;
    case 'truncate':
      fileTruncate(v, t.ino, t.length);
      return null;
    case 'stat':
      return inodeAttrs(v, t.ino);
    case 'cacheState':
      return fileCacheState(v, t.ino);
    case 'release':
      releaseInode(v, t.ino);
      return null;
    case 'list':
      return usedInodes(v).map((ino) => ({ name: inodeName(v, ino), size: getSize(v, ino) }));
    case 'syncAll': {
      // Sync every file even when one fails; report the first failure at the end.
      let failure: unknown = null;
      for (const ino of usedInodes(v)) {
        const tok = lockInode(v, ino);
        try {
          syncLocked(v, ino);
        } catch (err) {
          failure ??= err;
        } finally {
          unlockInode(v, ino, tok);
        }
      }
      if (failure !== null) throw failure;
      return null;
    }
    case 'dropCaches':
      for (const ino of usedInodes(v)) dropFileCache(v, ino);
      return null;
    case 'persistAll': {
      const inodes = usedInodes(v);
      const toks = inodes.map((ino) => lockInode(v, ino));
      try {
        persistAll(v, inodes, t.clean);
      } finally {
        inodes.forEach((ino, i) => unlockInode(v, ino, toks[i]));
      }
      return null;
    }
  }
}
