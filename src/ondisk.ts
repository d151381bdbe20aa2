// The image format, as constants and codecs: superblock, inode table, extent-tree nodes, block bitmap,
// journal (superblock, descriptor and commit blocks), data. docs/FORMAT.md says the same in prose;
// each section there names the constants here, and a change to one is a change to both.
// ext4 counterpart: struct ext4_super_block, struct ext4_inode, the extent blocks and the block
// bitmap (fs/ext4/ext4.h), with metadata_csum's per-block crc32c; jbd2's on-disk structures
// (include/linux/jbd2.h: journal_superblock_t, the descriptor and commit blocks).
//
// Every metadata block is self-describing (a header with a magic, its own block number, an owner
// and a crc32c), so a zeroed, misplaced or stale block is caught when it is read. Every field is
// range-checked on decode against the geometry, and the geometry against the image's real size:
// a damaged field gives EFSCORRUPTED, never an allocation sized by the damage.

import { crc32c, crc32cUpdate } from './crc32c.js';
import { DioreadError } from './errors.js';
import { BLOCK_SIZE } from './shm/layout.js';

export const DISK_MAGIC = 0x44494f52; // 'DIOR'
export const DISK_VERSION = 3;

// ------------------------------------------------------------------------------------------------
// Superblock: block 0, u32 little-endian words; everything that matters sits in the first 128 bytes
// (one sector), crc32c over words 0..SB_CRC-1.
// ------------------------------------------------------------------------------------------------
export const SB_MAGIC = 0;
export const SB_VERSION = 1;
export const SB_BLOCK_SIZE = 2;
export const SB_BLOCK_COUNT = 3;
export const SB_MAX_FILES = 4;
export const SB_RESERVED_5 = 5; // 0 (version 2's extentsPerFile: extent trees need no per-file table)
export const SB_INODE_TABLE = 6;
export const SB_INODE_BLOCKS = 7;
export const SB_RESERVED_8 = 8; // 0 (version 2's extent table)
export const SB_RESERVED_9 = 9; // 0
export const SB_BITMAP = 10;
export const SB_BITMAP_BLOCKS = 11;
export const SB_JOURNAL = 12;
export const SB_JOURNAL_BLOCKS = 13;
export const SB_FIRST_DATA = 14;
export const SB_MOUNT_COUNT = 15;
export const SB_STATE = 16; // SB_STATE_CLEAN after a clean close, SB_STATE_MOUNTED while open
export const SB_CRC = 31;
export const SB_STATE_CLEAN = 1;
export const SB_STATE_MOUNTED = 2;

// ------------------------------------------------------------------------------------------------
// Metadata block header: the first MB_HEADER_BYTES of every inode-table, extent and bitmap block.
// MB_CRC is the crc32c of the whole block with the MB_CRC word taken as zero.
// ------------------------------------------------------------------------------------------------
export const MB_MAGIC = 0;
export const MB_BLOCK = 1; // the block's own number: a block written to the wrong place is caught
export const MB_OWNER = 2; // extent-tree nodes: the inode; other blocks: 0
export const MB_CRC = 3;
export const MB_HEADER_BYTES = 16;
export const MAGIC_INODES = 0x44494e4f; // 'DINO'
export const MAGIC_EXTENTS = 0x44455854; // 'DEXT'
export const MAGIC_BITMAP = 0x44424d50; // 'DBMP'

// ------------------------------------------------------------------------------------------------
// Inode table: records of INODE_DISK_BYTES, INODES_PER_BLOCK to a block after the header.
// DI_CRC is the crc32c of words 0..DI_CRC-1. A free inode's record is all zeros.
// ------------------------------------------------------------------------------------------------
export const DI_USED = 0; // DI_STATE_FREE, DI_STATE_USED or DI_STATE_ORPHAN
export const DI_STATE_FREE = 0;
export const DI_STATE_USED = 1;
/** Unlinked while open (no name): mount frees it and its blocks (ext4's orphan list). */
export const DI_STATE_ORPHAN = 2;
export const DI_GENERATION = 1;
export const DI_SIZE_LO = 2;
export const DI_SIZE_HI = 3;
export const DI_EXTENT_COUNT = 4; // extents (leaf entries) in the whole tree
export const DI_BLOCKS = 5; // 4 KiB blocks the extents hold
export const DI_NAME_LEN = 6;
export const DI_MODE = 7; // st_mode: file type and permission bits
export const DI_ATIME_LO = 8; // times in ms since the epoch, low and high words
export const DI_ATIME_HI = 9;
export const DI_MTIME_LO = 10;
export const DI_MTIME_HI = 11;
export const DI_CTIME_LO = 12;
export const DI_CTIME_HI = 13;
export const DI_BTIME_LO = 14;
export const DI_BTIME_HI = 15;
/** Words 16..31: reserved, 0 (version 2's 64-byte name). */
export const DI_RESERVED = 16;
/** The directory holding the name: its inode number + 1, 0 for the root (so images from before directories read as all in the root). */
export const DI_PARENT = 32;
/**
 * The root of the extent tree (ext4's i_block): a node header (EH_ENTRIES, EH_MAX = 4, EH_DEPTH,
 * EH_GENERATION) and 4 entries of 4 words, the same words as in shared memory (index entries hold 0
 * where shared memory keeps the child's slot).
 */
