// attach(): the synchronous, worker-side face of an engine, call for call like node:fs's *Sync calls.
// ext4 counterpart: the VFS file operations (read_iter, write_iter, fsync) a thread calls directly;
// each call runs on the calling thread, over the shared buffers: nothing per call crosses threads.

import { isMainThread } from 'node:worker_threads';
import { DioreadError } from './errors.js';
import { describeMode, parseAllocateArgs, parseLength, parseOpenArgs, parseReadArgs, parseWriteArgs, type OpenMode } from './fs-args.js';
import { fileAllocate } from './fallocate.js';
import { parseMode, parseTime, setAttrs } from './attr.js';
import { assertWritable, fileCacheState, fileRead, readCachedWhole, fileSync, fileTruncate, fileWrite, getSize, inodeAttrs, type CacheState } from './inode.js';
import { accessPath, inodePath, mkdirPath, setAttrsPath, openInode, readdirTyped, readdirWantsTypes, regularFiles, releaseInode, renamePath, rmdirPath, statFs, statPath, unlinkPath, type StatFs } from './namei.js';
import { checkMkdirOptions } from './fs-args.js';
import { BLOCK_SIZE, SLOT_ROLE_USER, type SharedDescriptor } from './shm/layout.js';
import { Dirent, Stats } from './stats.js';
import { checkEnd } from './validate.js';
import { Volume } from './volume.js';
import { collectLockStats, type LockStatRow } from './lockstat.js';

/**
 * One call of a view: refused once the engine is closing (enterCall), counted so that close waits
 * for it, and whatever it throws reaches the caller as a DioreadError: an internal failure (a
 * broken invariant, a bug) is EIO and takes the engine read-only (errors=remount-ro) for every view.
 */
function viewCall<T>(v: Volume, where: string, run: () => T): T {
  v.enterCall(where);
  try {
    return run();
  } catch (err) {
    throw v.callerError(where, err);
  } finally {
    v.leaveCall();
  }
}

/** A file opened through attach(): every call is synchronous and runs on this thread. */
export class SyncFileHandle {
  private closed = false;
  /** The file position: where reads and writes with position null / -1 go, and advance. */
  private filePos = 0;
  constructor(
    private readonly v: Volume,
    readonly ino: number,
    readonly name: string,
    private readonly mode: OpenMode,
  ) {}

  /** True for a handle opened with O_DIRECT (`direct: true`). */
  get direct(): boolean {
    return this.mode.direct;
  }

  private live(where: string): void {
    if (this.closed) throw new DioreadError('EBADF', `${where}: file ${JSON.stringify(this.name)} is closed`);
    if (this.v.isDetached) throw new DioreadError('EBADF', `${where}: the view of file ${JSON.stringify(this.name)} was detached`);
  }

  /** Run one call: refused once the engine is closing, and counted so that close waits for it. */
  private call<T>(where: string, run: () => T): T {
    this.live(where);
    return viewCall(this.v, where, run);
  }

  private canRead(where: string): void {
    this.live(where);
    if (!this.mode.read) throw new DioreadError('EBADF', `${where}: file ${JSON.stringify(this.name)} was opened ${describeMode(this.mode)}, not for reading`);
  }

  private canWrite(where: string): void {
    this.live(where);
    if (!this.mode.write) throw new DioreadError('EBADF', `${where}: file ${JSON.stringify(this.name)} was opened ${describeMode(this.mode)}, not for writing`);
  }

  /**
   * readSync(buffer, offset?, length?, position?) or readSync(buffer, { offset, length, position }):
   * bytes read (short only at end of file). Position null or -1 reads at the file position.
   */
  readSync(buffer: NodeJS.ArrayBufferView, offsetOrOptions?: number | { offset?: number; length?: number; position?: number | bigint | null }, length?: number, position?: number | bigint | null): number {
    this.canRead('readSync');
    const a = parseReadArgs('readSync', buffer, offsetOrOptions, length, position);
    const at = a.position ?? this.filePos;
    if (!this.mode.direct && a.length <= BLOCK_SIZE && !this.v.closing) {
      // dioread_nolock: a read the cache holds whole enters no call (readCachedWhole says why).
      // Buffered reads of up to a block only: a miss redoes at most one page's copy in fileRead,
      // and a direct read, which the cache rarely serves, does not look the size and page up twice.
      let hit: number;
      try {
        hit = readCachedWhole(this.v, this.ino, a.buffer, a.offset, a.length, at);
      } catch (err) {
        throw this.v.callerError('readSync', err);
      }
      if (hit >= 0) {
        if (a.position === null) this.filePos = at + hit;
        return hit;
      }
    }
    this.v.enterCall('readSync');
    try {
      const n = fileRead(this.v, this.ino, a.buffer, a.offset, a.length, at, this.mode.direct);
      if (a.position === null) this.filePos = at + n;
      return n;
    } finally {
      this.v.leaveCall();
    }
  }

