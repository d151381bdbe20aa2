// mkfs, and the mount-time half of the superblock's work: lay out the shared buffers' fixed
// structures, replay the journal, load the checked tables into shared memory, mark the image
// mounted or clean.
// ext4 counterpart: mke2fs; fs/ext4/super.c (ext4_fill_super, ext4_commit_super, ext4_put_super)
// with jbd2's recovery (jbd2_journal_recover) run at mount.
//
// Thread safety: everything here runs on the main thread before any other thread attaches (mount),
// or after every other thread stopped (close); metadata written while the engine runs goes through
// the journal (transaction.ts), never through here.

import { countFree, markUsedAtSetup } from './alloc.js';
import type { BlockDevice } from './device.js';
import { DioreadError } from './errors.js';
import { claimedRuns, readImage, throwingProblems, type ImageModel, type ModelNode } from './image-check.js';
import { loadNode } from './extent-nodes.js';
import { dcacheAdd } from './dcache.js';
import { initInodeRecord } from './namei.js';
import { writeJournalSuper } from './journal.js';
import {
  BITS_PER_BITMAP_BLOCK,
  MAGIC_BITMAP,
  MAGIC_INODES,
  MB_HEADER_BYTES,
  SB_STATE_CLEAN,
  SB_STATE_MOUNTED,
  decodeSuperBlock,
  minJournalBlocks,
  encodeSuperBlock,
  planSuperBlock,
  sealBlock,
  type SuperBlock,
} from './ondisk.js';
import { initIoEndPool } from './page-io.js';
import {
  BITMAP_BITS_PER_BLOCK,
  BLOCK_SIZE,
  E_LBLK,
  E_PBLK,
  EXTENT_WORDS,
  H_BLOCK_COUNT,
  H_CACHE_PAGES,
  H_FIRST_DATA_BLOCK,
  H_FLAGS,
  H_FRAME_BYTE_OFFSET,
  H_FREE_BLOCKS,
  H_HASH_MASK,
  H_IO_ENDS,
  H_MAGIC,
  H_MAX_FILES,
  H_MAX_THREADS,
  H_STATS_LEVEL,
  H_VERSION,
  I_ATIME_LO,
  I_BLOCKS,
  I_BTIME_LO,
  I_CTIME_LO,
  I_EXTENT_COUNT,
  I_GENERATION,
  I_GOAL,
  H_ROOT_TIME_LO,
  H_ROOT_TIME_HI,
  markMetaDirty,
  INODE_USED,
  I_MODE,
  I_MTIME_LO,
  I_NAME,
  I_NAME_LEN,
  I_PARENT,
  I_SIZE_HI,
  I_SIZE_LO,
  I_STATE,
  P_HASH_NEXT,
  P_INDEX,
  P_INO,
  P_PBLK,
  SHM_MAGIC,
  SHM_VERSION,
  H_NODE_SLOTS_MAX,
  H_NODE_FREE_HEAD,
  I_ROOT,
  EH_DEPTH,
  EH_ENTRIES,
  NODE_HDR,
  X_PBLK,
  X_SLOT,
  entryWord,
  nodeWord,
  type DiskGeometry,
  bitmapBit,
  bitmapBlockOf,
  bitmapDirtyWord,
  bitmapWord,
  bitmapWordAt,
  hashBucketWord,
  type Layout,
  inodeWord,
  pageWord,
} from './shm/layout.js';
import { initJournalState } from './transaction.js';
import type { Volume } from './volume.js';

if (BITS_PER_BITMAP_BLOCK !== BITMAP_BITS_PER_BLOCK) {
  throw new Error(`dioread build: on-disk bitmap bits per block ${BITS_PER_BITMAP_BLOCK} != shared layout's ${BITMAP_BITS_PER_BLOCK}`);
}

/**
 * mkfs: superblock, an empty inode table, a bitmap with the metadata blocks set, an empty journal.
 * Data blocks are left alone (tree nodes live there, and only those a tree reaches count).
 */
