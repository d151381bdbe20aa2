// attach(): the synchronous, worker-side face of an engine, like node:fs's *Sync calls.
// ext4 counterpart: the VFS file operations (read_iter, write_iter, fsync) a thread calls directly;
// each call runs on the calling thread, over the shared buffers: nothing per call crosses threads.

import { DioreadError } from './errors.js';
import { fileRead, fileStat, fileSync, fileTruncate, fileWrite, type FileStat } from './inode.js';
import { inodeName, openInode, releaseInode, usedInodes } from './namei.js';
import { SLOT_ROLE_USER, type SharedDescriptor } from './shm/layout.js';
import { checkBool, checkBuffer, checkEnd, checkOptions, checkPosition } from './validate.js';
import { Volume } from './volume.js';
import { collectLockStats, type LockStatRow } from './lockstat.js';
import { getSize } from './inode.js';

export interface OpenOptions {
  create?: boolean;
  exclusive?: boolean;
  direct?: boolean;
}
export const OPEN_OPTIONS = ['create', 'exclusive', 'direct'] as const;

export function parseOpenOptions(where: string, opts: unknown): Required<OpenOptions> {
  const o = checkOptions(where, opts, OPEN_OPTIONS);
  return {
    create: checkBool(where, 'create', o.create, false),
    exclusive: checkBool(where, 'exclusive', o.exclusive, false),
    direct: checkBool(where, 'direct', o.direct, false),
  };
}

/** A file opened through attach(): every call is synchronous and runs on this thread. */
export class SyncFileHandle {
  private closed = false;
  constructor(
    private readonly v: Volume,
    readonly ino: number,
    readonly name: string,
    readonly direct: boolean,
  ) {}

  private live(where: string): void {
    if (this.closed) throw new DioreadError('EBADF', `${where}: file ${JSON.stringify(this.name)} is closed`);
    if (this.v.isDetached) throw new DioreadError('EBADF', `${where}: the view of file ${JSON.stringify(this.name)} was detached`);
  }

  /** Read into `buf` from `position`; returns bytes read (short only at end of file). */
  readSync(buf: Uint8Array, position: number): number {
    this.live('readSync');
    checkBuffer('readSync', buf);
    checkPosition('readSync', position);
    return fileRead(this.v, this.ino, buf, 0, buf.byteLength, position, this.direct);
  }

  /** Write all of `buf` at `position`; returns bytes written (short only when the device fills). */
  writeSync(buf: Uint8Array, position: number): number {
    this.live('writeSync');
    checkBuffer('writeSync', buf);
    checkPosition('writeSync', position);
    checkEnd('writeSync', position, buf.byteLength);
    return fileWrite(this.v, this.ino, buf, 0, buf.byteLength, position, this.direct);
  }

  fsyncSync(): void {
    this.live('fsyncSync');
    fileSync(this.v, this.ino);
  }

  truncateSync(len = 0): void {
    this.live('truncateSync');
    checkPosition('truncateSync', len);
    fileTruncate(this.v, this.ino, len);
  }

  statSync(): FileStat {
    this.live('statSync');
    return fileStat(this.v, this.ino);
  }

  get size(): number {
    return getSize(this.v, this.ino);
  }

  closeSync(): void {
    this.live('closeSync');
    this.closed = true;
    releaseInode(this.v, this.ino);
  }
}

/** An engine seen from one thread. */
export class AttachedEngine {
  constructor(readonly volume: Volume) {}

  openSync(name: string, opts?: OpenOptions): SyncFileHandle {
    if (this.volume.isDetached) throw new DioreadError('EBADF', 'openSync: this view was detached');
    const o = parseOpenOptions('openSync', opts);
    const ino = openInode(this.volume, name, o.create, o.exclusive);
    return new SyncFileHandle(this.volume, ino, name, o.direct);
  }

  /** Names and sizes of the files. */
  listSync(): Array<{ name: string; size: number }> {
    return usedInodes(this.volume).map((ino) => ({ name: inodeName(this.volume, ino), size: getSize(this.volume, ino) }));
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

/** Map an engine shared with `engine.share()` into this thread. */
export function attach(desc: SharedDescriptor): AttachedEngine {
  return new AttachedEngine(new Volume(desc, SLOT_ROLE_USER));
}
