// fallocate(2) for dioread files: preallocation (UNWRITTEN extents, read as zeros until written),
// keep-size, punch hole, zero range.
// ext4 counterpart: fs/ext4/extents.c ext4_fallocate (ext4_alloc_file_blocks with
// EXT4_GET_BLOCKS_CREATE_UNWRIT_EXT), ext4_zero_range (EXT4_GET_BLOCKS_CONVERT_UNWRITTEN), and
// fs/ext4/inode.c ext4_punch_hole with ext4_zero_partial_blocks.
//
// Every mode runs under the inode's write lock (i_mutex, and i_rwsem exclusive in 'shared' mode).
// Preallocated blocks are UNWRITTEN: a lockless reader reads zeros there (invariant 4), and a write
// into them takes the seed's path (dirty UNINIT page, io_end, conversion after the data landed),
// so no crash and no read ever shows a preallocated block's old bytes (invariant 8). Punch hole and
// zero range first write back and convert the range (filemap_write_and_wait_range, so no io_end is
// left for it), change the map under the seqlock, then drop the pages a lockless reader may have
// cached in between; punched blocks are freed only then, pending until the change commits.

import { freeBlocks, pendingFree } from './alloc.js';
import { DioreadError } from './errors.js';
import { MAP_MAPPED, changeExtents, mapBlocks, markUnwrittenExtents, removeExtentRange } from './extents.js';
import type { AllocateArgs } from './fs-args.js';
import {
  NO_BLOCKS,
  allocateExtent,
  assertWritable,
  dropPagesRange,
  getSize,
  invalidateRange,
  lockInodeWrite,
  setSize,
  touchData,
  unlockInodeWrite,
  unmapSeqBump,
  zeroBlockBytes,
} from './inode.js';
import { BLOCK_SIZE, EXT_MAX_LEN, I_BLOCKS, OP_TRUNCATE, inodeWord } from './shm/layout.js';
import { commitNow, inHandle, reserveTreeCredits } from './transaction.js';
import type { Volume } from './volume.js';

/** ext4_fallocate: dispatch on the mode. */
export function fileAllocate(v: Volume, ino: number, a: AllocateArgs): void {
  assertWritable(v, 'allocate');
  v.setOp(OP_TRUNCATE);
  const tok = lockInodeWrite(v, ino);
  try {
    if (a.punchHole) punchHole(v, ino, a.offset, a.length);
    else if (a.zeroRange) zeroRange(v, ino, a.offset, a.length, a.keepSize);
    else preallocate(v, ino, a.offset, a.length, a.keepSize);
  } finally {
    unlockInodeWrite(v, ino, tok);
  }
}

/** Mode 0 and FALLOC_FL_KEEP_SIZE: allocate the holes of the range as UNWRITTEN extents. Caller holds i_mutex. */
function preallocate(v: Volume, ino: number, offset: number, length: number, keepSize: boolean): void {
  allocateHoles(v, ino, Math.floor(offset / BLOCK_SIZE), Math.ceil((offset + length) / BLOCK_SIZE), offset, length);
  extendOrTouch(v, ino, offset + length, keepSize);
}

/**
 * ext4_alloc_file_blocks: UNWRITTEN extents over every hole of [first, last). When the device is
 * full but blocks wait to be committed free, commit once and go on (ext4_should_retry_alloc). On
 * ENOSPC the blocks allocated so far stay (as in ext4); the size is not changed. Caller holds i_mutex.
 */
function allocateHoles(v: Volume, ino: number, first: number, last: number, offset: number, length: number): void {
  const unwritten = !v.unsafeEarlyWritten; // the test-only broken mode marks them written at once
  let retried = false;
  let lblk = first;
  while (lblk < last) {
    if (mapBlocks(v, ino, lblk) === MAP_MAPPED) {
      lblk += Math.min(v.mapLen, last - lblk);
      continue;
    }
    const want = Math.min(v.mapLen, last - lblk, EXT_MAX_LEN);
    reserveTreeCredits(v, ino);
    const got = inHandle(v, ino, () => allocateExtent(v, ino, lblk, want, unwritten));
    if (got.count > 0) continue; // the new extent may start before lblk: map again from lblk
    if (got.pblk === NO_BLOCKS && !retried && pendingFree(v) > 0) {
      retried = true;
      commitNow(v);
      continue;
    }
    throw new DioreadError('ENOSPC', `allocate of ${length} bytes at offset ${offset}: no free blocks left on the device (blocks ${first}..${lblk - 1} allocated, ${last - lblk} not)`);
  }
}