export function mkfs(dev: BlockDevice, blockCount: number, maxFiles: number, journalBlocks: number | null = null): SuperBlock {
  if (journalBlocks !== null) {
    const least = minJournalBlocks(maxFiles, blockCount);
    if (journalBlocks < least) {
      throw new DioreadError('EINVAL', `journalBlocks ${journalBlocks} is too small: maxFiles ${maxFiles} on ${blockCount} blocks need at least ${least} (two of the largest transactions)`);
    }
  }
  const sb = planSuperBlock(blockCount, maxFiles, journalBlocks ?? undefined);
  if (sb.firstDataBlock + 1 > blockCount) {
    throw new DioreadError(
      'EINVAL',
      `sizeBytes ${blockCount * BLOCK_SIZE} is too small: the metadata alone needs ${(sb.firstDataBlock + 1) * BLOCK_SIZE} bytes (maxFiles ${maxFiles}, journal ${sb.journalBlocks} blocks)`,
    );
  }
  for (let b = 0; b < sb.inodeBlocks; b++) {
    const img = new Uint8Array(BLOCK_SIZE);
    sealBlock(img, MAGIC_INODES, sb.inodeTable + b, 0);
    dev.writeMeta((sb.inodeTable + b) * BLOCK_SIZE, img);
  }
  const words = Math.ceil(blockCount / 32);
  const bitmap = new Int32Array(Math.ceil(words / (BITS_PER_BITMAP_BLOCK / 32)) * (BITS_PER_BITMAP_BLOCK / 32));
  markUsedAtSetup(bitmap, 0, sb.firstDataBlock);
  for (let k = 0; k < sb.bitmapBlocks; k++) dev.writeMeta((sb.bitmap + k) * BLOCK_SIZE, bitmapBlockImage(sb, bitmap, k));
  writeJournalSuper(dev, sb, { blocks: sb.journalBlocks, sequence: 1, start: 0 });
  dev.flush();
  dev.writeMeta(0, encodeSuperBlock(sb)); // last: an image without a superblock is not an image yet
  dev.flush();
  return sb;
}

/** On-disk bitmap block `k` of a flat bitmap. */
export function bitmapBlockImage(sb: { bitmap: number }, bitmap: Int32Array, k: number): Uint8Array {
  const per = BITS_PER_BITMAP_BLOCK / 32;
  const img = new Uint8Array(BLOCK_SIZE);
  const words = bitmap.subarray(k * per, Math.min(bitmap.length, (k + 1) * per));
  img.set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), MB_HEADER_BYTES);
  sealBlock(img, MAGIC_BITMAP, sb.bitmap + k, 0);
  return img;
}

/** Read and check the superblock; `imageBytes` is the image's real size (null: a memory device). */
export function readSuperBlock(dev: BlockDevice, where: string, imageBytes: number | null): SuperBlock {
  const buf = new Uint8Array(BLOCK_SIZE);
  dev.readMeta(0, buf);
  return decodeSuperBlock(buf, where, imageBytes);
}

export function writeSuperState(dev: BlockDevice, sb: SuperBlock, state: number): void {
  sb.state = state;
  dev.writeMeta(0, encodeSuperBlock(sb));
  dev.flush();
}

/** At close, after the journal is empty: the superblock says clean (or, after failures, still mounted). */
export function markImageState(v: Volume, clean: boolean): void {
  const sb = readSuperBlock(v.dev, v.desc.path ?? 'memory device', null);
  writeSuperState(v.dev, sb, clean ? SB_STATE_CLEAN : SB_STATE_MOUNTED);
}

/** The geometry every thread needs (shared in the descriptor). */
export function diskGeometry(sb: SuperBlock): DiskGeometry {
  return {
    blockCount: sb.blockCount,
    inodeTable: sb.inodeTable,
    inodeBlocks: sb.inodeBlocks,
    bitmap: sb.bitmap,
    bitmapBlocks: sb.bitmapBlocks,
    journal: sb.journal,
    journalBlocks: sb.journalBlocks,
    firstDataBlock: sb.firstDataBlock,
  };
}

