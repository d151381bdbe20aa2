// Mount-time setup and metadata I/O: mkfs, laying out the shared buffers, loading the tables from
// the image, and writing them back (sync, close).
// ext4 counterpart: fs/ext4/super.c (ext4_fill_super, ext4_commit_super, ext4_put_super) and
// mke2fs for the format; the write-back of inode and extent blocks that jbd2 would journal.
//
// Thread safety: setupShared runs on the main thread before any other thread attaches. Metadata
// writes (persistInode, persistAll) serialize on meta_lock; each copies the words it writes while
// holding the lock that guards them (the caller's inode mutex for the inode and its extents,
// alloc_lock for the bitmap), so the image gets a consistent snapshot of each table.

import { countFree, markUsedAtSetup } from './alloc.js';
import type { BlockDevice } from './device.js';
import { DioreadError } from './errors.js';
import {
  BLOCK_SIZE,
  EXTENT_WORDS,
  H_ALLOC_LOCK,
  H_BLOCK_COUNT,
  H_CACHE_PAGES,
  H_EXTENTS_PER_FILE,
  H_FIRST_DATA_BLOCK,
  H_FLAGS,
  H_FRAME_BASE,
  H_FREE_BLOCKS,
  H_HASH_MASK,
  H_IO_ENDS,
  H_MAGIC,
  H_MAX_FILES,
  H_MAX_THREADS,
  H_META_LOCK,
  H_STATS_LEVEL,
  H_VERSION,
  I_BLOCKS,
  I_COMPLETED_HEAD,
  I_COMPLETED_TAIL,
  I_EXTENT_COUNT,
  I_GENERATION,
  I_NAME,
  I_NAME_LEN,
  I_SIZE_HI,
  I_SIZE_LO,
  I_STATE,
  LC_ALLOC,
  LC_META,
  P_HASH_NEXT,
  P_INDEX,
  P_INO,
  P_PBLK,
  SHM_MAGIC,
  SHM_VERSION,
  type Layout,
  extentWord,
  inodeWord,
  pageWord,
} from './shm/layout.js';
import { initIoEndPool } from './page-io.js';
import {
  INODE_DISK_BYTES,
  SB_STATE_CLEAN,
  SB_STATE_MOUNTED,
  crc32,
  decodeInode,
  decodeSuperBlock,
  encodeInode,
  encodeSuperBlock,
  planSuperBlock,
  type SuperBlock,
} from './ondisk.js';
import { lock, spinLock, unlock } from './sync/lock.js';
import type { Volume } from './volume.js';

/** mkfs: superblock, empty tables, bitmap with the metadata blocks set. Data blocks are left alone. */
export function mkfs(dev: BlockDevice, blockCount: number, maxFiles: number, extentsPerFile: number): SuperBlock {
  const sb = planSuperBlock(blockCount, maxFiles, extentsPerFile);
  if (sb.firstDataBlock + 1 > blockCount) {
    throw new DioreadError(
      'EINVAL',
      `sizeBytes ${blockCount * BLOCK_SIZE} is too small: the metadata alone needs ${(sb.firstDataBlock + 1) * BLOCK_SIZE} bytes (maxFiles ${maxFiles}, extentsPerFile ${extentsPerFile})`,
    );
  }
  const zero = new Uint8Array(BLOCK_SIZE * 64);
  const zeroBlocks = (start: number, count: number) => {
    for (let b = start; b < start + count; b += 64) {
      const n = Math.min(64, start + count - b);
      dev.writeMeta(b * BLOCK_SIZE, zero.subarray(0, n * BLOCK_SIZE));
    }
  };
  zeroBlocks(sb.inodeTable, sb.inodeBlocks);
  zeroBlocks(sb.extentTable, sb.extentBlocks);
  zeroBlocks(sb.journal, sb.journalBlocks);
  const bitmap = new Int32Array(sb.bitmapBlocks * (BLOCK_SIZE / 4));
  markUsedAtSetup(bitmap, 0, 0, sb.firstDataBlock);
  dev.writeMeta(sb.bitmap * BLOCK_SIZE, new Uint8Array(bitmap.buffer));
  dev.writeMeta(0, encodeSuperBlock(sb));
  dev.flush();
  return sb;
}