export const DI_ROOT = 33;
export const DI_ROOT_WORDS = 20;
export const DI_NAME = 56; // MAX_DISK_NAME_BYTES of UTF-8 (words 56..119)
export const DI_CRC = 127;
export const INODE_DISK_BYTES = 512;
/** A name is at most 255 bytes, as in ext4 (EXT4_NAME_LEN) and Linux (NAME_MAX). */
export const MAX_DISK_NAME_BYTES = 255;
export const INODES_PER_BLOCK = Math.floor((BLOCK_SIZE - MB_HEADER_BYTES) / INODE_DISK_BYTES); // 7

// ------------------------------------------------------------------------------------------------
// Extent-tree nodes (ext4's extent blocks): metadata blocks taken from the data area by the block
// allocator and written only through the journal. After the MB_* header (MAGIC_EXTENTS, the block,
// the owning inode), words NODE_DISK_HDR.. hold the node exactly as a shared-memory slot holds it
// from NODE_HDR on: the header (entries, max = NODE_MAX_ENTRIES, depth, the owner's generation) and
// NODE_MAX_ENTRIES entries of 4 words (leaf: lblk, len, pblk, flags; index: lblk, child pblk, 0, 0).
// ------------------------------------------------------------------------------------------------
export const EXTENT_DISK_BYTES = 16;
/** Word of a node block where the node header starts (after the MB_* header). */
export const NODE_DISK_HDR = MB_HEADER_BYTES / 4;

// ------------------------------------------------------------------------------------------------
// Block bitmap: BITS_PER_BITMAP_BLOCK bits per block after the header; bit b of block k is device
// block k * BITS_PER_BITMAP_BLOCK + b. Metadata blocks are set.
// ------------------------------------------------------------------------------------------------
export const BITMAP_PAYLOAD_BYTES = BLOCK_SIZE - MB_HEADER_BYTES;
export const BITS_PER_BITMAP_BLOCK = BITMAP_PAYLOAD_BYTES * 8; // 32640

// ------------------------------------------------------------------------------------------------
// Journal (jbd2's role). Block 0 of the journal area is the journal superblock; the log follows.
// A transaction is: descriptor block(s), each followed by the metadata blocks its tags name, then a
// commit block. Replay starts at JSB_START with sequence JSB_SEQUENCE and applies consecutive
// transactions whose descriptors, data and commit check (JC_DATA_CRC over descriptors and data).
// JSB_START 0 means the log is empty (everything it held is checkpointed).
// ------------------------------------------------------------------------------------------------
export const JSB_MAGIC = 0;
export const JSB_VERSION = 1;
export const JSB_BLOCKS = 2; // journal length, the superblock included
export const JSB_SEQUENCE = 3; // first transaction to replay
export const JSB_START = 4; // log block (index within the journal) where it starts; 0: empty log
export const JSB_CRC = 15;
export const JD_MAGIC = 0;
export const JD_SEQ = 1;
export const JD_COUNT = 2; // tags that follow the header
export const JD_CRC = 3; // crc32c of the block with this word as zero
export const JD_TAGS = 4; // first tag word: the target block of each following data block
export const JC_MAGIC = 0;
export const JC_SEQ = 1;
export const JC_BLOCKS = 2; // descriptor and data blocks of the transaction
export const JC_DATA_CRC = 3; // crc32c chained over those blocks, in log order
export const JC_TIME_LO = 4; // commit time, ms since the epoch
export const JC_TIME_HI = 5;
export const JC_CRC = 15; // crc32c of words 0..JC_CRC-1
export const MAGIC_JSB = 0x444a5342; // 'DJSB'
export const MAGIC_JDESC = 0x444a4453; // 'DJDS'
export const MAGIC_JCOMMIT = 0x444a434d; // 'DJCM'
export const JOURNAL_VERSION = 1;
export const TAGS_PER_DESCRIPTOR = BLOCK_SIZE / 4 - JD_TAGS; // 1020