/** Fill the header and the fixed structures of a fresh meta buffer (main thread, before sharing). */
export function initShared(i32: Int32Array, l: Layout, flags: number, frameByteOffset: number, firstDataBlock: number, statsLevel: number): void {
  i32[H_MAGIC] = SHM_MAGIC;
  i32[H_VERSION] = SHM_VERSION;
  i32[H_FLAGS] = flags;
  i32[H_BLOCK_COUNT] = l.blockCount;
  i32[H_MAX_FILES] = l.maxFiles;
  i32[H_NODE_SLOTS_MAX] = l.nodeSlotsMax;
  i32[H_NODE_FREE_HEAD] = -1;
  i32[H_CACHE_PAGES] = l.cachePages;
  i32[H_IO_ENDS] = l.ioEnds;
  i32[H_MAX_THREADS] = l.maxThreads;
  i32[H_FRAME_BYTE_OFFSET] = frameByteOffset;
  i32[H_HASH_MASK] = l.hashBuckets - 1;
  i32[H_FIRST_DATA_BLOCK] = firstDataBlock;
  i32[H_STATS_LEVEL] = statsLevel;
  const now = Date.now();
  i32[H_ROOT_TIME_LO] = now % 2 ** 32; // the root directory's times start at the mount (namei.ts rootAttrs)
  i32[H_ROOT_TIME_HI] = Math.floor(now / 2 ** 32);
  // Inode records are set up when first used (namei.ts initInodeRecord: at mount for the image's
  // inodes, at create for new ones): the table's untouched pages stay zero pages of the process,
  // so shared memory in use follows the files, not maxFiles. A zero record reads as INODE_FREE.
  for (let p = 0; p < l.cachePages; p++) {
    i32[pageWord(l, p, P_INO)] = -1;
    i32[pageWord(l, p, P_INDEX)] = -1;
    i32[pageWord(l, p, P_PBLK)] = -1;
    i32[pageWord(l, p, P_HASH_NEXT)] = -1;
  }
  i32.fill(-1, hashBucketWord(l, 0, 0), hashBucketWord(l, 0, 0) + l.hashBuckets);
  i32.fill(-1, l.dcacheBase, l.dcacheBase + l.dcacheBuckets);
  initIoEndPool(i32, l);
}

/** What mounting did, for the engine's report. */
export interface MountReport {
  /** Journal transactions replayed (the image was not closed cleanly). */
  replayed: number;
  /** Blocks marked used that no file held, freed (an allocation a crash left uncommitted). */
  leaksFreed: number;
  /** Orphans freed: files unlinked while open when the image was last written (ext4_orphan_cleanup). */
  orphansFreed: number;
  warnings: string[];
}

/**
 * ext4_fill_super's table reads with jbd2 recovery: read the image through the journal's replay,
 * check everything (the first problem is EFSCORRUPTED), write the replay in place and empty the log
 * (not when read-only), and load the tables into shared memory.
 * Model: model/journal.pml crash R_replay, R_check (docs/MODEL.md).
 */
export function loadImage(i32: Int32Array, nodes: SharedArrayBuffer, l: Layout, dev: BlockDevice, sb: SuperBlock, readOnly: boolean, where: string): MountReport {
  const warnings: string[] = [];
  const model = readImage(dev, sb, where, throwingProblems(where, warnings));
  if (!readOnly) {
    if (model.replayed > 0) {
      for (const [target, image] of model.overlay) dev.writeMeta(target * BLOCK_SIZE, image);
      dev.flush();
    }
    writeJournalSuper(dev, sb, { blocks: sb.journalBlocks, sequence: model.nextSeq, start: 0 });
    dev.flush();
  }
  initJournalState(i32, model.nextSeq);
  loadModel(i32, nodes, l, model);
  // Leaks: blocks an allocation took that no committed extent holds (the crash came between them).
  // Free them in memory; the next commit writes their bitmap blocks.
  const leaksFreed = readOnly ? 0 : model.leaked.length;
  if (!readOnly) for (const b of model.leaked) i32[bitmapWord(l, b)] &= ~bitmapBit(b);
  if (leaksFreed > 0) for (const b of model.leaked) i32[bitmapDirtyWord(l, bitmapBlockOf(b))] = 1;
  const orphansFreed = readOnly ? 0 : freeOrphans(i32, l, model);
  i32[H_FREE_BLOCKS] = countFree(i32, l, sb.firstDataBlock, l.blockCount);
  return { replayed: model.replayed, leaksFreed, orphansFreed, warnings };
}

/**
 * ext4_orphan_cleanup: files unlinked while open when the image was last written have no name and
 * no opener now. Their blocks are freed in memory and their records marked dirty (INODE_FREE in
 * memory, so the next commit writes a free record together with the freed bitmap bits, one
 * transaction). Nothing can reach their blocks before that: they have no name. Returns the count.
 */
