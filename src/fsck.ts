// fsck: check an image offline — superblock, journal (replayed in memory, as e2fsck does before its
// passes), inode records, extent blocks, blocks claimed twice, the bitmap against the extents — and
// with `repair`, fix what can be fixed safely.
// ext4 counterpart: e2fsck (e2fsprogs): journal recovery, pass 1 (inodes, extents), pass 1B
// (duplicate blocks), pass 5 (bitmaps), and its exit codes (0 clean, 1 fixed, 4 errors left, 8
// operational error).
//
// It never crashes on any input: every problem becomes a line in the report; memory is bounded by
// the image's real size (the superblock's geometry is checked against it before anything is sized).

import fs from 'node:fs';
import { FileDevice } from './device.js';
import { DioreadError, detail } from './errors.js';
import { bitSet, claimedRuns, readImage, type ImageModel, type Problems } from './image-check.js';
import { lockImage } from './image-lock.js';
import { writeJournalSuper } from './journal.js';
import { BITS_PER_BITMAP_BLOCK, INODE_DISK_BYTES, MAGIC_INODES, SB_STATE_CLEAN, inodeBlockOf, inodeRecordOffset, sealBlock, type SuperBlock } from './ondisk.js';
import { BLOCK_SIZE, E_FLAGS, E_LEN, EXT_UNWRITTEN, EXTENT_WORDS } from './shm/layout.js';
import { bitmapBlockImage, readSuperBlock, writeSuperState } from './super.js';

export interface FsckReport {
  clean: boolean;
  errors: string[];
  warnings: string[];
  /** What repair changed (empty without repair). */
  fixed: string[];
  files: Array<{ name: string; size: number; blocks: number; extents: number; unwrittenBlocks: number; treeNodes: number; treeDepth: number }>;
  blockCount: number;
  firstDataBlock: number;
  /** Blocks in use in the data area: file data and extent-tree nodes. */
  usedBlocks: number;
  /** Of usedBlocks, the extent-tree nodes (metadata that lives in the data area). */
  treeNodeBlocks: number;
  freeBlocks: number;
  /** Committed journal transactions not yet checkpointed (replayed in memory for the check). */
  journalTransactions: number;
  /** e2fsck's exit code: 0 clean, 1 errors fixed, 4 errors left, 8 operational error. */
  exitCode: number;
}

export interface FsckOptions {
  /** Repair what can be repaired safely (fsck -y): replay the journal in place, free leaked blocks. */
  repair?: boolean;
}

/** At most this many lines per report list: a badly damaged image cannot flood the output. */
const MAX_LINES = 1000;

function collector(errors: string[], warnings: string[]): Problems {
  let dropped = 0;
  const push = (list: string[], msg: string) => {
    if (list.length < MAX_LINES) list.push(msg);
    else if (++dropped === 1) list.push('... (further problems not listed)');
  };
  return { error: (m) => push(errors, m), warn: (m) => push(warnings, m) };
}

export function fsckImage(path: string, opts: FsckOptions = {}): FsckReport {
  if (!fs.existsSync(path)) throw new DioreadError('ENOENT', `fsck: no image at ${JSON.stringify(path)}`);
  const repair = opts.repair === true;
  // Check-only runs take the image shared (an engine has it exclusive: then the check reads a
  // moving image, which it says); repair needs it exclusive (EBUSY while an engine has it).
  let lock = null;
  let inUse = false;
  try {
    lock = lockImage('fsck', path, 'fsck', !repair);
  } catch (err) {
    if (repair || !(err instanceof DioreadError) || err.code !== 'EBUSY') throw err;
    inUse = true;
  }
  const dev = new FileDevice(path, 1, false, !repair);
  try {
    return check(dev, path, fs.statSync(path).size, repair, inUse);
  } finally {
    dev.close();
    lock?.release();
  }
}

function check(dev: FileDevice, path: string, imageBytes: number, repair: boolean, inUse: boolean): FsckReport {
  const errors: string[] = [];
  const warnings: string[] = [];
  const fixed: string[] = [];
  const p = collector(errors, warnings);
  let sb;
  try {
    sb = readSuperBlock(dev, path, imageBytes);
  } catch (err) {
    if (!(err instanceof DioreadError)) throw err;
    errors.push(detail(err));
    return { clean: false, errors, warnings, fixed, files: [], blockCount: 0, firstDataBlock: 0, usedBlocks: 0, treeNodeBlocks: 0, freeBlocks: 0, journalTransactions: 0, exitCode: 4 };
  }
  if (inUse) warnings.push('the image is in use by an engine: this check read it while it may change');
  if (sb.state !== SB_STATE_CLEAN && !inUse) warnings.push('the image was not closed cleanly (a process died with it open); the journal makes it consistent');
  const model = readImage(dev, sb, path, p);
  if (model.replayed > 0) warnings.push(`the journal holds ${model.replayed} committed transaction(s) not yet written in place (replayed for this check)`);
  if (model.leaked.length > 0) warnings.push(`bitmap: ${model.leaked.length} block(s) marked used that no file holds (leaked, e.g. by a crash between an allocation and its commit)`);
  const files = fileSummaries(model);
  let used = 0;
  for (let b = sb.firstDataBlock; b < sb.blockCount; b++) if (bitSet(model.bitmap, b)) used++;
  const errorsFound = errors.length;
  if (repair && !inUse) used -= repairImage(dev, sb, model, errorsFound === 0, fixed);
  const exitCode = errorsFound > 0 ? 4 : fixed.length > 0 ? 1 : 0;
  return {
    clean: errorsFound === 0,
    errors,
    warnings,
    fixed,
    files,
    blockCount: sb.blockCount,
    firstDataBlock: sb.firstDataBlock,
    usedBlocks: used,
    treeNodeBlocks: files.reduce((n, f) => n + f.treeNodes, 0),
    freeBlocks: sb.blockCount - sb.firstDataBlock - used,
    journalTransactions: model.replayed,
    exitCode,
  };
}

