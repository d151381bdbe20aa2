// Block allocator: one bitmap over the device, guarded by the allocator lock.
// ext4 counterpart: fs/ext4/mballoc.c (ext4_mb_new_blocks with a goal, ext4_free_blocks) and the
// block bitmap of balloc.c, without groups: one bitmap, one lock.
//
// Thread safety: every bitmap word and H_FREE_BLOCKS / H_ALLOC_GOAL change under alloc_lock
// (a spinlock: held for a bit scan, never across I/O).
// Invariant: H_FREE_BLOCKS equals the number of clear bits from firstDataBlock to blockCount.

import { InvariantError } from './errors.js';
import { H_ALLOC_GOAL, H_ALLOC_LOCK, H_FREE_BLOCKS, LC_ALLOC } from './shm/layout.js';
import { spinLock, unlock } from './sync/lock.js';
import type { Volume } from './volume.js';

function testBit(i32: Int32Array, base: number, b: number): boolean {
  return (i32[base + (b >>> 5)] & (1 << (b & 31))) !== 0;
}

/** Result of allocBlocks: the first block and how many (0 when the device is full). */
export interface Allocation {
  pblk: number;
  count: number;
}

/**
 * Allocate up to `count` contiguous blocks, at `goal` if it is free (so files grow contiguously),
 * else at the first free run after the last allocation. Returns count 0 when nothing is free.
 */
export function allocBlocks(v: Volume, goal: number, count: number, firstDataBlock: number): Allocation {
  const i32 = v.i32;
  const l = v.layout;
  const base = l.bitmapBase;
  const total = l.blockCount;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    if (i32[H_FREE_BLOCKS] === 0) return { pblk: -1, count: 0 };
    let start = -1;
    if (goal >= firstDataBlock && goal < total && !testBit(i32, base, goal)) start = goal;
    if (start < 0) {
      let from = i32[H_ALLOC_GOAL];
      if (from < firstDataBlock || from >= total) from = firstDataBlock;
      start = findFree(i32, base, from, total);
      if (start < 0) start = findFree(i32, base, firstDataBlock, from);
      if (start < 0) throw new InvariantError(`block bitmap: H_FREE_BLOCKS is ${i32[H_FREE_BLOCKS]} but no clear bit exists`);
    }
    let n = 0;
    while (n < count && start + n < total && !testBit(i32, base, start + n)) {
      const b = start + n;
      i32[base + (b >>> 5)] |= 1 << (b & 31);
      n++;
    }
    i32[H_FREE_BLOCKS] -= n;
    i32[H_ALLOC_GOAL] = start + n;
    return { pblk: start, count: n };
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

function findFree(i32: Int32Array, base: number, from: number, to: number): number {
  let b = from;
  while (b < to) {
    const w = i32[base + (b >>> 5)];
    if (w === -1 && (b & 31) === 0) {
      b += 32;
      continue;
    }
    if ((w & (1 << (b & 31))) === 0) return b;
    b++;
  }
  return -1;
}

/** Return blocks to the bitmap (ext4_free_blocks). Freeing a free block is a bug: asserted. */
export function freeBlocks(v: Volume, pblk: number, count: number): void {
  const i32 = v.i32;
  const base = v.layout.bitmapBase;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    for (let b = pblk; b < pblk + count; b++) {
      const w = base + (b >>> 5);
      const bit = 1 << (b & 31);
      if ((i32[w] & bit) === 0) throw new InvariantError(`block bitmap: block ${b} freed twice`);
      i32[w] &= ~bit;
    }
    i32[H_FREE_BLOCKS] += count;
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

/** Mark blocks used without the lock (setup only, before any other thread attaches). */
export function markUsedAtSetup(i32: Int32Array, base: number, pblk: number, count: number): void {
  for (let b = pblk; b < pblk + count; b++) i32[base + (b >>> 5)] |= 1 << (b & 31);
}

export function countFree(i32: Int32Array, base: number, firstDataBlock: number, blockCount: number): number {
  let n = 0;
  for (let b = firstDataBlock; b < blockCount; b++) if (!testBit(i32, base, b)) n++;
  return n;
}

export function isBlockUsed(i32: Int32Array, base: number, b: number): boolean {
  return testBit(i32, base, b);
}
