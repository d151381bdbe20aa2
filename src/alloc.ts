// Block allocator: one bitmap over the device, guarded by the allocator lock.
// ext4 counterpart: fs/ext4/mballoc.c (ext4_mb_new_blocks with a goal, ext4_free_blocks and its
// freed-extent list that only reaches the buddy bitmaps once the transaction commits) and the block
// bitmap of balloc.c, without groups: one bitmap, one lock.
//
// Thread safety: every bitmap word, pending word, bitmap-block dirty word and H_FREE_BLOCKS /
// H_PENDING_FREE / H_ALLOC_GOAL change under alloc_lock (a spinlock: held for a bit scan, never
// across I/O). Allocating and freeing happen inside a journal handle (transaction.ts).
// Invariants: a set bit is a block in use or pending free; H_FREE_BLOCKS counts the clear bits from
// firstDataBlock on, H_PENDING_FREE the pending ones. A freed block stays set (pending) until the
// commit that records its freeing is durable (transaction.ts releaseFrees): see issue 7's bug 3.

import { InvariantError } from './errors.js';
import { H_ALLOC_GOAL, H_ALLOC_LOCK, H_FREE_BLOCKS, H_HELD_BLOCKS, H_META_GOAL, H_PENDING_FREE, LC_ALLOC, bitmapBit, bitmapBlockOf, bitmapDirtyWord, bitmapWord, heldWord, pendingWord, type Layout } from './shm/layout.js';
import { spinLock, unlock } from './sync/lock.js';
import type { Volume } from './volume.js';

function testBit(i32: Int32Array, l: Layout, b: number): boolean {
  return (i32[bitmapWord(l, b)] & bitmapBit(b)) !== 0;
}

/** Result of allocBlocks: the first block and how many (0 when the device is full). */
export interface Allocation {
  pblk: number;
  count: number;
}

/**
 * Allocate up to `count` contiguous blocks, at `goal` if it is free (so files grow contiguously),
 * else at the first free run after the last allocation. Returns count 0 when nothing is free.
 * Model: model/journal.pml writerB W_alloc (model/dioread.pml: pused in writer W_map) (docs/MODEL.md).
 */
