// Mount: from an image (file or memory) to the shared buffers every thread maps — lock the image,
// format it when asked, read and check the superblock and tables, lay out shared memory.
// ext4 counterpart: ext4_fill_super (fs/ext4/super.c) with the block device's exclusive open, and
// mke2fs for `create`.
//
// Runs on the main thread before any other thread attaches, so it writes shared memory without
// locks. The image lock taken here is held by the Engine until close.

import fs from 'node:fs';
import { FileDevice, MemoryDevice, probeDirectAlignment, type BlockDevice } from './device.js';
import { withSeam } from './device-seam.js';
import { DioreadError } from './errors.js';
import type { EngineConfig, MkfsConfig } from './engine-options.js';
import { LEVEL_CODE } from './engine-options.js';
import { ImageLock, isWritable, lockImage } from './image-lock.js';
import { SB_STATE_MOUNTED, dirtyNodeLimit } from './ondisk.js';
import {
  BLOCK_SIZE,
  H_DIRTY_NODE_LIMIT,
  H_READ_ONLY,
  NODE_BYTES,
  HF_DEVICE_DIRECT,
  HF_MEMORY_DEVICE,
  HF_NOLOCK,
  HF_SHARED_READS,
  HF_UNSAFE_EARLY_WRITTEN,
  HF_UNSAFE_UNPIN_AT_WRITEBACK,
  HF_UNSAFE_NO_JOURNAL,
  HF_UNSAFE_EARLY_REUSE,
  HF_UNSAFE_RESET_SUPER_UNFLUSHED,
  HF_UNSAFE_NO_RENAME_COUPLING,
  HF_FAULT_NO_TREE_NODES,
  HF_TEST_SPLIT_COMMITS,
  HF_UNSAFE_NO_NODE_HOLD,
  RO_OPTION,
  computeLayout,
  type SharedDescriptor,
} from './shm/layout.js';
import { diskGeometry, initShared, loadImage, mkfs, readSuperBlock, writeSuperState, type MountReport } from './super.js';