  /**
   * writeSync(buffer, offset?, length?, position?), writeSync(buffer, { offset, length, position }) or
   * writeSync(string, position?, encoding?): bytes written (short only when the device fills).
   */
  writeSync(buffer: NodeJS.ArrayBufferView | string, offsetOrOptions?: number | bigint | null | { offset?: number; length?: number; position?: number | bigint | null }, length?: number | string, position?: number | bigint | null): number {
    this.canWrite('writeSync');
    const a = parseWriteArgs('writeSync', buffer, offsetOrOptions, length, position);
    this.v.enterCall('writeSync');
    try {
      const at = a.position ?? this.filePos;
      checkEnd('writeSync', at, a.length);
      const n = fileWrite(this.v, this.ino, a.buffer, a.offset, a.length, at, this.mode.direct, this.mode.append);
      // pwrite (a position given) leaves the file position alone, in append mode too (Linux).
      if (a.position === null) this.filePos = this.v.writePos + n;
      if (this.mode.sync && n > 0) fileSync(this.v, this.ino);
      return n;
    } finally {
      this.v.leaveCall();
    }
  }

  /** fsync: returns when every earlier write of this file is on disk, converted and committed. */
  fsyncSync(): void {
    this.call('fsyncSync', () => fileSync(this.v, this.ino));
  }

  /** fdatasync: the same as fsyncSync here (the size and extents are the metadata data needs). */
  fdatasyncSync(): void {
    this.call('fdatasyncSync', () => fileSync(this.v, this.ino));
  }

  ftruncateSync(len?: number): void {
    this.canWrite('ftruncateSync');
    const n = parseLength('ftruncateSync', len);
    this.call('ftruncateSync', () => fileTruncate(this.v, this.ino, n));
  }

  /** Alias of ftruncateSync. */
  truncateSync(len?: number): void {
    this.canWrite('truncateSync');
    const n = parseLength('truncateSync', len);
    this.call('truncateSync', () => fileTruncate(this.v, this.ino, n));
  }

  /** fallocate(2), synchronously: the same modes as FileHandle.allocate. */
  allocateSync(offset: number, length: number, options?: { keepSize?: boolean; punchHole?: boolean; zeroRange?: boolean }): void {
    this.canWrite('allocateSync');
    const args = parseAllocateArgs('allocateSync', offset, length, options);
    this.call('allocateSync', () => fileAllocate(this.v, this.ino, args));
  }

  /** fs.futimesSync(fd, atime, mtime) for this file. */
  futimesSync(atime: number | string | Date, mtime: number | string | Date): void {
    const change = { atimeMs: parseTime('futimesSync', 'atime', atime), mtimeMs: parseTime('futimesSync', 'mtime', mtime) };
    this.call('futimesSync', () => setAttrs(this.v, this.ino, change));
  }

  /** fs.fchmodSync(fd, mode) for this file. */
  fchmodSync(mode: number): void {
    const perm = parseMode('fchmodSync', mode);
    this.call('fchmodSync', () => setAttrs(this.v, this.ino, { perm }));
  }

  fstatSync(): Stats {
    return this.call('fstatSync', () => new Stats(inodeAttrs(this.v, this.ino)));
  }

  /** The engine's cache and conversion state of this file (not a node:fs call). */
  cacheState(): CacheState {
    return this.call('cacheState', () => fileCacheState(this.v, this.ino));
  }

  get size(): number {
    return getSize(this.v, this.ino);
  }

  closeSync(): void {
    this.call('closeSync', () => releaseInode(this.v, this.ino));
    this.closed = true;
  }
}

/** An engine seen from one thread. */
export class AttachedEngine {
  constructor(readonly volume: Volume) {}

  /** openSync(name, flags?, mode?): node's flag strings ('r', 'r+', 'w', 'a+', ...), O_* numbers, or `{ create, exclusive, direct }`. */
  openSync(name: string, flags?: string | number | { create?: boolean; exclusive?: boolean; direct?: boolean; flags?: string | number; mode?: number }, perm?: number): SyncFileHandle {
    const o = parseOpenArgs('openSync', flags, perm);
    return this.call('openSync', () => this.openInCall(name, o, flags));
  }

  private openInCall(name: string, o: ReturnType<typeof parseOpenArgs>, flags: unknown): SyncFileHandle {
    if (o.mode.write && (typeof flags === 'string' || typeof flags === 'number')) assertWritable(this.volume, `openSync of ${JSON.stringify(name)} for writing`);
    const ino = openInode(this.volume, name, o.mode.create, o.mode.exclusive, o.perm);
    try {
      if (o.mode.truncate) fileTruncate(this.volume, ino, 0);
    } catch (err) {
      releaseInode(this.volume, ino);
      throw err;
    }
    return new SyncFileHandle(this.volume, ino, name, o.mode);
  }

  /** Names and sizes of the files. */
  listSync(): Array<{ name: string; size: number }> {
    return this.call('listSync', () => regularFiles(this.volume).map((ino) => ({ name: inodePath(this.volume, ino), size: getSize(this.volume, ino) })));
  }

  /** Run one namespace call on this thread: refused once the engine is closing, counted for close. */
  private call<T>(where: string, run: () => T): T {
    return viewCall(this.volume, where, run);
  }

