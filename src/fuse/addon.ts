// The FUSE addon (native/fuse/dioread_fuse.c, libfuse3's low-level API), loaded when it was built.
// libfuse counterpart: fuse_lowlevel.h's session calls (fuse_session_new/mount/receive/process).
// The addon is optional: without libfuse3 the package installs and `dioread mount` says what to do.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What native/fuse/dioread_fuse.c exports (see its header for the calling convention). */
export interface FuseAddon {
  /** Mount a new session on `mountpoint` with `-o options`: its id. */
  mount(mountpoint: string, options: string): number;
  /** An ArrayBuffer over page-aligned native memory. */
  allocIo(bytes: number): ArrayBuffer;
  /** Answer requests on this thread until unmounted: 0, or the -errno that stopped the loop. */
  serve(id: number, handlers: FuseHandlers, io: ArrayBuffer, out: Float64Array): number;
  /** Lazy unmount as root (umount2 MNT_DETACH): 0 or an errno (EPERM when not root). */
  detach(id: number): number;
  /** Close the descriptor and free the session, once every serve() has returned. */
  destroy(id: number): void;
  libfuseVersion(): string;
}

/** The handlers serve() calls, one per low-level operation; each returns a number (< 0: -errno). */
export interface FuseHandlers {
  lookup(parent: number, name: string): number;
  getattr(ino: number, fh: number): number;
  setattr(ino: number, fh: number, toSet: number, size: number, mode: number, atimeMs: number, mtimeMs: number): number;
  open(ino: number, flags: number): number;
  create(parent: number, name: string, mode: number, flags: number): number;
  read(fh: number, size: number, offset: number): number;
  write(fh: number, size: number, offset: number): number;
  release(fh: number): number;
  fsync(fh: number, datasync: number): number;
  opendir(ino: number): number;
  /** Entries from index `offset` on, as [name, ino, isDir (0/1), index, ...], or -errno. */
  readdir(ino: number, offset: number): Array<string | number> | number;
  statfs(): number;
  unlink(parent: number, name: string): number;
  rename(parent: number, name: string, newParent: number, newName: string, flags: number): number;
  mkdir(parent: number, name: string, mode: number): number;
  rmdir(parent: number, name: string): number;
  fallocate(fh: number, mode: number, offset: number, length: number): number;
}

/** Slots of serve()'s `out` array for a stat (the C side's A_* enum). */
export const A_INO = 0, A_GEN = 1, A_MODE = 2, A_NLINK = 3, A_SIZE = 4, A_BLOCKS = 5, A_ATIME = 6, A_MTIME = 7, A_CTIME = 8, A_UID = 9, A_GID = 10, A_BLKSIZE = 11;
/** Slots of `out` for statfs (the C side's F_* enum). */
export const F_BSIZE = 0, F_BLOCKS = 1, F_BFREE = 2, F_BAVAIL = 3, F_FILES = 4, F_FFREE = 5, F_NAMEMAX = 6;
export const OUT_SLOTS = 16;
/** The per-thread data buffer: libfuse's largest request (256 pages) fits with room to spare. */
export const IO_BUFFER_BYTES = 2 << 20;

export const INSTALL_HINT = 'apt-get install -y fuse3 libfuse3-dev && npm run build:fuse';

/** Where the build puts the addon (native/fuse/build.mjs): from dist/src/fuse/ up to the package. */
export const ADDON_PATH = fileURLToPath(new URL('../../../native/fuse/build/Release/dioread_fuse.node', import.meta.url));

/** The addon, or why it cannot be used on this machine (what to install). */
export function loadFuseAddon(): { addon: FuseAddon; problem: null } | { addon: null; problem: string } {
  if (!fs.existsSync('/dev/fuse')) return { addon: null, problem: 'this machine has no /dev/fuse (load the fuse module, or give the container the device)' };
  if (!fs.existsSync(ADDON_PATH)) return { addon: null, problem: `the FUSE addon is not built (${ADDON_PATH} is missing): ${INSTALL_HINT}` };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as FuseAddon, problem: null };
  } catch (err) {
    return { addon: null, problem: `the FUSE addon does not load (${(err as Error).message.split('\n')[0]}): ${INSTALL_HINT}` };
  }
}
