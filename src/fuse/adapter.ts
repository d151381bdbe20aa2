// The engine's namespace seen by the FUSE operations: the one module that knows which engine calls
// exist. ext4 counterpart: the inode_operations table (lookup, unlink, rename, mkdir) over ext4's.
//
// Worker side: every call is synchronous, on an attached view (attach(desc)). The image has one
// flat root directory; names are its entries. Directories (mkdir, rmdir, nested paths) and
// fallocate are not in the engine yet: they answer the errno a kernel filesystem without them
// gives (EPERM, ENOTDIR, EOPNOTSUPP), never a pretended success.
import os from 'node:os';
import { SyncFileHandle, type AttachedEngine } from '../attach.js';
import { inodeInUse, inodeName } from '../namei.js';
import { I_GENERATION, MAX_NAME_BYTES, inodeWord } from '../shm/layout.js';
import type { Stats } from '../stats.js';
import { FuseErrno } from './errno.js';

const E = os.constants.errno;

/** What the adapter needs of a view: the existing API, and the namespace calls as they land. */
type View = AttachedEngine & {
  unlinkSync?: (path: string) => void;
  renameSync?: (from: string, to: string) => void;
  readdirSync?: (path?: string) => string[];
  statSync?: (path: string) => Stats;
  statfsSync?: () => { bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number };
};

export interface FsStats {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export class NamespaceAdapter {
  private readonly v: View;
  constructor(view: AttachedEngine) {
    this.v = view as View;
  }

  /** The engine inode number of `name` in the root directory (ENOENT when there is none). */
  lookup(name: string): number {
    if (this.v.statSync) return this.v.statSync(name).ino;
    const h = this.v.openSync(name, 'r');
    try {
      return h.ino;
    } finally {
      h.closeSync();
    }
  }

  /** True while inode `ino` holds a file (FUSE asks by inode number, the engine's API by name). */
  isLive(ino: number): boolean {
    return ino >= 0 && ino < this.v.volume.layout.maxFiles && inodeInUse(this.v.volume, ino);
  }

  /** The current name of inode `ino` (to open it by name; callers check the inode they got). */
  nameOf(ino: number): string {
    if (!this.isLive(ino)) throw new FuseErrno(E.ENOENT, `inode ${ino} holds no file`);
    return inodeName(this.v.volume, ino);
  }

  /** The inode's generation (bumped each time the inode is reused), for the kernel's nodeid checks. */
  generation(ino: number): number {
    return Atomics.load(this.v.volume.i32, inodeWord(this.v.volume.layout, ino, I_GENERATION)) >>> 0;
  }

  /** The longest name the engine takes, in UTF-8 bytes (statfs's f_namemax). */
  get nameMaxBytes(): number {
    return MAX_NAME_BYTES;
  }

  /** The names in the root directory. */
  list(): string[] {
    if (this.v.readdirSync) return this.v.readdirSync('/');
    return this.v.listSync().map((e) => e.name);
  }

  unlink(name: string): void {
    if (!this.v.unlinkSync) throw new FuseErrno(E.ENOSYS, 'unlink: the engine has no unlinkSync yet');
    this.v.unlinkSync(name);
  }

  /** rename(2) within the root directory: atomic, replacing `to`. */
  rename(from: string, to: string): void {
    if (!this.v.renameSync) throw new FuseErrno(E.ENOSYS, 'rename: the engine has no renameSync yet');
    this.v.renameSync(from, to);
  }

  statfs(): FsStats {
    if (!this.v.statfsSync) throw new FuseErrno(E.ENOSYS, 'statfs: the engine has no statfsSync yet');
    return this.v.statfsSync();
  }

  /** mkdir(2) documents EPERM for a filesystem that does not support directories. */
  mkdir(name: string): never {
    throw new FuseErrno(E.EPERM, `mkdir ${JSON.stringify(name)}: the image has no directories yet`);
  }

  /** rmdir(2) of an entry of a flat directory: every entry is a file (ENOTDIR), or absent (ENOENT). */
  rmdir(name: string): never {
    this.lookup(name); // ENOENT when absent
    throw new FuseErrno(E.ENOTDIR, `rmdir ${JSON.stringify(name)}: a file, not a directory`);
  }

  /** fallocate(2) on a filesystem without it: EOPNOTSUPP (posix_fallocate then writes zeros). */
  allocate(h: SyncFileHandle, mode: number, offset: number, length: number): void {
    throw new FuseErrno(E.EOPNOTSUPP, `fallocate of ${JSON.stringify(h.name)} (mode ${mode}, ${offset}+${length}): the engine has no allocate yet`);
  }
}
