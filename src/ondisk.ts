// The image format: superblock, inode table, extent table, block bitmap, (reserved) journal, data.
// ext4 counterpart: struct ext4_super_block, struct ext4_inode and the extent blocks (fs/ext4/ext4.h).
//
// Prose (docs/FORMAT.md says the same):
//   block 0                 superblock: SB_* u32 words, little endian, crc32 over words 0..SB_CRC-1
//   inodeTableBlock..       maxFiles records of INODE_DISK_BYTES: DI_* u32 words + name, crc32 last
//   extentTableBlock..      maxFiles x extentsPerFile records of 4 u32: lblk, len, pblk, flags
//                           (exactly the extent table in shared memory); each inode stores the
//                           crc32 of its used extents
//   bitmapBlock..           one bit per block, u32 words little endian; metadata blocks are set
//   journalBlock..          reserved for the metadata journal (JOURNAL_BLOCKS), zeroed by mkfs
//   firstDataBlock..        data blocks: mkfs never touches them
// Every table starts on a block boundary.

import zlib from 'node:zlib';
import { DioreadError } from './errors.js';
import { BLOCK_SIZE, EXTENT_WORDS, MAX_NAME_BYTES } from './shm/layout.js';

export const DISK_MAGIC = 0x44494f52; // 'DIOR'
export const DISK_VERSION = 1;
export const JOURNAL_BLOCKS = 256;

export const SB_MAGIC = 0;
export const SB_VERSION = 1;
export const SB_BLOCK_SIZE = 2;
export const SB_BLOCK_COUNT = 3;
export const SB_MAX_FILES = 4;
export const SB_EXTENTS_PER_FILE = 5;
export const SB_INODE_TABLE = 6;
export const SB_INODE_BLOCKS = 7;
export const SB_EXTENT_TABLE = 8;
export const SB_EXTENT_BLOCKS = 9;
export const SB_BITMAP = 10;
export const SB_BITMAP_BLOCKS = 11;
export const SB_JOURNAL = 12;
export const SB_JOURNAL_BLOCKS = 13;
export const SB_FIRST_DATA = 14;
export const SB_MOUNT_COUNT = 15;
export const SB_STATE = 16; // SB_STATE_CLEAN after a clean close, SB_STATE_MOUNTED while open
export const SB_CRC = 31;
export const SB_WORDS = 32;
export const SB_STATE_CLEAN = 1;
export const SB_STATE_MOUNTED = 2;

export const DI_USED = 0;
export const DI_GENERATION = 1;
export const DI_SIZE_LO = 2;
export const DI_SIZE_HI = 3;
export const DI_EXTENT_COUNT = 4;
export const DI_BLOCKS = 5;
export const DI_NAME_LEN = 6;
export const DI_EXTENT_CRC = 7;
export const DI_NAME = 8; // MAX_NAME_BYTES bytes
export const DI_CRC = 31; // crc32 of words 0..30
export const INODE_DISK_BYTES = 128;

export interface SuperBlock {
  blockCount: number;
  maxFiles: number;
  extentsPerFile: number;
  inodeTable: number;
  inodeBlocks: number;
  extentTable: number;
  extentBlocks: number;
  bitmap: number;
  bitmapBlocks: number;
  journal: number;
  journalBlocks: number;
  firstDataBlock: number;
  mountCount: number;
  state: number;
}

export const DEFAULT_MAX_FILES = 64;
export const DEFAULT_EXTENTS_PER_FILE = 4096;

export function crc32(bytes: Uint8Array): number {
  return zlib.crc32(bytes) >>> 0;
}

const blocksFor = (bytes: number) => Math.ceil(bytes / BLOCK_SIZE);

/** Plan the metadata areas for a device of `blockCount` blocks. */
export function planSuperBlock(blockCount: number, maxFiles: number, extentsPerFile: number): SuperBlock {
  const inodeTable = 1;
  const inodeBlocks = blocksFor(maxFiles * INODE_DISK_BYTES);
  const extentTable = inodeTable + inodeBlocks;
  const extentBlocks = blocksFor(maxFiles * extentsPerFile * EXTENT_WORDS * 4);
  const bitmap = extentTable + extentBlocks;
  const bitmapBlocks = blocksFor(Math.ceil(blockCount / 32) * 4);
  const journal = bitmap + bitmapBlocks;
  const firstDataBlock = journal + JOURNAL_BLOCKS;
  return {
    blockCount,
    maxFiles,
    extentsPerFile,
    inodeTable,
    inodeBlocks,
    extentTable,
    extentBlocks,
    bitmap,
    bitmapBlocks,
    journal,
    journalBlocks: JOURNAL_BLOCKS,
    firstDataBlock,
    mountCount: 0,
    state: SB_STATE_CLEAN,
  };
}

export function encodeSuperBlock(sb: SuperBlock): Uint8Array {
  const buf = new Uint8Array(BLOCK_SIZE);
  const dv = new DataView(buf.buffer);
  const w = (i: number, v: number) => dv.setUint32(i * 4, v >>> 0, true);
  w(SB_MAGIC, DISK_MAGIC);
  w(SB_VERSION, DISK_VERSION);
  w(SB_BLOCK_SIZE, BLOCK_SIZE);
  w(SB_BLOCK_COUNT, sb.blockCount);
  w(SB_MAX_FILES, sb.maxFiles);
  w(SB_EXTENTS_PER_FILE, sb.extentsPerFile);
  w(SB_INODE_TABLE, sb.inodeTable);
  w(SB_INODE_BLOCKS, sb.inodeBlocks);
  w(SB_EXTENT_TABLE, sb.extentTable);
  w(SB_EXTENT_BLOCKS, sb.extentBlocks);
  w(SB_BITMAP, sb.bitmap);
  w(SB_BITMAP_BLOCKS, sb.bitmapBlocks);
  w(SB_JOURNAL, sb.journal);
  w(SB_JOURNAL_BLOCKS, sb.journalBlocks);
  w(SB_FIRST_DATA, sb.firstDataBlock);
  w(SB_MOUNT_COUNT, sb.mountCount);
  w(SB_STATE, sb.state);
  w(SB_CRC, crc32(buf.subarray(0, SB_CRC * 4)));
  return buf;
}