function freeOrphans(i32: Int32Array, l: Layout, model: ImageModel): number {
  let n = 0;
  for (const m of model.inodes) {
    if (!m.disk.orphan) continue;
    initInodeRecord(i32, l, m.ino); // its record is committed free next: the commit reads its lists
    for (const [pblk, len] of claimedRuns(m)) {
      for (let b = pblk; b < pblk + len; b++) {
        i32[bitmapWord(l, b)] &= ~bitmapBit(b);
        i32[bitmapDirtyWord(l, bitmapBlockOf(b))] = 1;
      }
    }
    markMetaDirty(i32, l, m.ino);
    n++;
  }
  return n;
}

/** Copy a checked model into shared memory. */
function loadModel(i32: Int32Array, nodesSab: SharedArrayBuffer, l: Layout, model: ImageModel): void {
  const u8 = new Uint8Array(i32.buffer);
  const pool = { i32, nodes: new Int32Array(nodesSab, 0, nodesSab.byteLength / 4), desc: { nodes: nodesSab } };
  for (const m of model.inodes) {
    if (m.disk.orphan) continue; // nameless: freed by freeOrphans, or (read-only) left as it is
    const ino = m.ino;
    const d = m.disk;
    const time = (lo: number, ms: number) => {
      i32[inodeWord(l, ino, lo)] = ms % 2 ** 32;
      i32[inodeWord(l, ino, lo + 1)] = Math.floor(ms / 2 ** 32);
    };
    initInodeRecord(i32, l, ino);
    i32[inodeWord(l, ino, I_STATE)] = INODE_USED;
    i32[inodeWord(l, ino, I_GENERATION)] = d.generation;
    i32[inodeWord(l, ino, I_SIZE_LO)] = d.size % 2 ** 32;
    i32[inodeWord(l, ino, I_SIZE_HI)] = Math.floor(d.size / 2 ** 32);
    i32[inodeWord(l, ino, I_EXTENT_COUNT)] = d.extentCount;
    i32[inodeWord(l, ino, I_BLOCKS)] = d.blocks;
    i32[inodeWord(l, ino, I_MODE)] = d.mode;
    time(I_ATIME_LO, d.atimeMs);
    time(I_MTIME_LO, d.mtimeMs);
    time(I_CTIME_LO, d.ctimeMs);
    time(I_BTIME_LO, d.birthtimeMs);
    i32[inodeWord(l, ino, I_PARENT)] = d.parent;
    i32[inodeWord(l, ino, I_NAME_LEN)] = d.nameBytes.length;
    u8.set(d.nameBytes, inodeWord(l, ino, I_NAME) * 4);
    loadTree(pool, l, ino, d.root, m.nodes);
    dcacheAdd(i32, l, ino);
    const last = (d.extentCount - 1) * EXTENT_WORDS;
    if (d.extentCount > 0) i32[inodeWord(l, ino, I_GOAL)] = m.extents[last + E_PBLK] - m.extents[last + E_LBLK];
  }
  i32.set(model.bitmap.subarray(0, l.bitmapWords), bitmapWordAt(l, 0));
}

/**
 * An inode's tree into shared memory: every node into a slot of the pool, then each index entry's
 * X_SLOT set to its child's slot (the disk holds only the child's block).
 */
function loadTree(pool: { i32: Int32Array; nodes: Int32Array; desc: { nodes: SharedArrayBuffer } }, l: Layout, ino: number, root: Int32Array, nodes: ModelNode[]): void {
  const slotOf = new Map<number, number>();
  for (const n of nodes) slotOf.set(n.pblk, loadNode(pool, ino, n.pblk, n.words));
  const link = (w: Int32Array, hdr: number) => {
    if (w[hdr + EH_DEPTH] === 0) return;
    for (let j = 0; j < w[hdr + EH_ENTRIES]; j++) w[entryWord(hdr, j) + X_SLOT] = slotOf.get(w[entryWord(hdr, j) + X_PBLK])!;
  };
  pool.i32.set(root, inodeWord(l, ino, I_ROOT));
  link(pool.i32, inodeWord(l, ino, I_ROOT));
  for (const slot of slotOf.values()) link(pool.nodes, nodeWord(slot, NODE_HDR));
}