// ------------------------------------------------------------------------------------------------
// Geometry
// ------------------------------------------------------------------------------------------------
export const MAX_BLOCK_COUNT = 2 ** 31 - 1;
export const MAX_FILES_LIMIT = 1 << 20;
/** Device bytes per inode when mkfs picks the count (mke2fs's -i bytes-per-inode; its default is 16 KiB). */
export const BYTES_PER_INODE = 64 * 1024;
/** The inode count mkfs picks for a device of `sizeBytes`: one per BYTES_PER_INODE, 64 to MAX_FILES_LIMIT. */
export function defaultMaxFiles(sizeBytes: number): number {
  return Math.max(64, Math.min(MAX_FILES_LIMIT, Math.floor(sizeBytes / BYTES_PER_INODE)));
}
/**
 * Dirty extent-tree nodes per inode a journal must allow (dirtyNodeLimit K) on a device of
 * `blockCount` blocks: a change starts only below K dirty nodes (transaction.ts reserveTreeCredits
 * commits first), and one change adds at most K more (two inserts that split every level of the
 * deepest tree the device can hold, and grow it), so an inode-table block's inodes carry at most
 * 15 x 2K nodes: what the journal's two largest pieces hold.
 */
export function minDirtyNodes(blockCount: number): number {
  let depth = 0; // the deepest tree: a file has at most one extent per block
  for (let fits = ROOT_ENTRIES_MAX; fits < blockCount; fits *= NODE_ENTRIES_MAX) depth++;
  return 4 * (depth + 1);
}

export interface SuperBlock {
  blockCount: number;
  maxFiles: number;
  inodeTable: number;
  inodeBlocks: number;
  bitmap: number;
  bitmapBlocks: number;
  journal: number;
  journalBlocks: number;
  firstDataBlock: number;
  mountCount: number;
  state: number;
}

const blocksFor = (n: number, per: number) => Math.ceil(n / per);

/**
 * The largest transaction piece the commit writes (transaction.ts splits a commit into pieces this
 * big): the dirty bitmap blocks, one inode-table block, up to `dirtyNodes` tree nodes of each of its
 * inodes, descriptors, and the commit block.
 */
export function maxTransactionBlocks(maxFiles: number, dirtyNodes: number, bitmapBlocks: number): number {
  const data = bitmapBlocks + 1 + Math.min(INODES_PER_BLOCK, maxFiles) * dirtyNodes;
  return data + blocksFor(data, TAGS_PER_DESCRIPTOR) + 1;
}

/**
 * Dirty nodes per inode a journal of `journalBlocks` allows: the most for which two of the largest
 * pieces fit the log (so the log can always take one after a reset).
 */
export function dirtyNodeLimit(maxFiles: number, blockCount: number, journalBlocks: number): number {
  const bitmapBlocks = blocksFor(blockCount, BITS_PER_BITMAP_BLOCK);
  const per = Math.min(INODES_PER_BLOCK, maxFiles);
  let k = Math.max(0, Math.floor((Math.floor((journalBlocks - 1) / 2) - bitmapBlocks - 3) / per));
  while (k > 0 && 1 + 2 * maxTransactionBlocks(maxFiles, k, bitmapBlocks) > journalBlocks) k--;
  return k;
}

export function minJournalBlocks(maxFiles: number, blockCount: number): number {
  const bitmapBlocks = blocksFor(blockCount, BITS_PER_BITMAP_BLOCK);
  return 1 + 2 * maxTransactionBlocks(maxFiles, minDirtyNodes(blockCount), bitmapBlocks);
}

/** The journal mkfs chooses: 1/32 of the device within [64, 8192] blocks, never below the minimum. */
export function defaultJournalBlocks(maxFiles: number, blockCount: number): number {
  return Math.max(minJournalBlocks(maxFiles, blockCount), Math.min(8192, Math.max(64, Math.floor(blockCount / 32))));
}

/** Plan the metadata areas for a device of `blockCount` blocks. */
export function planSuperBlock(blockCount: number, maxFiles: number, journalBlocks = defaultJournalBlocks(maxFiles, blockCount)): SuperBlock {
  const inodeTable = 1;
  const inodeBlocks = blocksFor(maxFiles, INODES_PER_BLOCK);
  const bitmap = inodeTable + inodeBlocks;
  const bitmapBlocks = blocksFor(blockCount, BITS_PER_BITMAP_BLOCK);
  const journal = bitmap + bitmapBlocks;
  const firstDataBlock = journal + journalBlocks;
  return {
    blockCount,
    maxFiles,
    inodeTable,
    inodeBlocks,
    bitmap,
    bitmapBlocks,
    journal,
    journalBlocks,
    firstDataBlock,
    mountCount: 0,
    state: SB_STATE_CLEAN,
  };
}