/** Per file: name, size, blocks, extents, and how many blocks are still UNWRITTEN. */
function fileSummaries(model: ImageModel): FsckReport['files'] {
  return model.inodes.map((m) => {
    let unwritten = 0;
    for (let i = 0; i < m.disk.extentCount; i++) if (m.extents[i * EXTENT_WORDS + E_FLAGS] & EXT_UNWRITTEN) unwritten += m.extents[i * EXTENT_WORDS + E_LEN];
    return { name: new TextDecoder().decode(m.disk.nameBytes), size: m.disk.size, blocks: m.disk.blocks, extents: m.disk.extentCount, unwrittenBlocks: unwritten, treeNodes: m.nodes.length, treeDepth: m.disk.root[2] };
  });
}

/**
 * Safe repairs only (e2fsck -p's spirit): apply the journal in place; when the image has no errors,
 * free leaked blocks (nothing claims them) and mark it clean. Says what it did in `fixed`; returns
 * the number of blocks it freed.
 */
function repairImage(dev: FileDevice, sb: SuperBlock, model: ImageModel, noErrors: boolean, fixed: string[]): number {
  let freed = 0;
  if (model.replayed > 0) {
    for (const [target, image] of model.overlay) dev.writeMeta(target * BLOCK_SIZE, image);
    dev.flush();
    writeJournalSuper(dev, sb, { blocks: sb.journalBlocks, sequence: model.nextSeq, start: 0 });
    dev.flush();
    fixed.push(`replayed ${model.replayed} journal transaction(s) in place`);
  }
  const orphans = noErrors ? model.inodes.filter((m) => m.disk.orphan) : [];
  if (orphans.length > 0) freed += freeOrphans(dev, sb, model, orphans, fixed);
  if (noErrors && model.leaked.length > 0) {
    for (const b of model.leaked) model.bitmap[b >>> 5] &= ~(1 << (b & 31));
    const blocks = new Set(model.leaked.map((b) => Math.floor(b / BITS_PER_BITMAP_BLOCK)));
    for (const k of blocks) dev.writeMeta((sb.bitmap + k) * BLOCK_SIZE, bitmapBlockImage(sb, model.bitmap, k));
    dev.flush();
    fixed.push(`freed ${model.leaked.length} leaked block(s)`);
    freed += model.leaked.length;
  }
  if (noErrors) writeSuperState(dev, sb, SB_STATE_CLEAN);
  return freed;
}

/**
 * Free orphans as mount would: their records first (flushed), then their bits in the bitmap, so a
 * crash between the two leaves leaked blocks (freed by the next check), never a record that claims
 * free blocks. Returns the blocks freed.
 */
function freeOrphans(dev: FileDevice, sb: SuperBlock, model: ImageModel, orphans: ImageModel['inodes'], fixed: string[]): number {
  const byBlock = new Map<number, number[]>();
  for (const m of orphans) {
    const block = inodeBlockOf(sb, m.ino);
    if (!byBlock.has(block)) byBlock.set(block, []);
    byBlock.get(block)!.push(m.ino);
  }
  for (const [block, inos] of byBlock) {
    const buf = new Uint8Array(BLOCK_SIZE);
    dev.readMeta(block * BLOCK_SIZE, buf);
    for (const ino of inos) buf.fill(0, inodeRecordOffset(ino), inodeRecordOffset(ino) + INODE_DISK_BYTES);
    sealBlock(buf, MAGIC_INODES, block, 0);
    dev.writeMeta(block * BLOCK_SIZE, buf);
  }
  dev.flush();
  let freed = 0;
  const bitmapBlocks = new Set<number>();
  for (const m of orphans) {
    for (const [pblk, len] of claimedRuns(m)) {
      for (let b = pblk; b < pblk + len; b++) {
        model.bitmap[b >>> 5] &= ~(1 << (b & 31));
        bitmapBlocks.add(Math.floor(b / BITS_PER_BITMAP_BLOCK));
        freed++;
      }
    }
  }
  for (const k of bitmapBlocks) dev.writeMeta((sb.bitmap + k) * BLOCK_SIZE, bitmapBlockImage(sb, model.bitmap, k));
  dev.flush();
  fixed.push(`freed ${orphans.length} orphan(s) (files unlinked while open) and their ${freed} block(s)`);
  return freed;
}
