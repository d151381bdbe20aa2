// FUSE low-level requests turned into engine calls, on the worker thread that received them.
// libfuse counterpart: the fuse_lowlevel_ops of example/passthrough_ll.c (lookup, getattr, open,
// read, write, ...); the kernel's is fs/fuse/dir.c and file.c on the other side of /dev/fuse.
//
// Worker side. Inode numbers: FUSE's root is 1 (the engine's root, statSync('/').ino); engine
// inode i is FUSE inode i + 2; a request naming (parent, name) becomes the path parent's path +
// '/' + name, and the engine resolves and checks it (ENOENT, ENOTDIR, EISDIR...). File handles
// are numbers every worker can serve, since the kernel sends each request to whichever worker
// reads it first: fh = engine inode * 32 + the open mode's bits. The open that made the handle
// holds the engine's open count; whichever worker gets the release gives it back.
import fs from 'node:fs';
import os from 'node:os';
import { SyncFileHandle, type AttachedEngine } from '../attach.js';
import type { OpenMode } from '../fs-args.js';
import type { Stats } from '../stats.js';
import { A_ATIME, A_BLKSIZE, A_BLOCKS, A_CTIME, A_GEN, A_GID, A_INO, A_MODE, A_MTIME, A_NLINK, A_SIZE, A_UID, F_BAVAIL, F_BFREE, F_BLOCKS, F_BSIZE, F_FFREE, F_FILES, F_NAMEMAX, type FuseHandlers } from './addon.js';
import { NamespaceAdapter } from './adapter.js';
import { FuseErrno, errnoOf, isExpected } from './errno.js';

const E = os.constants.errno;
const O = fs.constants;

export const ROOT_INO = 1;
const INO_BASE = 2;

// The open mode's bits in a file handle.
const FH_READ = 1, FH_WRITE = 2, FH_DIRECT = 4, FH_APPEND = 8, FH_SYNC = 16, FH_BITS = 32;

// setattr's to_set bits (fuse_lowlevel.h FUSE_SET_ATTR_*).
const SET_MODE = 1, SET_UID = 2, SET_GID = 4, SET_SIZE = 8, SET_ATIME = 16, SET_MTIME = 32, SET_ATIME_NOW = 128, SET_MTIME_NOW = 256;

/**
 * The engine's open flags for a FUSE open: the access mode and the bits the engine knows. O_TRUNC
 * comes with open as well as create: libfuse asks for FUSE_CAP_ATOMIC_O_TRUNC, so the kernel
 * leaves truncating an opened file to us instead of sending a setattr.
 */
export function engineOpenFlags(flags: number, create: boolean): number {
  let f = flags & 3;
  const known = [O.O_APPEND, O.O_DIRECT, O.O_SYNC, O.O_DSYNC, O.O_TRUNC, ...(create ? [O.O_CREAT, O.O_EXCL] : [])];
  for (const bit of known) if ((flags & bit) === bit) f |= bit;
  return f;
}

function fhBits(flags: number): number {
  const acc = flags & 3;
  let b = 0;
  if (acc !== O.O_WRONLY) b |= FH_READ;
  if (acc !== O.O_RDONLY) b |= FH_WRITE;
  if ((flags & O.O_DIRECT) === O.O_DIRECT) b |= FH_DIRECT;
  if ((flags & O.O_APPEND) === O.O_APPEND) b |= FH_APPEND;
  if ((flags & O.O_DSYNC) === O.O_DSYNC) b |= FH_SYNC;
  return b;
}

function modeOfBits(b: number): OpenMode {
  return { read: (b & FH_READ) !== 0, write: (b & FH_WRITE) !== 0, create: false, exclusive: false, truncate: false, append: (b & FH_APPEND) !== 0, sync: (b & FH_SYNC) !== 0, direct: (b & FH_DIRECT) !== 0 };
}