// ------------------------------------------------------------------------------------------------
// Little helpers over a block's u32 words
// ------------------------------------------------------------------------------------------------
function dv(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
export function u32(buf: Uint8Array, word: number): number {
  return dv(buf).getUint32(word * 4, true);
}
export function setU32(buf: Uint8Array, word: number, v: number): void {
  dv(buf).setUint32(word * 4, v >>> 0, true);
}

function corrupt(where: string, what: string): DioreadError {
  return new DioreadError('EFSCORRUPTED', `${where}: ${what}`);
}

// ------------------------------------------------------------------------------------------------
// Superblock codec
// ------------------------------------------------------------------------------------------------
export function encodeSuperBlock(sb: SuperBlock): Uint8Array {
  const buf = new Uint8Array(BLOCK_SIZE);
  const w = (i: number, v: number) => setU32(buf, i, v);
  w(SB_MAGIC, DISK_MAGIC);
  w(SB_VERSION, DISK_VERSION);
  w(SB_BLOCK_SIZE, BLOCK_SIZE);
  w(SB_BLOCK_COUNT, sb.blockCount);
  w(SB_MAX_FILES, sb.maxFiles);
  w(SB_INODE_TABLE, sb.inodeTable);
  w(SB_INODE_BLOCKS, sb.inodeBlocks);
  w(SB_BITMAP, sb.bitmap);
  w(SB_BITMAP_BLOCKS, sb.bitmapBlocks);
  w(SB_JOURNAL, sb.journal);
  w(SB_JOURNAL_BLOCKS, sb.journalBlocks);
  w(SB_FIRST_DATA, sb.firstDataBlock);
  w(SB_MOUNT_COUNT, sb.mountCount);
  w(SB_STATE, sb.state);
  w(SB_CRC, crc32c(buf.subarray(0, SB_CRC * 4)));
  return buf;
}

/**
 * Decode and check a superblock: magic, checksum, version, and a geometry that is the plan for its
 * own counts, fits the device and fits `imageBytes` (the image's real size; null for a memory device
 * whose size is the block count). Nothing is allocated from a field before it passed these checks.
 */
export function decodeSuperBlock(buf: Uint8Array, where: string, imageBytes: number | null): SuperBlock {
  const r = (i: number) => u32(buf, i);
  if (r(SB_MAGIC) !== DISK_MAGIC) throw corrupt(where, `no dioread superblock (magic 0x${r(SB_MAGIC).toString(16)}, want 0x${DISK_MAGIC.toString(16)})`);
  const crc = crc32c(buf.subarray(0, SB_CRC * 4));
  if (crc !== r(SB_CRC)) throw corrupt(where, `superblock checksum 0x${r(SB_CRC).toString(16)} does not match its contents (0x${crc.toString(16)})`);
  if (r(SB_VERSION) === 2) throw corrupt(where, `a version 2 image (fixed extent tables, before extent trees): this dioread reads version ${DISK_VERSION}; copy its files out with dioread 0.1 and into a new image`);
  if (r(SB_VERSION) !== DISK_VERSION) throw corrupt(where, `superblock version ${r(SB_VERSION)}, this dioread reads version ${DISK_VERSION}`);
  if (r(SB_BLOCK_SIZE) !== BLOCK_SIZE) throw corrupt(where, `block size ${r(SB_BLOCK_SIZE)}, want ${BLOCK_SIZE}`);
  const blockCount = r(SB_BLOCK_COUNT);
  const maxFiles = r(SB_MAX_FILES);
  const journalBlocks = r(SB_JOURNAL_BLOCKS);
  if (blockCount < 2 || blockCount > MAX_BLOCK_COUNT) throw corrupt(where, `block count ${blockCount} outside 2..${MAX_BLOCK_COUNT}`);
  if (imageBytes !== null && blockCount * BLOCK_SIZE > imageBytes) {
    throw corrupt(where, `the superblock says ${blockCount} blocks (${blockCount * BLOCK_SIZE} bytes) but the image holds ${imageBytes} bytes (cut short?)`);
  }
  if (maxFiles < 1 || maxFiles > MAX_FILES_LIMIT) throw corrupt(where, `maxFiles ${maxFiles} outside 1..${MAX_FILES_LIMIT}`);
  for (const word of [SB_RESERVED_5, SB_RESERVED_8, SB_RESERVED_9]) if (r(word) !== 0) throw corrupt(where, `reserved superblock word ${word} is ${r(word)}, want 0`);
  const minJournal = minJournalBlocks(maxFiles, blockCount);
  if (journalBlocks < minJournal || journalBlocks > blockCount) throw corrupt(where, `journal of ${journalBlocks} blocks outside ${minJournal}..${blockCount}`);
  const plan = planSuperBlock(blockCount, maxFiles, journalBlocks);
  const fields: Array<[keyof SuperBlock, number]> = [
    ['inodeTable', SB_INODE_TABLE],
    ['inodeBlocks', SB_INODE_BLOCKS],
    ['bitmap', SB_BITMAP],
    ['bitmapBlocks', SB_BITMAP_BLOCKS],
    ['journal', SB_JOURNAL],
    ['firstDataBlock', SB_FIRST_DATA],
  ];
  for (const [k, word] of fields) {
    if (plan[k] !== r(word)) throw corrupt(where, `superblock field ${k} is ${r(word)}, the geometry implies ${plan[k]}`);
  }
  if (plan.firstDataBlock >= blockCount) throw corrupt(where, `no data blocks (metadata ends at block ${plan.firstDataBlock}, the device has ${blockCount})`);
  const state = r(SB_STATE);
  if (state !== SB_STATE_CLEAN && state !== SB_STATE_MOUNTED) throw corrupt(where, `superblock state ${state} is neither clean (${SB_STATE_CLEAN}) nor mounted (${SB_STATE_MOUNTED})`);
  return { ...plan, mountCount: r(SB_MOUNT_COUNT), state };
}

// ------------------------------------------------------------------------------------------------
// Metadata block header
// ------------------------------------------------------------------------------------------------

/** Seal a metadata block: write its header and checksum in place. */
export function sealBlock(buf: Uint8Array, magic: number, block: number, owner: number): void {
  setU32(buf, MB_MAGIC, magic);
  setU32(buf, MB_BLOCK, block);
  setU32(buf, MB_OWNER, owner);
  setU32(buf, MB_CRC, 0);
  setU32(buf, MB_CRC, crc32c(buf));
}

/** Check a metadata block's header: magic, own number, owner, checksum. */
export function checkBlock(buf: Uint8Array, magic: number, block: number, owner: number, what: string): void {
  const name = (m: number) => String.fromCharCode((m >>> 24) & 0xff, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);
  if (u32(buf, MB_MAGIC) !== magic) {
    throw corrupt(what, `block ${block} has magic 0x${u32(buf, MB_MAGIC).toString(16)}, want ${name(magic)} (zeroed or overwritten?)`);
  }
  if (u32(buf, MB_BLOCK) !== block) throw corrupt(what, `block ${block} says it is block ${u32(buf, MB_BLOCK)} (misplaced)`);
  if (u32(buf, MB_OWNER) !== owner) throw corrupt(what, `block ${block} belongs to owner ${u32(buf, MB_OWNER)}, want ${owner}`);
  const want = u32(buf, MB_CRC);
  setU32(buf, MB_CRC, 0);
  const got = crc32c(buf);
  setU32(buf, MB_CRC, want);
  if (got !== want) throw corrupt(what, `block ${block} checksum 0x${want.toString(16)} does not match its contents (0x${got.toString(16)})`);
}

// ------------------------------------------------------------------------------------------------
// Inode records
// ------------------------------------------------------------------------------------------------
export interface DiskInode {
  used: boolean;
  /** Unlinked while still open when the image was last written: no name; mount frees it. */
  orphan: boolean;
  generation: number;
  size: number;
  /** Extents in the whole tree. */
  extentCount: number;
  blocks: number;
  mode: number;
  /** The tree's root: DI_ROOT_WORDS words (node header and 4 entries), as in shared memory. */
  root: Int32Array;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  nameBytes: Uint8Array;
  /** The directory holding the name: an inode number, or -1 for the root. */
  parent: number;
}

/** Byte offset of inode `ino`'s record inside its inode-table block. */
export function inodeRecordOffset(ino: number): number {
  return MB_HEADER_BYTES + (ino % INODES_PER_BLOCK) * INODE_DISK_BYTES;
}
/** Block of inode `ino`'s record. */
export function inodeBlockOf(sb: { inodeTable: number }, ino: number): number {
  return sb.inodeTable + Math.floor(ino / INODES_PER_BLOCK);
}

const TWO32 = 2 ** 32;
/** Largest file size: 2^31 blocks of 4 KiB (the extent map's lblk is 31 bits). */
export const MAX_FILE_BYTES = 2 ** 31 * BLOCK_SIZE;
/** Times after 9999-12-31 are damage, not dates. */
const MAX_TIME_MS = 253402300799999;

export function encodeInodeRecord(out: Uint8Array, ino: DiskInode): void {
  out.fill(0, 0, INODE_DISK_BYTES);
  if (!ino.used) return; // a free inode is all zeros
  const w = (i: number, v: number) => setU32(out, i, v);
  w(DI_USED, ino.orphan ? DI_STATE_ORPHAN : DI_STATE_USED);
  w(DI_GENERATION, ino.generation);
  w(DI_SIZE_LO, ino.size % TWO32);
  w(DI_SIZE_HI, Math.floor(ino.size / TWO32));
  w(DI_EXTENT_COUNT, ino.extentCount);
  w(DI_BLOCKS, ino.blocks);
  w(DI_NAME_LEN, ino.nameBytes.length);
  w(DI_MODE, ino.mode);
  w(DI_PARENT, ino.parent + 1);
  const t = (lo: number, ms: number) => {
    w(lo, ms % TWO32);
    w(lo + 1, Math.floor(ms / TWO32));
  };
  t(DI_ATIME_LO, ino.atimeMs);
  t(DI_MTIME_LO, ino.mtimeMs);
  t(DI_CTIME_LO, ino.ctimeMs);
  t(DI_BTIME_LO, ino.birthtimeMs);
  // An index root keeps shared memory's child slot in each entry's word 2: the disk holds 0 there.
  for (let i = 0; i < DI_ROOT_WORDS; i++) w(DI_ROOT + i, ino.root[2] > 0 && i >= 4 && (i - 4) % 4 === 2 ? 0 : ino.root[i]);
  out.set(ino.nameBytes.subarray(0, MAX_DISK_NAME_BYTES), DI_NAME * 4);
  w(DI_CRC, crc32c(out.subarray(0, DI_CRC * 4)));
}

/** Decode and range-check one inode record (`rec` is its INODE_DISK_BYTES). */
export function decodeInodeRecord(rec: Uint8Array, index: number, limits: { maxBlocks: number; maxFiles: number }): DiskInode {
  const r = (i: number) => u32(rec, i);
  const where = `inode ${index}`;
  if (r(DI_USED) === 0) {
    if (!rec.every((b) => b === 0)) throw corrupt(where, 'marked free but its record is not zeroed');
    return { used: false, orphan: false, generation: 0, size: 0, extentCount: 0, blocks: 0, mode: 0, root: emptyRoot(0), atimeMs: 0, mtimeMs: 0, ctimeMs: 0, birthtimeMs: 0, nameBytes: new Uint8Array(0), parent: -1 };
  }
  if (r(DI_USED) !== DI_STATE_USED && r(DI_USED) !== DI_STATE_ORPHAN) throw corrupt(where, `state word ${r(DI_USED)} is not 0 (free), 1 (in use) or 2 (orphan)`);
  const orphan = r(DI_USED) === DI_STATE_ORPHAN;
  const crc = crc32c(rec.subarray(0, DI_CRC * 4));
  if (crc !== r(DI_CRC)) throw corrupt(where, `record checksum 0x${r(DI_CRC).toString(16)} does not match its contents (0x${crc.toString(16)})`);
  const size = r(DI_SIZE_HI) * TWO32 + r(DI_SIZE_LO);
  if (size > MAX_FILE_BYTES) throw corrupt(where, `size ${size} over the largest file size ${MAX_FILE_BYTES}`);
  const blocks = r(DI_BLOCKS);
  if (blocks > limits.maxBlocks) throw corrupt(where, `${blocks} blocks, more than the device's ${limits.maxBlocks} data blocks`);
  const extentCount = r(DI_EXTENT_COUNT);
  if (extentCount > limits.maxBlocks) throw corrupt(where, `${extentCount} extents, more than the device's ${limits.maxBlocks} data blocks`);
  const root = new Int32Array(DI_ROOT_WORDS);
  for (let i = 0; i < DI_ROOT_WORDS; i++) root[i] = r(DI_ROOT + i) | 0;
  checkNodeHeader(root, 0, ROOT_ENTRIES_MAX, r(DI_GENERATION) | 0, -1, `${where} tree root`);
  const nameLen = r(DI_NAME_LEN);
  if (orphan ? nameLen !== 0 : nameLen < 1 || nameLen > MAX_DISK_NAME_BYTES) throw corrupt(where, orphan ? `orphan with a name of ${nameLen} bytes` : `name length ${nameLen} outside 1..${MAX_DISK_NAME_BYTES}`);
  const nameBytes = rec.slice(DI_NAME * 4, DI_NAME * 4 + nameLen);
  if (nameBytes.includes(0) || nameBytes.includes(0x2f)) throw corrupt(where, 'name holds NUL or "/"');
  const mode = r(DI_MODE);
  const type = mode & 0o170000;
  if ((type !== 0o100000 && type !== 0o040000) || mode > 0o177777) throw corrupt(where, `mode 0o${mode.toString(8)} is not a regular file's or a directory's`);
  if (type === 0o040000 && (orphan || size !== 0 || extentCount !== 0 || blocks !== 0 || root[0] !== 0)) throw corrupt(where, 'a directory with data (or an orphan directory)');
  const parent = r(DI_PARENT) - 1;
  if (parent < -1 || parent >= limits.maxFiles || parent === index) throw corrupt(where, `parent directory ${parent} is not the root (-1) or another inode below ${limits.maxFiles}`);
  const time = (lo: number, what: string) => {
    const ms = r(lo + 1) * TWO32 + r(lo);
    if (ms > MAX_TIME_MS) throw corrupt(where, `${what} ${ms} is past year 9999`);
    return ms;
  };
  return {
    used: true,
    orphan,
    generation: r(DI_GENERATION),
    size,
    extentCount,
    blocks,
    mode,
    atimeMs: time(DI_ATIME_LO, 'atime'),
    mtimeMs: time(DI_MTIME_LO, 'mtime'),
    ctimeMs: time(DI_CTIME_LO, 'ctime'),
    birthtimeMs: time(DI_BTIME_LO, 'birthtime'),
    root,
    nameBytes,
    parent,
  };
}

/** Entries of the root in the inode, and of a node block. */
export const ROOT_ENTRIES_MAX = 4;
export const NODE_ENTRIES_MAX = 254;
/** ext4's EXT4_MAX_EXTENT_DEPTH. */
export const MAX_DISK_DEPTH = 5;

/** An empty tree's root (a leaf with no entries) for an inode of generation `generation`. */
export function emptyRoot(generation: number): Int32Array {
  const root = new Int32Array(DI_ROOT_WORDS);
  root[1] = ROOT_ENTRIES_MAX;
  root[3] = generation | 0;
  return root;
}

/**
 * ext4_ext_check: a node header (entries, max, depth, generation at words at..at+3) that fits its
 * container. `depth` is what the parent implies (-1: the root, any depth up to MAX_DISK_DEPTH).
 */
export function checkNodeHeader(w: Int32Array, at: number, max: number, generation: number, depth: number, where: string): void {
  const [entries, m, d, gen] = [w[at], w[at + 1], w[at + 2], w[at + 3]];
  if (m !== max) throw corrupt(where, `node capacity ${m}, want ${max}`);
  if (entries < 0 || entries > max) throw corrupt(where, `${entries} entries in a node of ${max}`);
  if (depth < 0 ? d < 0 || d > MAX_DISK_DEPTH : d !== depth) throw corrupt(where, `depth ${d}, want ${depth < 0 ? `0..${MAX_DISK_DEPTH}` : depth}`);
  if (gen !== generation) throw corrupt(where, `generation ${gen}, the inode's is ${generation} (a node of an earlier file?)`);
  if (depth >= 0 && entries === 0) throw corrupt(where, 'an empty node below the root');
}

/** Seal a tree node's block: `words` are its NODE_WORDS - NODE_DISK_HDR words from the node header on. */
export function encodeNodeBlock(words: Int32Array, block: number, owner: number): Uint8Array {
  const img = new Uint8Array(BLOCK_SIZE);
  const w32 = new Int32Array(img.buffer);
  w32.set(words, NODE_DISK_HDR);
  // Index entries keep shared memory's child slot in word 2: the disk holds 0 there.
  if (w32[NODE_DISK_HDR + 2] > 0) for (let i = 0; i < w32[NODE_DISK_HDR]; i++) w32[NODE_DISK_HDR + 4 + i * 4 + 2] = 0;
  sealBlock(img, MAGIC_EXTENTS, block, owner);
  return img;
}

// ------------------------------------------------------------------------------------------------
// Journal blocks
// ------------------------------------------------------------------------------------------------
export interface JournalSuper {
  blocks: number;
  sequence: number;
  start: number;
}

export function encodeJournalSuper(j: JournalSuper): Uint8Array {
  const buf = new Uint8Array(BLOCK_SIZE);
  setU32(buf, JSB_MAGIC, MAGIC_JSB);
  setU32(buf, JSB_VERSION, JOURNAL_VERSION);
  setU32(buf, JSB_BLOCKS, j.blocks);
  setU32(buf, JSB_SEQUENCE, j.sequence);
  setU32(buf, JSB_START, j.start);
  setU32(buf, JSB_CRC, crc32c(buf.subarray(0, JSB_CRC * 4)));
  return buf;
}

export function decodeJournalSuper(buf: Uint8Array, journalBlocks: number, where: string): JournalSuper {
  if (u32(buf, JSB_MAGIC) !== MAGIC_JSB) throw corrupt(where, `journal superblock magic 0x${u32(buf, JSB_MAGIC).toString(16)}, want DJSB`);
  const crc = crc32c(buf.subarray(0, JSB_CRC * 4));
  if (crc !== u32(buf, JSB_CRC)) throw corrupt(where, 'journal superblock checksum does not match its contents');
  if (u32(buf, JSB_VERSION) !== JOURNAL_VERSION) throw corrupt(where, `journal version ${u32(buf, JSB_VERSION)}, want ${JOURNAL_VERSION}`);
  if (u32(buf, JSB_BLOCKS) !== journalBlocks) throw corrupt(where, `journal superblock says ${u32(buf, JSB_BLOCKS)} blocks, the superblock ${journalBlocks}`);
  const start = u32(buf, JSB_START);
  if (start !== 0 && (start < 1 || start >= journalBlocks)) throw corrupt(where, `journal start ${start} outside 1..${journalBlocks - 1}`);
  return { blocks: journalBlocks, sequence: u32(buf, JSB_SEQUENCE), start };
}

/** A descriptor block for `tags` (target block numbers of the data blocks that follow it). */
export function encodeDescriptor(seq: number, tags: number[]): Uint8Array {
  const buf = new Uint8Array(BLOCK_SIZE);
  setU32(buf, JD_MAGIC, MAGIC_JDESC);
  setU32(buf, JD_SEQ, seq);
  setU32(buf, JD_COUNT, tags.length);
  for (let i = 0; i < tags.length; i++) setU32(buf, JD_TAGS + i, tags[i]);
  setU32(buf, JD_CRC, crc32c(buf));
  return buf;
}

/** The tags of a descriptor block with sequence `seq`, or null when it is not one (end of the log). */
export function decodeDescriptor(buf: Uint8Array, seq: number): number[] | null {
  if (u32(buf, JD_MAGIC) !== MAGIC_JDESC || u32(buf, JD_SEQ) !== seq) return null;
  const count = u32(buf, JD_COUNT);
  if (count < 1 || count > TAGS_PER_DESCRIPTOR) return null;
  const want = u32(buf, JD_CRC);
  setU32(buf, JD_CRC, 0);
  const ok = crc32c(buf) === want;
  setU32(buf, JD_CRC, want);
  if (!ok) return null;
  const tags: number[] = [];
  for (let i = 0; i < count; i++) tags.push(u32(buf, JD_TAGS + i));
  return tags;
}

export function encodeCommit(seq: number, blocks: number, dataCrc: number, timeMs: number): Uint8Array {
  const buf = new Uint8Array(BLOCK_SIZE);
  setU32(buf, JC_MAGIC, MAGIC_JCOMMIT);
  setU32(buf, JC_SEQ, seq);
  setU32(buf, JC_BLOCKS, blocks);
  setU32(buf, JC_DATA_CRC, dataCrc);
  setU32(buf, JC_TIME_LO, timeMs % TWO32);
  setU32(buf, JC_TIME_HI, Math.floor(timeMs / TWO32));
  setU32(buf, JC_CRC, crc32c(buf.subarray(0, JC_CRC * 4)));
  return buf;
}

/** A commit block's (blocks, dataCrc) when it is the commit of `seq`, else null. */
export function decodeCommit(buf: Uint8Array, seq: number): { blocks: number; dataCrc: number } | null {
  if (u32(buf, JC_MAGIC) !== MAGIC_JCOMMIT || u32(buf, JC_SEQ) !== seq) return null;
  if (crc32c(buf.subarray(0, JC_CRC * 4)) !== u32(buf, JC_CRC)) return null;
  return { blocks: u32(buf, JC_BLOCKS), dataCrc: u32(buf, JC_DATA_CRC) };
}

export { crc32c, crc32cUpdate };
