// The engine's namespace seen by the FUSE operations: the one module that knows which engine calls
// exist. ext4 counterpart: the inode_operations table (lookup, unlink, rename, mkdir) over ext4's.
//
// Worker side: every call is synchronous, on an attached view (attach(desc)). The image has one
// flat root directory; names are its entries. Directories (mkdir, rmdir, nested paths) are not in
// the engine yet: they answer the errno a kernel filesystem without them gives (EPERM, ENOTDIR),
// never a pretended success.
import os from 'node:os';
import type { AttachedEngine, SyncFileHandle } from '../attach.js';
import { inodeName } from '../namei.js';
import { I_GENERATION, I_STATE, INODE_ORPHAN, INODE_USED, MAX_NAME_BYTES, inodeWord } from '../shm/layout.js';
import type { StatFs } from '../namei.js';
import type { Stats } from '../stats.js';
import { FuseErrno } from './errno.js';

const E = os.constants.errno;

// fallocate(2)'s mode bits (linux/falloc.h).
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;

export class NamespaceAdapter {
  constructor(private readonly v: AttachedEngine) {}

  private state(ino: number): number {
    if (!Number.isInteger(ino) || ino < 0 || ino >= this.v.volume.layout.maxFiles) return -1;
    return Atomics.load(this.v.volume.i32, inodeWord(this.v.volume.layout, ino, I_STATE));
  }

  /** True while inode `ino` holds a named file (FUSE asks by inode number, the engine's API by name). */
  isLive(ino: number): boolean {
    return this.state(ino) === INODE_USED;
  }

  /** True while inode `ino` holds a file, named or unlinked but still open (an orphan). */
  exists(ino: number): boolean {
    const s = this.state(ino);
    return s === INODE_USED || s === INODE_ORPHAN;
  }

  /** The current name of inode `ino` (to open it by name; callers check the inode they got). */
  nameOf(ino: number): string {
    if (!this.isLive(ino)) throw new FuseErrno(E.ENOENT, `inode ${ino} holds no named file`);
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

  /** The root directory's attributes (its times are the mount's, then its last change). */
  rootStats(): Stats {
    return this.v.statSync('/');
  }

  /** The engine inode number of `name` in the root directory (ENOENT when there is none). */
  lookup(name: string): number {
    return this.v.statSync(name).ino;
  }

  /** The names in the root directory. */
  list(): string[] {
    return this.v.readdirSync('/');
  }

  unlink(name: string): void {
    this.v.unlinkSync(name);
  }

  /** rename(2) within the root directory: atomic, replacing `to`. */
  rename(from: string, to: string): void {
    this.v.renameSync(from, to);
  }

  statfs(): StatFs {
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

  /**
   * fallocate(2): allocate (mode 0 or KEEP_SIZE), PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE (|KEEP_SIZE) go
   * to the engine's allocateSync; COLLAPSE_RANGE, INSERT_RANGE and the rest are EOPNOTSUPP.
   */
  allocate(h: SyncFileHandle, mode: number, offset: number, length: number): void {
    const known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
    if (mode & ~known) throw new FuseErrno(E.EOPNOTSUPP, `fallocate of ${JSON.stringify(h.name)}: mode 0x${mode.toString(16)} is not supported`);
    const keepSize = (mode & FALLOC_FL_KEEP_SIZE) !== 0;
    h.allocateSync(offset, length, { keepSize, punchHole: (mode & FALLOC_FL_PUNCH_HOLE) !== 0, zeroRange: (mode & FALLOC_FL_ZERO_RANGE) !== 0 });
  }
}