/** One worker's handlers: `io` and `out` are the buffers it gave serve(). */
export class FuseOps implements FuseHandlers {
  private readonly ns: NamespaceAdapter;
  private readonly io: Uint8Array;
  /** This thread's handle objects, by fh; any worker can build one for any fh. */
  private readonly handles = new Map<number, SyncFileHandle>();
  private rootEngineIno: number | null = null;

  constructor(
    private readonly view: AttachedEngine,
    io: ArrayBuffer,
    private readonly out: Float64Array,
    private readonly log: (line: string) => void = (l) => console.error(l),
  ) {
    this.ns = new NamespaceAdapter(view);
    this.io = new Uint8Array(io);
  }

  /** Run one request: its result, or -errno for what it threw (faults are logged, not hidden). */
  private run<T extends number | Array<string | number>>(op: string, fn: () => T): T | number {
    try {
      return fn();
    } catch (err) {
      if (!isExpected(err)) this.log(`dioread mount: ${op}: ${(err as Error).stack ?? String(err)}`);
      return -errnoOf(err);
    }
  }

  private engineIno(ino: number): number {
    if (ino === ROOT_INO) throw new FuseErrno(E.EISDIR, 'the root directory is not a file');
    return ino - INO_BASE;
  }

  /** The FUSE inode of an engine inode (the engine's root is FUSE's 1). */
  private fuseIno(eino: number): number {
    if (this.rootEngineIno === null) this.rootEngineIno = this.ns.rootStats().ino;
    return eino === this.rootEngineIno ? ROOT_INO : eino + INO_BASE;
  }

  /** The path of FUSE inode `ino` ('/' for the root). */
  private pathOf(ino: number): string {
    return ino === ROOT_INO ? '/' : this.ns.pathOf(ino - INO_BASE);
  }

  /** The path of `name` in directory `parent` (a file as parent: the engine says ENOTDIR). */
  private child(parent: number, name: string): string {
    const dir = this.pathOf(parent);
    return dir === '/' ? name : `${dir}/${name}`;
  }

  private handle(fh: number): SyncFileHandle {
    let h = this.handles.get(fh);
    if (h === undefined) {
      const ino = Math.floor(fh / FH_BITS);
      h = new SyncFileHandle(this.view.volume, ino, this.ns.isLive(ino) ? this.ns.pathOf(ino) : `inode ${ino}`, modeOfBits(fh % FH_BITS));
      this.handles.set(fh, h);
    }
    return h;
  }

  private putStats(st: Stats, ino: number, gen: number): void {
    const a = this.out;
    a[A_INO] = ino;
    a[A_GEN] = gen;
    a[A_MODE] = st.mode;
    a[A_NLINK] = st.nlink;
    a[A_SIZE] = st.size;
    a[A_BLOCKS] = st.blocks;
    a[A_ATIME] = st.atimeMs;
    a[A_MTIME] = st.mtimeMs;
    a[A_CTIME] = st.ctimeMs;
    a[A_UID] = st.uid;
    a[A_GID] = st.gid;
    a[A_BLKSIZE] = st.blksize;
  }

  /** Fill `out` with the attributes of FUSE inode `ino` (through `fh` when the file is open). */
  private putAttrs(ino: number, fh: number): void {
    if (ino === ROOT_INO) return this.putStats(this.ns.rootStats(), ROOT_INO, 0);
    const eino = this.engineIno(ino);
    if (fh < 0 && !this.ns.exists(eino)) throw new FuseErrno(E.ENOENT, `inode ${ino} holds no file`);
    const h = fh >= 0 ? this.handle(fh) : this.handle(eino * FH_BITS + FH_READ);
    this.putStats(h.fstatSync(), ino, this.ns.generation(eino));
  }

  lookup(parent: number, name: string): number {
    return this.run('lookup', () => {
      const st = this.ns.stat(this.child(parent, name));
      this.putStats(st, this.fuseIno(st.ino), this.ns.generation(st.ino));
      return 0;
    });
  }