export function decodeSuperBlock(buf: Uint8Array, where: string): SuperBlock {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const r = (i: number) => dv.getUint32(i * 4, true);
  if (r(SB_MAGIC) !== DISK_MAGIC) {
    throw new DioreadError('EFSCORRUPTED', `${where}: no dioread superblock (magic 0x${r(SB_MAGIC).toString(16)}, want 0x${DISK_MAGIC.toString(16)})`);
  }
  const crc = crc32(buf.subarray(0, SB_CRC * 4));
  if (crc !== r(SB_CRC)) {
    throw new DioreadError('EFSCORRUPTED', `${where}: superblock checksum 0x${r(SB_CRC).toString(16)} does not match its contents (0x${crc.toString(16)})`);
  }
  if (r(SB_VERSION) !== DISK_VERSION) throw new DioreadError('EFSCORRUPTED', `${where}: superblock version ${r(SB_VERSION)}, this dioread reads ${DISK_VERSION}`);
  if (r(SB_BLOCK_SIZE) !== BLOCK_SIZE) throw new DioreadError('EFSCORRUPTED', `${where}: block size ${r(SB_BLOCK_SIZE)}, want ${BLOCK_SIZE}`);
  const sb: SuperBlock = {
    blockCount: r(SB_BLOCK_COUNT),
    maxFiles: r(SB_MAX_FILES),
    extentsPerFile: r(SB_EXTENTS_PER_FILE),
    inodeTable: r(SB_INODE_TABLE),
    inodeBlocks: r(SB_INODE_BLOCKS),
    extentTable: r(SB_EXTENT_TABLE),
    extentBlocks: r(SB_EXTENT_BLOCKS),
    bitmap: r(SB_BITMAP),
    bitmapBlocks: r(SB_BITMAP_BLOCKS),
    journal: r(SB_JOURNAL),
    journalBlocks: r(SB_JOURNAL_BLOCKS),
    firstDataBlock: r(SB_FIRST_DATA),
    mountCount: r(SB_MOUNT_COUNT),
    state: r(SB_STATE),
  };
  const plan = planSuperBlock(sb.blockCount, sb.maxFiles, sb.extentsPerFile);
  for (const k of ['inodeTable', 'extentTable', 'bitmap', 'journal', 'firstDataBlock'] as const) {
    if (plan[k] !== sb[k]) throw new DioreadError('EFSCORRUPTED', `${where}: superblock field ${k} is ${sb[k]}, the geometry implies ${plan[k]}`);
  }
  if (sb.firstDataBlock >= sb.blockCount) throw new DioreadError('EFSCORRUPTED', `${where}: no data blocks (first data block ${sb.firstDataBlock}, ${sb.blockCount} blocks)`);
  return sb;
}

export interface DiskInode {
  used: boolean;
  generation: number;
  size: number;
  extentCount: number;
  blocks: number;
  name: string;
  extentCrc: number;
}

export function encodeInode(ino: DiskInode, nameBytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(INODE_DISK_BYTES);
  const dv = new DataView(buf.buffer);
  const w = (i: number, v: number) => dv.setUint32(i * 4, v >>> 0, true);
  w(DI_USED, ino.used ? 1 : 0);
  w(DI_GENERATION, ino.generation);
  w(DI_SIZE_LO, ino.size % 2 ** 32);
  w(DI_SIZE_HI, Math.floor(ino.size / 2 ** 32));
  w(DI_EXTENT_COUNT, ino.extentCount);
  w(DI_BLOCKS, ino.blocks);
  w(DI_NAME_LEN, nameBytes.length);
  w(DI_EXTENT_CRC, ino.extentCrc);
  buf.set(nameBytes.subarray(0, MAX_NAME_BYTES), DI_NAME * 4);
  w(DI_CRC, crc32(buf.subarray(0, DI_CRC * 4)));
  return buf;
}

export function decodeInode(buf: Uint8Array, index: number): DiskInode & { nameBytes: Uint8Array } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const r = (i: number) => dv.getUint32(i * 4, true);
  const crc = crc32(buf.subarray(0, DI_CRC * 4));
  const allZero = buf.every((b) => b === 0);
  if (!allZero && crc !== r(DI_CRC)) {
    throw new DioreadError('EFSCORRUPTED', `inode ${index}: checksum 0x${r(DI_CRC).toString(16)} does not match its contents (0x${crc.toString(16)})`);
  }
  const nameLen = r(DI_NAME_LEN);
  if (nameLen > MAX_NAME_BYTES) throw new DioreadError('EFSCORRUPTED', `inode ${index}: name length ${nameLen} over ${MAX_NAME_BYTES}`);
  const nameBytes = buf.slice(DI_NAME * 4, DI_NAME * 4 + nameLen);
  return {
    used: r(DI_USED) === 1,
    generation: r(DI_GENERATION),
    size: r(DI_SIZE_HI) * 2 ** 32 + r(DI_SIZE_LO),
    extentCount: r(DI_EXTENT_COUNT),
    blocks: r(DI_BLOCKS),
    name: new TextDecoder().decode(nameBytes),
    nameBytes,
    extentCrc: r(DI_EXTENT_CRC),
  };
}