export function readSuperBlock(dev: BlockDevice, where: string): SuperBlock {
  const buf = new Uint8Array(BLOCK_SIZE);
  dev.readMeta(0, buf);
  return decodeSuperBlock(buf, where);
}

export function writeSuperState(dev: BlockDevice, sb: SuperBlock, state: number): void {
  sb.state = state;
  dev.writeMeta(0, encodeSuperBlock(sb));
  dev.flush();
}

/** Fill the header and the fixed structures of a fresh meta buffer (main thread, before sharing). */
export function initShared(i32: Int32Array, l: Layout, flags: number, frameBase: number, firstDataBlock: number, statsLevel: number): void {
  i32[H_MAGIC] = SHM_MAGIC;
  i32[H_VERSION] = SHM_VERSION;
  i32[H_FLAGS] = flags;
  i32[H_BLOCK_COUNT] = l.blockCount;
  i32[H_MAX_FILES] = l.maxFiles;
  i32[H_EXTENTS_PER_FILE] = l.extentsPerFile;
  i32[H_CACHE_PAGES] = l.cachePages;
  i32[H_IO_ENDS] = l.ioEnds;
  i32[H_MAX_THREADS] = l.maxThreads;
  i32[H_FRAME_BASE] = frameBase;
  i32[H_HASH_MASK] = l.hashBuckets - 1;
  i32[H_FIRST_DATA_BLOCK] = firstDataBlock;
  i32[H_STATS_LEVEL] = statsLevel;
  for (let ino = 0; ino < l.maxFiles; ino++) {
    i32[inodeWord(l, ino, I_COMPLETED_HEAD)] = -1;
    i32[inodeWord(l, ino, I_COMPLETED_TAIL)] = -1;
  }
  for (let p = 0; p < l.cachePages; p++) {
    i32[pageWord(l, p, P_INO)] = -1;
    i32[pageWord(l, p, P_INDEX)] = -1;
    i32[pageWord(l, p, P_PBLK)] = -1;
    i32[pageWord(l, p, P_HASH_NEXT)] = -1;
  }
  i32.fill(-1, l.hashBase, l.hashBase + l.hashBuckets);
  initIoEndPool(i32, l);
}

/** ext4_fill_super's table reads: inodes, extents and the bitmap into shared memory, checked. */
export function loadMetadata(i32: Int32Array, l: Layout, dev: BlockDevice, sb: SuperBlock): void {
  const u8 = new Uint8Array(i32.buffer);
  const table = new Uint8Array(sb.inodeBlocks * BLOCK_SIZE);
  dev.readMeta(sb.inodeTable * BLOCK_SIZE, table);
  for (let ino = 0; ino < l.maxFiles; ino++) {
    const di = decodeInode(table.subarray(ino * INODE_DISK_BYTES, (ino + 1) * INODE_DISK_BYTES), ino);
    if (!di.used) continue;
    if (di.extentCount > l.extentsPerFile) {
      throw new DioreadError('EFSCORRUPTED', `inode ${ino} (${JSON.stringify(di.name)}): ${di.extentCount} extents, more than ${l.extentsPerFile}`);
    }
    const extBytes = di.extentCount * EXTENT_WORDS * 4;
    const at = extentWord(l, ino, 0) * 4;
    dev.readMeta(sb.extentTable * BLOCK_SIZE + ino * l.extentsPerFile * EXTENT_WORDS * 4, u8.subarray(at, at + extBytes));
    const crc = crc32(u8.slice(at, at + extBytes));
    if (crc !== di.extentCrc) {
      throw new DioreadError('EFSCORRUPTED', `inode ${ino} (${JSON.stringify(di.name)}): extent checksum 0x${crc.toString(16)} does not match 0x${di.extentCrc.toString(16)}`);
    }
    i32[inodeWord(l, ino, I_STATE)] = 1;
    i32[inodeWord(l, ino, I_GENERATION)] = di.generation;
    i32[inodeWord(l, ino, I_SIZE_LO)] = di.size % 2 ** 32;
    i32[inodeWord(l, ino, I_SIZE_HI)] = Math.floor(di.size / 2 ** 32);
    i32[inodeWord(l, ino, I_EXTENT_COUNT)] = di.extentCount;
    i32[inodeWord(l, ino, I_BLOCKS)] = di.blocks;
    i32[inodeWord(l, ino, I_NAME_LEN)] = di.nameBytes.length;
    u8.set(di.nameBytes, inodeWord(l, ino, I_NAME) * 4);
  }
  const bitmapBytes = l.bitmapWords * 4;
  dev.readMeta(sb.bitmap * BLOCK_SIZE, u8.subarray(l.bitmapBase * 4, l.bitmapBase * 4 + bitmapBytes));
  i32[H_FREE_BLOCKS] = countFree(i32, l.bitmapBase, sb.firstDataBlock, l.blockCount);
}

