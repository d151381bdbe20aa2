// The engine's namespace seen by the FUSE operations: the one module that knows which engine calls
// exist. ext4 counterpart: the inode_operations table (lookup, unlink, rename, mkdir) over ext4's.
//
// Worker side: every call is synchronous, on an attached view (attach(desc)). FUSE names files by
// inode number and the engine's API by path: the adapter turns an inode into its current path
// (inodePath walks the parents), and the engine checks every path it is given.
import os from 'node:os';
import type { AttachedEngine, SyncFileHandle } from '../attach.js';
import { inodePath } from '../namei.js';
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

  /** The current path of inode `ino` (to reach it through the API; callers check the inode they got). */
  pathOf(ino: number): string {
    if (!this.isLive(ino)) throw new FuseErrno(E.ENOENT, `inode ${ino} holds no named file or directory`);
    return inodePath(this.v.volume, ino);
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

  stat(path: string): Stats {
    return this.v.statSync(path);
  }

  /** The entries of directory `path`: names, and which are directories. */
  list(path: string): Array<{ name: string; dir: boolean }> {
    return this.v.readdirSync(path, { withFileTypes: true }).map((d) => ({ name: d.name, dir: d.isDirectory() }));
  }

  unlink(path: string): void {
    this.v.unlinkSync(path);
  }

  /** rename(2): atomic, replacing `to`, also across directories. */
  rename(from: string, to: string): void {
    this.v.renameSync(from, to);
  }

  statfs(): StatFs {
    return this.v.statfsSync();
  }

  mkdir(path: string, mode: number): void {
    this.v.mkdirSync(path, { mode });
  }

  rmdir(path: string): void {
    this.v.rmdirSync(path);
  }

  /** utimes by path: times in ms (the engine takes seconds, as node:fs does). */
  utimes(path: string, atimeMs: number, mtimeMs: number): void {
    this.v.utimesSync(path, atimeMs / 1000, mtimeMs / 1000);
  }

  chmod(path: string, perm: number): void {
    this.v.chmodSync(path, perm & 0o7777);
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