/** The size grows to `end` unless keepSize; the times change either way. Caller holds i_mutex. */
function extendOrTouch(v: Volume, ino: number, end: number, keepSize: boolean): void {
  if (!keepSize && end > getSize(v, ino)) setSize(v, ino, end, true);
  else touchData(v, ino);
}

/**
 * ext4_punch_hole: only up to the end of the block holding i_size (never past it); the whole
 * blocks inside are unmapped and freed, the partial blocks at the edges zeroed through the cache.
 * Caller holds i_mutex.
 */
function punchHole(v: Volume, ino: number, offset: number, length: number): void {
  const size = getSize(v, ino);
  if (offset >= size) return; // nothing of the file there (Linux returns 0 too)
  const end = Math.min(offset + length, Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE);
  const fa = Math.ceil(offset / BLOCK_SIZE);
  const fb = Math.floor(end / BLOCK_SIZE);
  if (fa < fb) {
    invalidateRange(v, ino, fa, fb); // write back, convert, drop: no io_end left for the range
    const runs: Array<[number, number]> = [];
    changeMap(v, ino, () => {
      const released = removeExtentRange(v, ino, fa, fb - fa, (pblk, count) => runs.push([pblk, count]));
      v.i32[inodeWord(v.layout, ino, I_BLOCKS)] -= released;
    });
    dropPagesRange(v, ino, fa, fb);
    if (runs.length > 0) inHandle(v, ino, () => runs.forEach(([pblk, count]) => freeBlocks(v, pblk, count)));
  }
  zeroEdges(v, ino, offset, end, fa, fb);
  touchData(v, ino);
}

/**
 * ext4_zero_range: the written blocks inside turn UNWRITTEN (zeros, no I/O), holes are allocated
 * UNWRITTEN, partial blocks at the edges are zeroed through the cache; the size grows unless
 * keepSize. Caller holds i_mutex.
 */
function zeroRange(v: Volume, ino: number, offset: number, length: number, keepSize: boolean): void {
  const end = offset + length;
  const first = Math.floor(offset / BLOCK_SIZE);
  const last = Math.ceil(end / BLOCK_SIZE);
  const fa = Math.ceil(offset / BLOCK_SIZE);
  const fb = Math.floor(end / BLOCK_SIZE);
  invalidateRange(v, ino, first, last);
  for (let at = fa; at < fb; ) {
    let next = fa;
    changeMap(v, ino, () => {
      next = markUnwrittenExtents(v, ino, at, fb - at);
    });
    if (next < 0) throw new DioreadError('ENOSPC', `zero range of ${length} bytes at offset ${offset}: no free block for the extent-tree node a split at block ${at} needs`);
    at = next;
  }
  allocateHoles(v, ino, first, last, offset, length);
  if (fa < fb) dropPagesRange(v, ino, fa, fb);
  zeroEdges(v, ino, offset, end, fa, fb);
  extendOrTouch(v, ino, end, keepSize);
}

/**
 * A change of the extent map in a handle, inside the inode's seqlock write section. Both callers
 * (punch hole, zero range) take WRITTEN mappings away or re-tag them, so the unmap counter moves.
 */
function changeMap(v: Volume, ino: number, change: () => void): void {
  changeExtents(v, ino, () => {
    unmapSeqBump(v, ino);
    change();
  });
}

/** ext4_zero_partial_blocks: the bytes of [offset, end) outside the whole blocks [fa, fb). */
function zeroEdges(v: Volume, ino: number, offset: number, end: number, fa: number, fb: number): void {
  const head = Math.floor(offset / BLOCK_SIZE);
  if (fa > fb) {
    // The range lies inside one block.
    zeroBlockBytes(v, ino, head, offset - head * BLOCK_SIZE, end - head * BLOCK_SIZE);
    return;
  }
  if (offset % BLOCK_SIZE !== 0) zeroBlockBytes(v, ino, head, offset - head * BLOCK_SIZE, BLOCK_SIZE);
  if (end % BLOCK_SIZE !== 0) zeroBlockBytes(v, ino, fb, 0, end - fb * BLOCK_SIZE);
}