function superOf(v: Volume): SuperBlock {
  return planSuperBlock(v.layout.blockCount, v.layout.maxFiles, v.layout.extentsPerFile);
}

/** Write one inode's record and extents, then the bitmap. Caller holds the inode's mutex. */
export function persistInode(v: Volume, ino: number): void {
  const sb = superOf(v);
  const tok = lock(v, H_META_LOCK, LC_META);
  try {
    writeInodeRecord(v, sb, ino);
    writeBitmap(v, sb);
  } finally {
    unlock(v, H_META_LOCK, LC_META, tok);
  }
}

function writeInodeRecord(v: Volume, sb: SuperBlock, ino: number): void {
  const l = v.layout;
  const i32 = v.i32;
  const u8 = new Uint8Array(i32.buffer);
  const count = i32[inodeWord(l, ino, I_EXTENT_COUNT)];
  const at = extentWord(l, ino, 0) * 4;
  const extents = u8.slice(at, at + count * EXTENT_WORDS * 4);
  const nameLen = i32[inodeWord(l, ino, I_NAME_LEN)];
  const nameAt = inodeWord(l, ino, I_NAME) * 4;
  const record = encodeInode(
    {
      used: i32[inodeWord(l, ino, I_STATE)] === 1,
      generation: i32[inodeWord(l, ino, I_GENERATION)],
      size: i32[inodeWord(l, ino, I_SIZE_HI)] * 2 ** 32 + (i32[inodeWord(l, ino, I_SIZE_LO)] >>> 0),
      extentCount: count,
      blocks: i32[inodeWord(l, ino, I_BLOCKS)],
      name: '',
      extentCrc: crc32(extents),
    },
    u8.slice(nameAt, nameAt + nameLen),
  );
  if (extents.byteLength > 0) v.dev.writeMeta(sb.extentTable * BLOCK_SIZE + ino * l.extentsPerFile * EXTENT_WORDS * 4, extents);
  v.dev.writeMeta(sb.inodeTable * BLOCK_SIZE + ino * INODE_DISK_BYTES, record);
}

function writeBitmap(v: Volume, sb: SuperBlock): void {
  const l = v.layout;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  let copy: Uint8Array;
  try {
    copy = new Uint8Array(v.i32.buffer).slice(l.bitmapBase * 4, (l.bitmapBase + l.bitmapWords) * 4);
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
  v.dev.writeMeta(sb.bitmap * BLOCK_SIZE, copy);
}

/** Every in-use inode (caller holds all their mutexes, or nobody else runs), the bitmap, the state. */
export function persistAll(v: Volume, inodes: number[], clean: boolean): void {
  const sb = superOf(v);
  const tok = lock(v, H_META_LOCK, LC_META);
  try {
    for (const ino of inodes) writeInodeRecord(v, sb, ino);
    writeBitmap(v, sb);
    v.dev.flush();
    const onDisk = readSuperBlock(v.dev, 'image');
    writeSuperState(v.dev, onDisk, clean ? SB_STATE_CLEAN : SB_STATE_MOUNTED);
  } finally {
    unlock(v, H_META_LOCK, LC_META, tok);
  }
}

export { SB_STATE_MOUNTED, SB_STATE_CLEAN };