export function allocBlocks(v: Volume, goal: number, count: number, firstDataBlock: number, metadata = false): Allocation {
  const i32 = v.i32;
  const l = v.layout;
  const total = l.blockCount;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    // Data leaves metaReserve blocks free for extent-tree nodes: a conversion whose split needs a
    // node must not fail for want of one (ext4's reserved clusters, s_resv_clusters).
    const room = metadata ? i32[H_FREE_BLOCKS] : i32[H_FREE_BLOCKS] - metaReserve(l.blockCount, firstDataBlock);
    if (room <= 0) return { pblk: -1, count: 0 };
    if (count > room) count = room;
    if (metadata) return allocDown(v, count, firstDataBlock);
    let start = -1;
    if (goal >= firstDataBlock && goal < total && !testBit(i32, l, goal)) start = goal;
    if (start < 0) {
      let from = i32[H_ALLOC_GOAL];
      if (from < firstDataBlock || from >= total) from = firstDataBlock;
      start = findFree(i32, l, from, total);
      if (start < 0) start = findFree(i32, l, firstDataBlock, from);
      if (start < 0) throw new InvariantError(`block bitmap: H_FREE_BLOCKS is ${i32[H_FREE_BLOCKS]} but no clear bit exists`);
    }
    let n = 0;
    while (n < count && start + n < total && !testBit(i32, l, start + n)) {
      const b = start + n;
      i32[bitmapWord(l, b)] |= bitmapBit(b);
      n++;
    }
    markBitmapDirty(v, start, n);
    i32[H_FREE_BLOCKS] -= n;
    i32[H_ALLOC_GOAL] = start + n;
    return { pblk: start, count: n };
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

/** A metadata allocation (under alloc_lock): `count` blocks from the top of the device down. */
function allocDown(v: Volume, count: number, firstDataBlock: number): Allocation {
  const i32 = v.i32;
  const l = v.layout;
  let from = i32[H_META_GOAL];
  if (from <= firstDataBlock || from >= l.blockCount) from = l.blockCount - 1;
  let b = findFreeDown(i32, l, from, firstDataBlock);
  if (b < 0) b = findFreeDown(i32, l, l.blockCount - 1, from);
  if (b < 0) throw new InvariantError(`block bitmap: H_FREE_BLOCKS is ${i32[H_FREE_BLOCKS]} but no clear bit exists`);
  let n = 0;
  while (n < count && b - n >= firstDataBlock && !testBit(i32, l, b - n)) {
    i32[bitmapWord(l, b - n)] |= bitmapBit(b - n);
    n++;
  }
  markBitmapDirty(v, b - n + 1, n);
  i32[H_FREE_BLOCKS] -= n;
  i32[H_META_GOAL] = b - n;
  return { pblk: b - n + 1, count: n };
}

/** The highest clear bit in [to, from], or -1. */
function findFreeDown(i32: Int32Array, l: Layout, from: number, to: number): number {
  for (let b = from; b >= to; b--) {
    const w = i32[bitmapWord(l, b)];
    if (w === -1 && (b & 31) === 31) {
      b -= 31;
      continue;
    }
    if ((w & bitmapBit(b)) === 0) return b;
  }
  return -1;
}

function findFree(i32: Int32Array, l: Layout, from: number, to: number): number {
  let b = from;
  while (b < to) {
    const w = i32[bitmapWord(l, b)];
    if (w === -1 && (b & 31) === 0) {
      b += 32;
      continue;
    }
    if ((w & bitmapBit(b)) === 0) return b;
    b++;
  }
  return -1;
}

/** The on-disk bitmap blocks holding [pblk, pblk+count) changed: the next commit writes them. Under alloc_lock. */
function markBitmapDirty(v: Volume, pblk: number, count: number): void {
  if (count <= 0) return;
  const first = bitmapBlockOf(pblk);
  const last = bitmapBlockOf(pblk + count - 1);
  for (let k = first; k <= last; k++) v.i32[bitmapDirtyWord(v.layout, k)] = 1;
}

/**
 * ext4_free_blocks: the blocks become pending free — still set in the bitmap, so no allocation can
 * take them, until the commit that records their freeing is durable (then transaction.ts clears
 * them). Freeing a block that is free or already pending is a bug: asserted.
 * Model: model/journal.pml truncA T_free (pending); model/dioread.pml truncate T_free (docs/MODEL.md).
 */
export function freeBlocks(v: Volume, pblk: number, count: number): void {
  if (v.unsafeEarlyReuse) return unallocBlocks(v, pblk, count); // test-only broken mode (bug 3)
  const i32 = v.i32;
  const l = v.layout;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    for (let b = pblk; b < pblk + count; b++) {
      const bit = bitmapBit(b);
      if ((i32[bitmapWord(l, b)] & bit) === 0) throw new InvariantError(`block bitmap: block ${b} freed while free`);
      if ((i32[pendingWord(l, b)] & bit) !== 0) throw new InvariantError(`block bitmap: block ${b} freed twice (already pending)`);
      i32[pendingWord(l, b)] |= bit;
    }
    markBitmapDirty(v, pblk, count);
    i32[H_PENDING_FREE] += count;
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

/** Free blocks data allocations leave for extent-tree nodes: 1/64 of the data area, 16 to 4096. */
export function metaReserve(blockCount: number, firstDataBlock: number): number {
  return Math.max(16, Math.min(4096, Math.floor((blockCount - firstDataBlock) / 64)));
}

/**
 * Free an extent-tree node's block: pending like any freed block, and held (still set in memory,
 * though the commit writes it free) until the journal's next reset. A block the log holds an image
 * of must not hold anything else while that log can be replayed: a replay would write the old node
 * over it (jbd2 writes revoke records for this; dioread waits for the log to restart instead).
 * transaction.ts releases held blocks after a reset (releaseHeld). Caller is in a handle.
 */
export function freeNodeBlock(v: Volume, pblk: number): void {
  freeBlocks(v, pblk, 1);
  if (v.unsafeEarlyReuse || v.unsafeNoNodeHold) return; // test-only broken modes
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    v.i32[heldWord(v.layout, pblk)] |= bitmapBit(pblk);
    v.i32[H_HELD_BLOCKS]++;
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

/**
 * Undo an allocation that never reached an extent (no block for a tree node, the data write
 * failed): the blocks go straight back, since no transaction ever recorded them as someone's.
 * Model: model/journal.pml truncA T_free under UNSAFE_EARLY_REUSE (docs/MODEL.md).
 */
export function unallocBlocks(v: Volume, pblk: number, count: number): void {
  const i32 = v.i32;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    for (let b = pblk; b < pblk + count; b++) {
      const w = bitmapWord(v.layout, b);
      const bit = bitmapBit(b);
      if ((i32[w] & bit) === 0) throw new InvariantError(`block bitmap: block ${b} unallocated while free`);
      i32[w] &= ~bit;
    }
    markBitmapDirty(v, pblk, count);
    i32[H_FREE_BLOCKS] += count;
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

/**
 * Blocks freed but not yet committed free (a forced commit would make them allocatable).
 * Model: model/journal.pml writerB, the pend != 0 test before the retry commit (docs/MODEL.md).
 */
export function pendingFree(v: Volume): number {
  return Atomics.load(v.i32, H_PENDING_FREE);
}

/** Mark blocks used in a standalone bitmap (mkfs builds one before writing it out). */
export function markUsedAtSetup(bitmap: Int32Array, pblk: number, count: number): void {
  for (let b = pblk; b < pblk + count; b++) bitmap[b >>> 5] |= 1 << (b & 31);
}

/** Free blocks of the shared bitmap (setup, before other threads attach). */
export function countFree(i32: Int32Array, l: Layout, firstDataBlock: number, blockCount: number): number {
  let n = 0;
  for (let b = firstDataBlock; b < blockCount; b++) if (!testBit(i32, l, b)) n++;
  return n;
}