  getattr(ino: number, fh: number): number {
    return this.run('getattr', () => {
      this.putAttrs(ino, fh);
      return 0;
    });
  }

  /**
   * setattr: size (truncate), times (utimes, touch) and mode (chmod). The image keeps no owners:
   * chown is EPERM. ftruncate and O_TRUNC come with "mtime = now"; the engine's truncate sets it.
   */
  setattr(ino: number, fh: number, toSet: number, size: number, mode: number, atimeMs: number, mtimeMs: number): number {
    return this.run('setattr', () => {
      if (toSet & (SET_UID | SET_GID)) throw new FuseErrno(E.EPERM, `setattr of inode ${ino}: chown is not supported (the image records no owners)`);
      if (toSet & SET_SIZE) this.truncate(ino, fh, size);
      else this.setTimes(ino, toSet, atimeMs, mtimeMs);
      if (toSet & SET_MODE) this.ns.chmod(this.pathOf(ino), mode);
      this.putAttrs(ino, fh);
      return 0;
    });
  }

  /** utimensat through FUSE: each of atime and mtime given, "now", or left as it is. */
  private setTimes(ino: number, toSet: number, atimeMs: number, mtimeMs: number): void {
    if (!(toSet & (SET_ATIME | SET_MTIME | SET_ATIME_NOW | SET_MTIME_NOW))) return;
    const now = Date.now();
    const path = this.pathOf(ino);
    const st = this.ns.stat(path);
    const pick = (set: number, setNow: number, given: number, kept: number) => (toSet & setNow ? now : toSet & set ? given : kept);
    this.ns.utimes(path, pick(SET_ATIME, SET_ATIME_NOW, atimeMs, st.atimeMs), pick(SET_MTIME, SET_MTIME_NOW, mtimeMs, st.mtimeMs));
  }

  private truncate(ino: number, fh: number, size: number): void {
    if (fh >= 0 && fh % FH_BITS & FH_WRITE) return this.handle(fh).ftruncateSync(size);
    const h = this.openIno(this.engineIno(ino), O.O_WRONLY);
    try {
      h.ftruncateSync(size);
    } finally {
      h.closeSync();
    }
  }

  /** Open engine inode `eino` by its current path; a rename racing the open is retried. */
  private openIno(eino: number, engineFlags: number): SyncFileHandle {
    for (let attempt = 0; attempt < 3; attempt++) {
      const h = this.view.openSync(this.ns.pathOf(eino), engineFlags);
      if (h.ino === eino) return h;
      h.closeSync(); // the path moved to another inode between pathOf and openSync: look again
    }
    throw new FuseErrno(E.ESTALE, `inode ${eino + INO_BASE} keeps changing names under open`);
  }

  open(ino: number, flags: number): number {
    return this.run('open', () => {
      const eino = this.engineIno(ino);
      const h = this.openIno(eino, engineOpenFlags(flags, false));
      const fh = eino * FH_BITS + fhBits(flags);
      if (!this.handles.has(fh)) this.handles.set(fh, h);
      return fh;
    });
  }

  create(parent: number, name: string, mode: number, flags: number): number {
    return this.run('create', () => {
      const h = this.view.openSync(this.child(parent, name), engineOpenFlags(flags, true), mode & 0o7777);
      const fh = h.ino * FH_BITS + fhBits(flags);
      if (!this.handles.has(fh)) this.handles.set(fh, h);
      this.putStats(h.fstatSync(), this.fuseIno(h.ino), this.ns.generation(h.ino));
      return fh;
    });
  }

  read(fh: number, size: number, offset: number): number {
    return this.run('read', () => this.handle(fh).readSync(this.io, 0, size, offset));
  }

  write(fh: number, size: number, offset: number): number {
    return this.run('write', () => this.handle(fh).writeSync(this.io, 0, size, offset));
  }

  release(fh: number): number {
    return this.run('release', () => {
      const h = this.handle(fh);
      this.handles.delete(fh);
      h.closeSync();
      return 0;
    });
  }