/** Create the image file if it is missing and make it `sizeBytes` long (sparse: data untouched). */
function ensureImageFile(where: string, path: string, sizeBytes: number): void {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  } catch (err) {
    throw new DioreadError('EINVAL', `${where}: cannot create image ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (fs.fstatSync(fd).size < sizeBytes) fs.ftruncateSync(fd, sizeBytes);
  } finally {
    fs.closeSync(fd);
  }
}

/** Format the image at `path`; the caller holds its lock exclusive. */
function formatLocked(path: string, m: MkfsConfig): void {
  const dev = new FileDevice(path, m.sizeBytes / BLOCK_SIZE, false);
  try {
    mkfs(dev, m.sizeBytes / BLOCK_SIZE, m.maxFiles, m.journalBlocks);
  } finally {
    dev.close();
  }
}

/** Engine.mkfs: create the file if needed, lock it (EBUSY when an engine has it open), format. */
export function mkfsImage(where: string, path: string, m: MkfsConfig): void {
  ensureImageFile(where, path, m.sizeBytes);
  const lock = lockImage(where, path, 'Engine.mkfs', false);
  try {
    formatLocked(path, m);
  } finally {
    lock.release();
  }
}

/** What mountImage hands the Engine: the descriptor to share, the lock to hold, and facts. */
export interface Mounted {
  desc: SharedDescriptor;
  lock: ImageLock | null;
  readOnly: boolean;
  deviceDirect: boolean;
  report: MountReport;
}

/**
 * Open the image a config names (or a fresh memory device), lock it, format it when `create` finds
 * it missing or empty, load and check the metadata, and build the shared buffers.
 */
export function mountImage(where: string, cfg: EngineConfig): Mounted {
  let memory: SharedArrayBuffer | null = null;
  let lock: ImageLock | null = null;
  let readOnly = cfg.readOnly;
  let dev: BlockDevice;
  if (cfg.path === null) {
    memory = new SharedArrayBuffer(cfg.sizeBytes);
    dev = withSeam(new MemoryDevice(memory), cfg.seam);
    mkfs(dev, cfg.sizeBytes / BLOCK_SIZE, cfg.maxFiles, cfg.journalBlocks);
  } else {
    lock = lockFileImage(where, cfg);
    readOnly = lock.shared;
    try {
      dev = withSeam(new FileDevice(cfg.path, 1, false, readOnly), cfg.seam);
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  try {
    return buildShared(where, cfg, dev, memory, lock, readOnly);
  } catch (err) {
    lock?.release();
    throw err;
  } finally {
    dev.close();
  }
}

/** Lock an image file for an engine: exclusive, or shared when read-only (asked, or not writable). */
function lockFileImage(where: string, cfg: EngineConfig): ImageLock {
  const path = cfg.path!;
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(path);
  } catch {
    st = null;
  }
  if (st !== null && !st.isFile()) throw new DioreadError('EINVAL', `${where}: image ${JSON.stringify(path)} is not a regular file`);
  if (st === null || st.size === 0) {
    if (!cfg.create) throw new DioreadError('ENOENT', `${where}: image ${JSON.stringify(path)} ${st ? 'is empty' : 'does not exist'} (pass create: true to format it)`);
    if (cfg.readOnly) throw new DioreadError('EROFS', `${where}: cannot create image ${JSON.stringify(path)} with readOnly: true`);
    ensureImageFile(where, path, cfg.sizeBytes);
    const lock = lockImage(where, path, 'Engine.open', false);
    try {
      // Another opener may have formatted it between our stat and our lock: format only if still empty.
      if (fs.fstatSync(lock.fd).size <= cfg.sizeBytes && isUnformatted(lock.fd)) formatLocked(path, cfg);
    } catch (err) {
      lock.release();
      throw err;
    }
    return lock;
  }
  const readOnly = cfg.readOnly || !isWritable(path);
  return lockImage(where, path, 'Engine.open', readOnly);
}

/** True when block 0 holds no superblock magic yet (a file we just created). */
function isUnformatted(fd: number): boolean {
  const b = Buffer.alloc(4);
  return fs.readSync(fd, b, 0, 4, 0) < 4 || b.readUInt32LE(0) === 0;
}

function buildShared(where: string, cfg: EngineConfig, dev: BlockDevice, memory: SharedArrayBuffer | null, lock: ImageLock | null, readOnly: boolean): Mounted {
  const imageBytes = lock !== null ? fs.fstatSync(lock.fd).size : null;
  const name = cfg.path ?? 'memory device';
  const sb = readSuperBlock(dev, name, imageBytes);
  const layout = computeLayout({
    blockCount: sb.blockCount,
    maxFiles: sb.maxFiles,
    cachePages: cfg.cachePages,
    ioEnds: cfg.ioEnds,
    maxThreads: cfg.maxThreads,
    traceCapacity: cfg.traceCapacity,
  });
  const meta = new SharedArrayBuffer(layout.metaWords * 4);
  // The node pool grows with the trees (extent-nodes.ts); it starts empty and reserves address space only.
  const nodes = new SharedArrayBuffer(0, { maxByteLength: layout.nodeSlotsMax * NODE_BYTES });
  const frames = new SharedArrayBuffer(layout.framesBytes);
  const stats = new SharedArrayBuffer(layout.statsDoubles * 8);
  const trace = layout.traceDoubles > 0 ? new SharedArrayBuffer(layout.traceDoubles * 8) : null;
  let frameByteOffset = 0;
  let direct = false;
  if (cfg.path !== null && cfg.deviceDirect !== false) {
    const aligned = probeDirectAlignment(cfg.path, frames);
    if (aligned >= 0) {
      frameByteOffset = aligned;
      direct = true;
    } else if (cfg.deviceDirect === true) {
      throw new DioreadError('EINVAL', `${where}: deviceDirect: true but ${JSON.stringify(cfg.path)} cannot be read with O_DIRECT here`);
    }
  }
  const flags =
    (cfg.readLocking === 'none' ? HF_NOLOCK : 0) |
    (cfg.readLocking === 'shared' ? HF_SHARED_READS : 0) |
    (direct ? HF_DEVICE_DIRECT : 0) |
    (memory ? HF_MEMORY_DEVICE : 0) |
    (cfg.unsafeEarlyWritten ? HF_UNSAFE_EARLY_WRITTEN : 0) |
    (cfg.unsafeUnpinAtWriteback ? HF_UNSAFE_UNPIN_AT_WRITEBACK : 0) |
    (cfg.unsafeNoJournal ? HF_UNSAFE_NO_JOURNAL : 0) |
    (cfg.unsafeEarlyReuse ? HF_UNSAFE_EARLY_REUSE : 0) |
    (cfg.unsafeResetSuperUnflushed ? HF_UNSAFE_RESET_SUPER_UNFLUSHED : 0) |
    (cfg.unsafeNoRenameCoupling ? HF_UNSAFE_NO_RENAME_COUPLING : 0) |
    (cfg.faultNoTreeNodes ? HF_FAULT_NO_TREE_NODES : 0) |
    (cfg.splitCommits ? HF_TEST_SPLIT_COMMITS : 0) |
    (cfg.unsafeNoNodeHold ? HF_UNSAFE_NO_NODE_HOLD : 0);
  const i32 = new Int32Array(meta);
  initShared(i32, layout, flags, frameByteOffset, sb.firstDataBlock, LEVEL_CODE[cfg.statsLevel]);
  i32[H_DIRTY_NODE_LIMIT] = dirtyNodeLimit(sb.maxFiles, sb.blockCount, sb.journalBlocks);
  if (readOnly) i32[H_READ_ONLY] = RO_OPTION;
  const report = loadImage(i32, nodes, layout, dev, sb, readOnly, name);
  if (!readOnly) {
    sb.mountCount++;
    writeSuperState(dev, sb, SB_STATE_MOUNTED);
  }
  const desc: SharedDescriptor = { kind: 'dioread-shared-descriptor', version: 3, meta, nodes, frames, stats, trace, memoryDevice: memory, path: cfg.path, layout, disk: diskGeometry(sb), seam: cfg.seam };
  return { desc, lock, readOnly, deviceDirect: direct, report };
}
