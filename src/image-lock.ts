// One engine per image: an open-file-description lock on the image file, which the kernel drops
// when the descriptor closes or the process dies (kill -9 included), plus an in-process registry
// for a clearer message.
// ext4 counterpart: the block device's exclusive open (blkdev_get_by_dev with FMODE_EXCL and a
// holder) that makes a second mount of a mounted device fail with EBUSY.
//
// Writable engines and mkfs take the lock exclusive; read-only engines and `fsck -n` take it
// shared, so any number of readers may look at an image nobody writes. The lock is
// fs-native-extensions' tryLock: F_OFD_SETLK on Linux (per open file description, so a second
// open in the same process conflicts too), flock elsewhere.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { DioreadError } from './errors.js';

interface FsNativeExtensions {
  tryLock(fd: number, opts?: { shared?: boolean }): boolean;
  unlock(fd: number): void;
}
const fsx = createRequire(import.meta.url)('fs-native-extensions') as FsNativeExtensions;

/** Locks this process holds, by device and inode of the image: what holds it, for messages. */
const held = new Map<string, string>();

export class ImageLock {
  private released = false;
  constructor(
    readonly path: string,
    readonly fd: number,
    private readonly key: string,
    readonly shared: boolean,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.key);
    fs.closeSync(this.fd); // closing the descriptor drops the OFD lock
  }
}

/**
 * Lock the image at `path` for `holder` (used in messages): exclusive unless `shared`. The file
 * must exist. A lock held elsewhere gives EBUSY; an image this process may not write, asked for
 * exclusive, gives EROFS.
 */
export function lockImage(where: string, path: string, holder: string, shared: boolean): ImageLock {
  let fd: number;
  try {
    fd = fs.openSync(path, shared ? 'r' : 'r+');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DioreadError('ENOENT', `${where}: no image at ${JSON.stringify(path)}`, { cause: err });
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') {
      throw new DioreadError('EROFS', `${where}: image ${JSON.stringify(path)} is not writable (${code}); open it with readOnly: true`, { cause: err });
    }
    throw new DioreadError('EIO', `${where}: cannot open image ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  const st = fs.fstatSync(fd);
  const key = `${st.dev}:${st.ino}`;
  let ok: boolean;
  try {
    ok = fsx.tryLock(fd, { shared });
  } catch (err) {
    fs.closeSync(fd);
    throw new DioreadError('EIO', `${where}: cannot lock image ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  if (!ok) {
    fs.closeSync(fd);
    const here = held.get(key);
    const who = here !== undefined ? `by ${here} in this process` : 'by another process';
    throw new DioreadError('EBUSY', `${where}: image ${JSON.stringify(path)} is in use ${who} (one engine per image)`);
  }
  if (!shared) held.set(key, holder);
  return new ImageLock(path, fd, key, shared);
}

/** True when `path` can be opened for writing by this process. */
export function isWritable(path: string): boolean {
  try {
    fs.accessSync(path, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