  /** fs.unlinkSync: remove the name; an open file lives on until its last close. */
  unlinkSync(path: string): void {
    this.call('unlinkSync', () => unlinkPath(this.volume, path));
  }

  /** fs.renameSync: atomic, also across a crash; an existing `newPath` is replaced. */
  renameSync(oldPath: string, newPath: string): void {
    this.call('renameSync', () => renamePath(this.volume, oldPath, newPath));
  }

  /** fs.readdirSync: names in a directory (default the root); `withFileTypes` gives Dirents. */
  readdirSync(path?: string, options?: { withFileTypes?: false } | BufferEncoding | null): string[];
  readdirSync(path: string | undefined, options: { withFileTypes: true }): Dirent[];
  readdirSync(path = '/', options?: { withFileTypes?: boolean } | BufferEncoding | null): string[] | Dirent[] {
    const typed = readdirWantsTypes('readdirSync', options);
    const entries = this.call('readdirSync', () => readdirTyped(this.volume, path));
    return typed ? entries.map(([name, mode]) => new Dirent(name, path, mode)) : entries.map(([name]) => name);
  }

  /** fs.statSync: node's Stats of a file or directory by path. */
  statSync(path: string): Stats {
    return new Stats(this.call('statSync', () => statPath(this.volume, path)));
  }

  /** fs.accessSync: throws ENOENT when nothing has that name (EROFS for W_OK on a read-only engine). */
  accessSync(path: string, mode?: number): void {
    this.call('accessSync', () => accessPath(this.volume, path, mode));
  }

  /** fs.existsSync: true when `path` names a file or directory; false, never an error, otherwise. */
  existsSync(path: string): boolean {
    try {
      this.accessSync(path);
      return true;
    } catch (err) {
      if (err instanceof DioreadError && (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'EINVAL' || err.code === 'ENAMETOOLONG')) return false;
      throw err;
    }
  }

  /** fs.mkdirSync(path, { recursive?, mode? }): with recursive, the first directory created (or undefined). */
  mkdirSync(path: string, options?: { recursive?: boolean; mode?: number } | number): string | undefined {
    const o = checkMkdirOptions('mkdirSync', options);
    return this.call('mkdirSync', () => mkdirPath(this.volume, path, o.recursive, o.mode));
  }

  /** fs.utimesSync(path, atime, mtime): seconds since the epoch, numeric strings or Dates. */
  utimesSync(path: string, atime: number | string | Date, mtime: number | string | Date): void {
    const change = { atimeMs: parseTime('utimesSync', 'atime', atime), mtimeMs: parseTime('utimesSync', 'mtime', mtime) };
    this.call('utimesSync', () => setAttrsPath(this.volume, path, 'utimesSync', change));
  }

  /** fs.chmodSync(path, mode): the permission bits (0..0o7777). */
  chmodSync(path: string, mode: number): void {
    const perm = parseMode('chmodSync', mode);
    this.call('chmodSync', () => setAttrsPath(this.volume, path, 'chmodSync', { perm }));
  }

  /** fs.rmdirSync(path): an empty directory (ENOTEMPTY otherwise). */
  rmdirSync(path: string): void {
    this.call('rmdirSync', () => rmdirPath(this.volume, path));
  }

  /** fs.statfsSync's numbers: block size, total, free and available blocks, inodes and free inodes. */
  statfsSync(): StatFs {
    return this.call('statfsSync', () => statFs(this.volume));
  }

  /** lock_stat rows summed over every thread, as the engine's lockStats() gives them. */
  lockStats(): LockStatRow[] {
    return collectLockStats(this.volume.st, this.volume.layout.maxThreads);
  }

  /** Clear the lock statistics of every thread. */
  resetLockStats(): void {
    this.volume.st.fill(0);
  }

  /** The thread slot this view holds (the owner id lock words record). */
  get slot(): number {
    return this.volume.slot;
  }

  detach(): void {
    this.volume.detach();
  }
}

/**
 * Map an engine shared with `engine.share()` into this thread: a worker thread. A view's calls are
 * synchronous and may have to wait for a lock (Atomics.wait), which must never block the main
 * thread's event loop; there, attach() fails at once (EINVAL) and the Engine's async API is the way.
 */
export function attach(desc: SharedDescriptor): AttachedEngine {
  if (isMainThread) {
    throw new DioreadError('EINVAL', 'attach() on the main thread: an attached view is synchronous and may wait on a lock, which would block the event loop; use the Engine\'s async calls here (the same operations, as promises), or attach() in a worker thread');
  }
  return new AttachedEngine(new Volume(desc, SLOT_ROLE_USER));
}

/**
 * attach() without the main-thread rule, for the project's own tools (benchmark set-up, micro
 * benchmarks, argument checks) that use a view on the main thread where no lock is contended. Not
 * exported from the package: on the main thread a contended lock fails the call (EIO) instead of
 * waiting.
 */
export function attachUnchecked(desc: SharedDescriptor): AttachedEngine {
  return new AttachedEngine(new Volume(desc, SLOT_ROLE_USER));
}
