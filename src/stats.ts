// Stats: what stat() returns, with node:fs's field names and units.
// ext4 counterpart: ext4_getattr filling struct kstat (and cp_new_stat turning it into struct stat).

import type { InodeAttrs } from './inode.js';

/** st_blksize: the unit dioread does I/O in. */
export const STAT_BLKSIZE = 4096;

/** node:fs's file-type predicates over st_mode, shared by Stats and Dirent (regular files and directories only here). */
abstract class FileType {
  protected abstract typeMode(): number;
  isFile(): boolean {
    return (this.typeMode() & 0o170000) === 0o100000;
  }
  isDirectory(): boolean {
    return (this.typeMode() & 0o170000) === 0o040000;
  }
  isBlockDevice(): boolean {
    return false;
  }
  isCharacterDevice(): boolean {
    return false;
  }
  isSymbolicLink(): boolean {
    return false;
  }
  isFIFO(): boolean {
    return false;
  }
  isSocket(): boolean {
    return false;
  }
}

/** A node:fs Stats look-alike: the same fields, units and predicates. */
export class Stats extends FileType {
  readonly dev: number;
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev = 0;
  readonly size: number;
  readonly blksize = STAT_BLKSIZE;
  /** 512-byte units, as st_blocks. */
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;
  readonly atime: Date;
  readonly mtime: Date;
  readonly ctime: Date;
  readonly birthtime: Date;

  constructor(a: InodeAttrs, dev = 0) {
    super();
    this.dev = dev;
    this.ino = a.ino;
    this.mode = a.mode;
    this.nlink = a.nlink;
    // The image records no owners: the files belong to whoever runs the engine, as on a FUSE mount
    // without default_permissions.
    this.uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    this.gid = typeof process.getgid === 'function' ? process.getgid() : 0;
    this.size = a.size;
    this.blocks = a.blocks;
    this.atimeMs = a.atimeMs;
    this.mtimeMs = a.mtimeMs;
    this.ctimeMs = a.ctimeMs;
    this.birthtimeMs = a.birthtimeMs;
    this.atime = new Date(a.atimeMs);
    this.mtime = new Date(a.mtimeMs);
    this.ctime = new Date(a.ctimeMs);
    this.birthtime = new Date(a.birthtimeMs);
  }

  protected typeMode(): number {
    return this.mode;
  }
}

/** A node:fs Dirent look-alike (readdir with `withFileTypes: true`). */
export class Dirent extends FileType {
  constructor(
    readonly name: string,
    /** The directory read, as node's `parentPath`. */
    readonly parentPath: string,
    private readonly mode: number,
  ) {
    super();
  }
  /** node's older name for parentPath. */
  get path(): string {
    return this.parentPath;
  }
  protected typeMode(): number {
    return this.mode;
  }
}