  fsync(fh: number, datasync: number): number {
    return this.run('fsync', () => {
      if (datasync) this.handle(fh).fdatasyncSync();
      else this.handle(fh).fsyncSync();
      return 0;
    });
  }

  opendir(ino: number): number {
    return this.run('opendir', () => {
      if (ino === ROOT_INO) return 0;
      if (!this.ns.isLive(ino - INO_BASE)) throw new FuseErrno(E.ENOENT, `opendir of inode ${ino}: no such directory`);
      if (!this.ns.stat(this.pathOf(ino)).isDirectory()) throw new FuseErrno(E.ENOTDIR, `opendir of inode ${ino}: a file`);
      return 0;
    });
  }

  /** Entries from index `offset`: ".", "..", then the directory's names (one that vanished is left out). */
  readdir(ino: number, offset: number): Array<string | number> | number {
    return this.run('readdir', () => {
      const path = this.pathOf(ino);
      const parentPath = path === '/' || !path.includes('/') ? '/' : path.slice(0, path.lastIndexOf('/'));
      const names = [{ name: '.', dir: true }, { name: '..', dir: true }, ...this.ns.list(path)];
      const out: Array<string | number> = [];
      for (let i = offset; i < names.length; i++) {
        const e = names[i];
        const at = i === 0 ? path : i === 1 ? parentPath : path === '/' ? e.name : `${path}/${e.name}`;
        const eino = this.inoOrNull(at);
        if (eino !== null) out.push(e.name, this.fuseIno(eino), e.dir ? 1 : 0, i);
      }
      return out;
    });
  }

  /** The engine inode `path` names, or null when it vanished since the listing. */
  private inoOrNull(path: string): number | null {
    try {
      return this.ns.stat(path).ino;
    } catch (err) {
      if (errnoOf(err) === E.ENOENT) return null;
      throw err;
    }
  }

  statfs(): number {
    return this.run('statfs', () => {
      const s = this.ns.statfs();
      const f = this.out;
      f[F_BSIZE] = s.bsize;
      f[F_BLOCKS] = s.blocks;
      f[F_BFREE] = s.bfree;
      f[F_BAVAIL] = s.bavail;
      f[F_FILES] = s.files;
      f[F_FFREE] = s.ffree;
      f[F_NAMEMAX] = this.ns.nameMaxBytes;
      return 0;
    });
  }

  unlink(parent: number, name: string): number {
    return this.run('unlink', () => {
      this.ns.unlink(this.child(parent, name));
      return 0;
    });
  }

  /** rename(2); renameat2's flags (RENAME_NOREPLACE, RENAME_EXCHANGE) are EINVAL, as documented for a filesystem without them. */
  rename(parent: number, name: string, newParent: number, newName: string, flags: number): number {
    return this.run('rename', () => {
      if (flags !== 0) throw new FuseErrno(E.EINVAL, `rename ${JSON.stringify(name)}: renameat2 flags ${flags} are not supported`);
      this.ns.rename(this.child(parent, name), this.child(newParent, newName));
      return 0;
    });
  }

  mkdir(parent: number, name: string, mode: number): number {
    return this.run('mkdir', () => {
      const path = this.child(parent, name);
      this.ns.mkdir(path, mode & 0o7777);
      const st = this.ns.stat(path);
      this.putStats(st, this.fuseIno(st.ino), this.ns.generation(st.ino));
      return 0;
    });
  }

  rmdir(parent: number, name: string): number {
    return this.run('rmdir', () => {
      this.ns.rmdir(this.child(parent, name));
      return 0;
    });
  }

  fallocate(fh: number, mode: number, offset: number, length: number): number {
    return this.run('fallocate', () => {
      this.ns.allocate(this.handle(fh), mode, offset, length);
      return 0;
    });
  }

  /** Close what this thread still holds (handles the kernel never released: none after an unmount). */
  forgetHandles(): void {
    this.handles.clear();
  }
}
