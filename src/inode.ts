// File data paths: buffered and direct read and write, truncate, fsync, stat.
// ext4 counterpart: fs/ext4/inode.c — ext4_write_begin/ext4_write_end with ext4_get_block_write
// (EXT4_GET_BLOCKS_IO_CREATE_EXT), ext4_readpage, ext4_ext_direct_IO, ext4_truncate and
// ext4_block_truncate_page, and ext4_sync_file (fs/ext4/fsync.c) calling flush_completed_IO.
//
// Thread safety:
// - Writers, truncate, sync and conversion take the inode mutex (I_MUTEX, class i_mutex); with
//   readLocking 'shared' writers and truncate first take the inode's i_rwsem exclusive.
// - Readers, by readLocking: 'exclusive' takes the inode mutex (as ext4 direct reads did before the
//   seed); 'shared' takes i_rwsem shared (ext4 since 5.5, XFS's IOLOCK_SHARED); 'none' takes no inode
//   lock (the seed, invariant 4): a cache hit is validated by the page seqcount, a miss maps blocks
//   under the inode seqlock, and an UNWRITTEN or unmapped block reads as zeros. That is safe because
//   a write allocates UNWRITTEN extents (getBlockWrite) and an extent turns written only after its
//   data is on the device (invariant 2), while the page holding the new data stays cached and pinned
//   until then (invariant 3).

import { allocBlocks, freeBlocks, pendingFree, unallocBlocks } from './alloc.js';
import {
  clearPageFlags,
  findGetPageFast,
  findPage,
  frameOf,
  getPageIfCaching,
  grabPage,
  hashWalkBegin,
  hashWalkValid,
  isCacheFull,
  inodePages,
  lockPage,
  pageFlags,
  pageIndex,
  pageSeqBegin,
  pageSeqEnd,
  putPage,
  readPageFast,
  removePage,
  setPageFlags,
  setPagePblk,
  unlockPage,
  type Grabbed,
} from './cache.js';
import { DioreadError, InvariantError } from './errors.js';
import { MAP_MAPPED, assertExtentWriter, changeExtents, assertInodeLocked, extentCount, extentsEnd, insertExtent, mapBlocks, mapBlocksSeq, truncateExtents } from './extents.js';
import { allocIoEnd, endIoWrite, flushCompletedIO, freeIoEnd, invalidatepageFreeEndio, setBhEndio } from './page-io.js';
import { writebackInode } from './writeback.js';
import { commitNow, commitUpTo, deviceFlush, flushMark, flushedSince, inHandle, markInodeDirty, reserveTreeCredits, runningTid } from './transaction.js';
import {
  BLOCK_SIZE,
  BOUNCE_BLOCKS,
  EXT_MAX_LEN,
  H_DIRTY_PAGES,
  H_READ_ONLY,
  H_SYNC_CONVERSIONS,
  RO_OPTION,
  I_BLOCKS,
  I_COMPLETED_LEN,
  I_BTIME_LO,
  I_CTIME_LO,
  I_GOAL,
  I_MODE,
  I_MTIME_LO,
  I_ATIME_LO,
  I_MUTEX,
  I_RWSEM,
  I_SEQ,
  I_UNMAP_SEQ,
  I_SIZE_HI,
  I_SIZE_LO,
  LC_I_MUTEX,
  LC_RWSEM_READ,
  LC_RWSEM_WRITE,
  LC_SEQLOCK,
  OP_READ,
  OP_SYNC,
  OP_TRUNCATE,
  OP_WRITE,
  PG_DIRTY,
  PG_UNINIT,
  PG_UPTODATE,
  inodeWord,
  inodeWordPair,
  I_STATE,
  INODE_USED,
} from './shm/layout.js';
import { assertSeqWriting, lock, seqReadBegin, seqReadRetry, seqWriteBegin, seqWriteEnd, unlock } from './sync/lock.js';
import { downRead, downWrite, upRead, upWrite } from './sync/rwsem.js';
import type { Volume } from './volume.js';

const TWO32 = 2 ** 32;

/** i_size_read: under the inode seqlock, so a lockless reader never sees a torn 64-bit size. */
export function getSize(v: Volume, ino: number): number {
  const i32 = v.i32;
  const lo = inodeWord(v.layout, ino, I_SIZE_LO);
  const hi = inodeWord(v.layout, ino, I_SIZE_HI);
  const seq = inodeWord(v.layout, ino, I_SEQ);
  for (;;) {
    const s = Atomics.load(i32, seq);
    if ((s & 1) === 0) {
      const size = i32[hi] * TWO32 + (i32[lo] >>> 0);
      if (Atomics.load(i32, seq) === s) return size;
    } else if (seqReadBegin(v, seq, LC_SEQLOCK, inodeWord(v.layout, ino, I_MUTEX)) < 0) {
      return -1; // main thread, writer mid-update: caller falls back to a worker
    }
  }
}

/** i_size_write: caller holds i_mutex and is inside the seqlock write section. */
function setSizeLocked(v: Volume, ino: number, size: number): void {
  assertExtentWriter(v, ino, 'i_size_write');
  v.i32[inodeWord(v.layout, ino, I_SIZE_LO)] = size % TWO32;
  v.i32[inodeWord(v.layout, ino, I_SIZE_HI)] = Math.floor(size / TWO32);
}

/** i_size_write in a journal handle, with the times of a data change when `touch`. Caller holds i_mutex. */
export function setSize(v: Volume, ino: number, size: number, touch = false): void {
  inHandle(v, ino, () => {
    const seq = inodeWord(v.layout, ino, I_SEQ);
    seqWriteBegin(v.i32, seq);
    setSizeLocked(v, ino, size);
    seqWriteEnd(v.i32, seq);
    if (touch) touchTimes(v, ino);
    markInodeDirty(v, ino);
  });
}

/** The inode mutex alone: conversion, sync, and (readLocking 'exclusive') reads take it. */
export function lockInode(v: Volume, ino: number): number {
  return lock(v, inodeWord(v.layout, ino, I_MUTEX), LC_I_MUTEX);
}
export function unlockInode(v: Volume, ino: number, tok: number): void {
  unlock(v, inodeWord(v.layout, ino, I_MUTEX), LC_I_MUTEX, tok);
}

/**
 * inode_lock for a data change (write, truncate, allocate, invalidate): with readLocking 'shared'
 * first i_rwsem exclusive (so shared readers drain), then i_mutex; otherwise i_mutex alone. The
 * rwsem's hold token is kept on the view (a thread holds at most one inode for writing at a time).
 */
export function lockInodeWrite(v: Volume, ino: number): number {
  if (v.readLocking === 'shared') v.rwsemToken = downWrite(v, inodeWord(v.layout, ino, I_RWSEM), LC_RWSEM_WRITE);
  try {
    return lockInode(v, ino);
  } catch (err) {
    if (v.readLocking === 'shared') upWrite(v, inodeWord(v.layout, ino, I_RWSEM), LC_RWSEM_WRITE, v.rwsemToken);
    throw err;
  }
}
export function unlockInodeWrite(v: Volume, ino: number, tok: number): void {
  unlockInode(v, ino, tok);
  if (v.readLocking === 'shared') upWrite(v, inodeWord(v.layout, ino, I_RWSEM), LC_RWSEM_WRITE, v.rwsemToken);
}

const TWO32_MS = 2 ** 32;

/** Store a time (ms since the epoch) in the two words at `loField`. Caller holds i_mutex. */
export function setTime(v: Volume, ino: number, loField: number, ms: number): void {
  const [lo, hi] = inodeWordPair(v.layout, ino, loField);
  v.i32[lo] = ms % TWO32_MS;
  v.i32[hi] = Math.floor(ms / TWO32_MS);
}

export function getTime(v: Volume, ino: number, loField: number): number {
  const [lo, hi] = inodeWordPair(v.layout, ino, loField);
  return v.i32[hi] * TWO32_MS + (v.i32[lo] >>> 0);
}

/**
 * Writes on a read-only engine (opened readOnly, or gone read-only after metadata errors: ext4's
 * errors=remount-ro) fail here with EROFS, before anything changes.
 */
export function assertWritable(v: Volume, where: string): void {
  const ro = Atomics.load(v.i32, H_READ_ONLY);
  if (ro === 0) return;
  throw new DioreadError('EROFS', ro === RO_OPTION ? `${where}: the engine is read-only (opened with readOnly, or the image is not writable)` : `${where}: the engine went read-only after a metadata write failed (errors=remount-ro); close it and run fsck`);
}

/** file_update_time: the data changed (mtime and ctime). Caller holds i_mutex and is in a handle. */
function touchTimes(v: Volume, ino: number): void {
  assertInodeLocked(v, ino, 'file_update_time');
  const now = Date.now();
  setTime(v, ino, I_MTIME_LO, now);
  setTime(v, ino, I_CTIME_LO, now);
}

/**
 * file_update_time in its own handle. Caller holds i_mutex.
 * Model: model/journal.pml writerB W2_touch (docs/MODEL.md).
 */
export function touchData(v: Volume, ino: number): void {
  inHandle(v, ino, () => {
    touchTimes(v, ino);
    markInodeDirty(v, ino);
  });
}


// ------------------------------------------------------------------------------------------------
// Read
// ------------------------------------------------------------------------------------------------

const grabbed: Grabbed = { page: -1, lockToken: 0 };

/**
 * Copy what the page cache holds of [pos, pos+n) into buf[bufOff..], lock-free, stopping at the
 * first page it does not hold. Returns the bytes copied (n when every page was a hit).
 * Model: model/dioread.pml inlines fast_sample, fast_copy (reader R_fast, dreader D_fast) (docs/MODEL.md).
 */
export function readHits(v: Volume, ino: number, buf: Uint8Array, bufOff: number, n: number, pos: number): number {
  let done = 0;
  while (done < n) {
    const at = pos + done;
    const index = Math.floor(at / BLOCK_SIZE);
    const off = at - index * BLOCK_SIZE;
    const c = Math.min(BLOCK_SIZE - off, n - done);
    if (!readPageFast(v, ino, index, buf, bufOff + done, off, c)) return done;
    done += c;
  }
  return done;
}

/**
 * The whole read served by the page cache, lock-free (dioread_nolock only): the bytes read, or -1
 * when any part misses, the reads lock ('exclusive', 'shared'), or a writer is mid-update of the
 * size on the main thread; the caller then takes the full path (fileRead, or a pool worker). A hit
 * takes no lock and no page reference and touches neither the device nor the journal: it reads
 * shared memory only, and each page's P_SEQ check proves the bytes it copied were that page's at
 * one instant. So it needs none of what close() waits for (S_IN_CALL): a view's cached hit that
 * began before close returns bytes the file held during the call (generic_file_read_iter's
 * filemap_read, which also holds nothing but page references across a copy).
 * Model: model/dioread.pml reader R_fast (docs/MODEL.md).
 */
export function readCachedWhole(v: Volume, ino: number, buf: Uint8Array, bufOff: number, len: number, pos: number): number {
  if (!v.nolock) return -1;
  const size = getSize(v, ino);
  if (size < 0) return -1;
  if (pos >= size || len === 0) return 0;
  const n = Math.min(len, size - pos);
  return readHits(v, ino, buf, bufOff, n, pos) === n ? n : -1;
}

/**
 * Read up to `len` bytes at `pos` into buf[bufOff..]. Returns bytes read (short only at end of
 * file). `direct` reads bypass the page cache except to stay coherent with cached newer data.
 * Model: model/dioread.pml reader R_fast and dreader D_fast (fast_sample, fast_copy) (docs/MODEL.md).
 */
export function fileRead(v: Volume, ino: number, buf: Uint8Array, bufOff: number, len: number, pos: number, direct: boolean): number {
  v.setOp(OP_READ);
  // 'exclusive': the inode mutex (extents stable, and this thread may drain the inode's completed
  // list itself); 'shared': i_rwsem shared (writers excluded; conversion may still run, so lookups
  // stay seqlock-validated, as in 'none'); 'none': no inode lock at all (the seed).
  const mode = v.readLocking;
  const locked = mode === 'exclusive';
  const tok = locked ? lockInode(v, ino) : mode === 'shared' ? downRead(v, inodeWord(v.layout, ino, I_RWSEM), LC_RWSEM_READ) : 0;
  try {
    const size = getSize(v, ino);
    if (pos >= size || len === 0) return 0;
    const n = Math.min(len, size - pos);
    let done = 0;
    for (;;) {
      done += readHits(v, ino, buf, bufOff + done, n - done, pos + done);
      if (done >= n) return n;
      // A miss at pos + done.
      const at = pos + done;
      const index = Math.floor(at / BLOCK_SIZE);
      const off = at - index * BLOCK_SIZE;
      if (direct) done += readDirectSlow(v, ino, index, buf, bufOff + done, off, n - done, locked);
      else {
        const c = Math.min(BLOCK_SIZE - off, n - done);
        try {
          readPageSlow(v, ino, index, buf, bufOff + done, off, c, locked);
        } catch (err) {
          // No frame to be had (the cache is full of dirty pages the device refuses): read around
          // the cache, as a direct read does, so reads of data already on disk keep working.
          if (!isCacheFull(err)) throw err;
          done += readDirectSlow(v, ino, index, buf, bufOff + done, off, c, locked);
          continue;
        }
        done += c;
      }
      if (done >= n) return n;
    }
  } finally {
    if (locked) unlockInode(v, ino, tok);
    else if (mode === 'shared') upRead(v, inodeWord(v.layout, ino, I_RWSEM), LC_RWSEM_READ, tok);
  }
}

/**
 * Cache miss: find or create the page, fill it (ext4_readpage), copy out.
 * Model: model/dioread.pml reader R_slow, R_fill, R_copy; dreader D_slow (docs/MODEL.md).
 */
function readPageSlow(v: Volume, ino: number, index: number, buf: Uint8Array, bufOff: number, off: number, c: number, locked: boolean): void {
  grabPage(v, ino, index, locked ? ino : -1, grabbed);
  const p = grabbed.page;
  const lt = grabbed.lockToken;
  try {
    if (!(pageFlags(v, p) & PG_UPTODATE)) fillPage(v, ino, p, index, locked);
    v.framesBuf.copy(buf, bufOff, frameOf(v, p) + off, frameOf(v, p) + off + c);
  } finally {
    unlockPage(v, p, lt);
    putPage(v, p);
  }
}

/**
 * Fill a locked, not-uptodate page from the extent map: a hole or an UNWRITTEN block reads as zeros,
 * a written block from the device. Without the inode mutex the mapping is read under the seqlock
 * and checked again after the device read: if the block's mapping changed meanwhile (truncated and
 * reused, say), the read is redone, so bytes of a block that is no longer this file's never leak.
 * Model: model/dioread.pml inline fill_page (docs/MODEL.md).
 */
function fillPage(v: Volume, ino: number, p: number, index: number, locked: boolean): void {
  const frame = frameOf(v, p);
  for (let tries = 0; ; tries++) {
    if (!locked) mapBlocksSeq(v, ino, index);
    else mapBlocks(v, ino, index);
    const pblk = v.mapPblk;
    const unwritten = v.mapUnwritten;
    if (pblk < 0 || unwritten) {
      v.frames.fill(0, frame, frame + BLOCK_SIZE);
    } else {
      v.dev.readBlocks(pblk, 1, v.frames, frame);
    }
    if (!locked && pblk >= 0 && !unwritten) {
      // Re-validate (see above). Same block, still written: the bytes are this file's.
      mapBlocksSeq(v, ino, index);
      if (v.mapPblk !== pblk || v.mapUnwritten) {
        if (tries > 1000) throw new InvariantError(`fillPage: mapping of inode ${ino} index ${index} changed 1000 times in a row`);
        continue;
      }
    }
    setPagePblk(v, p, pblk);
    setPageFlags(v, p, PG_UPTODATE);
    return;
  }
}

/**
 * Direct read of blocks not served by the cache: look the page up under the mapping lock (a dirty
 * or pinned page holds data newer than the device), else map and read from the device through this
 * thread's aligned bounce buffer. Returns bytes copied (at most up to the end of a physical run).
 * Model: model/dioread.pml dreader D_probe, D_io, D_slow; model/pagehash.pml probe1 (docs/MODEL.md).
 */
function readDirectSlow(v: Volume, ino: number, index: number, buf: Uint8Array, bufOff: number, off: number, remaining: number, locked: boolean): number {
  const p = findGetPageFast(v, ino, index);
  if (p >= 0) {
    const c = Math.min(BLOCK_SIZE - off, remaining);
    const lt = lockPage(v, p);
    try {
      if (pageFlags(v, p) & PG_UPTODATE) {
        v.framesBuf.copy(buf, bufOff, frameOf(v, p) + off, frameOf(v, p) + off + c);
        return c;
      }
    } finally {
      unlockPage(v, p, lt);
      putPage(v, p);
    }
  }
  for (let tries = 0; ; tries++) {
    const u = locked ? 0 : unmapSeq(v, ino); // before the mapping: see directReadValid
    const s = locked ? 0 : mapBlocksSeq(v, ino, index);
    if (locked) mapBlocks(v, ino, index);
    const pblk = v.mapPblk;
    const unwritten = v.mapUnwritten;
    // The run stops before the first later page the cache holds: that page may be newer than the
    // device (dirty, or awaiting conversion over an UNWRITTEN block), and its turn comes through the
    // cache probe. Without the cut a direct read returned old bytes or zeros for it (invariant 9).
    const blocks = uncachedRun(v, ino, index, Math.min(v.mapLen, BOUNCE_BLOCKS, Math.ceil((off + remaining) / BLOCK_SIZE)));
    const c = Math.min(blocks * BLOCK_SIZE - off, remaining);
    if (pblk < 0 || unwritten) buf.fill(0, bufOff, bufOff + c);
    else v.dev.readBlocks(pblk, blocks, v.frames, v.bounceByteOffset);
    // If the mapping may have changed during the read, read again (directReadValid). Comparing the
    // mapping instead was fooled (docs/MODEL.md, bug 2): a later block of the run truncated away
    // and given to another file, or a block freed, reused and mapped back (ABA), passed the check
    // and the read returned another file's bytes (invariant 12).
    if (!locked && !directReadValid(v, ino, pblk >= 0 && !unwritten, s, u)) {
      if (tries < DIRECT_READ_RETRIES) continue;
      // Extents changing under every try: read this block through the page cache, whose fill holds
      // the page lock that a truncate waits for before it frees the block.
      const one = Math.min(BLOCK_SIZE - off, remaining);
      readPageSlow(v, ino, index, buf, bufOff, off, one, false);
      return one;
    }
    if (pblk >= 0 && !unwritten) v.framesBuf.copy(buf, bufOff, v.bounceByteOffset + off, v.bounceByteOffset + off + c);
    return c;
  }
}

/** The inode's unmap counter (I_UNMAP_SEQ): a lockless direct reader samples it before mapping. */
export function unmapSeq(v: Volume, ino: number): number {
  return Atomics.load(v.i32, inodeWord(v.layout, ino, I_UNMAP_SEQ));
}

/**
 * Inside an I_SEQ write section (caller holds i_mutex), before a change that takes WRITTEN mappings
 * away or changes them: unmap, punch, re-tag UNWRITTEN. Bumped before the change, and the blocks
 * are freed only after the section, so a reader whose device read could have seen a block reused
 * sees the counter moved. Allocation and conversion leave it alone.
 * Model: model/dioread.pml inline unmap_section (docs/MODEL.md).
 */
export function unmapSeqBump(v: Volume, ino: number): void {
  assertSeqWriting(v.i32, inodeWord(v.layout, ino, I_SEQ), `unmap of inode ${ino}`);
  Atomics.add(v.i32, inodeWord(v.layout, ino, I_UNMAP_SEQ), 1);
}

/**
 * After a lockless device read of a run mapped under I_SEQ sample `s`, with `u` = unmapSeq sampled
 * before the mapping: may its bytes be returned? WRITTEN blocks stay this file's, at the same
 * place, until a change that bumps I_UNMAP_SEQ (the only way a block can be freed and reused is
 * after its unmap), so they re-check only that counter: a conversion or an allocation elsewhere
 * in the file no longer sends the read round again. A hole or an UNWRITTEN run (zeros) keeps the
 * full I_SEQ check: a conversion may have made its blocks' data readable meanwhile.
 * Model: model/dioread.pml dreader D_io (umoved / imoved) (docs/MODEL.md).
 */
export function directReadValid(v: Volume, ino: number, written: boolean, s: number, u: number): boolean {
  if (written) return unmapSeq(v, ino) === u;
  return !seqReadRetry(v.i32, inodeWord(v.layout, ino, I_SEQ), s);
}

/** A direct read retries this often when the extents move under it, then goes through the cache. */
export const DIRECT_READ_RETRIES = 16;

/**
 * How many of the `blocks` pages from `index` on are not cached (at least 1: the caller already
 * looked at `index`). A lockless probe; a "not cached" it trusts only if no hash chain changed
 * meanwhile (H_HASH_SEQ), else it keeps just the first block.
 * Model: model/dioread.pml dreader (DRUN run test); model/pagehash.pml probe2 (docs/MODEL.md).
 */
export function uncachedRun(v: Volume, ino: number, index: number, blocks: number): number {
  if (blocks <= 1) return blocks;
  const s = hashWalkBegin(v);
  for (let i = 1; i < blocks; i++) if (findPage(v, ino, index + i) >= 0) return i;
  return hashWalkValid(v, s) ? blocks : 1;
}

// ------------------------------------------------------------------------------------------------
// Write
// ------------------------------------------------------------------------------------------------

/** mapRangeForWrite's per-block state: the block sits in an UNWRITTEN extent (else 0: written). */
const MAPPED_UNWRITTEN = 1;

/**
 * Map [first, first+n) for a write, allocating holes (ext4_map_blocks with ext4_get_block_write:
 * EXT4_GET_BLOCKS_IO_CREATE_EXT makes the new extents UNWRITTEN). Fills pblks/unwritten per block.
 * Returns how many blocks from `first` are mapped: fewer than n only when the device or the extent
 * table is full. When the device is full but blocks wait to be committed free, it commits once and
 * tries again (ext4_should_retry_alloc). Caller holds i_mutex (not a handle).
 * Model: model/dioread.pml writer W_map; model/journal.pml writerB W_alloc, W_insert, W_commit (ENOSPC retry) (docs/MODEL.md).
 */
function mapRangeForWrite(v: Volume, ino: number, first: number, n: number, pblks: Int32Array, unw: Uint8Array): number {
  // unw[i]: 0 written, or MAPPED_UNWRITTEN (new blocks are: their old bytes are garbage).
  // Every read-locking mode allocates UNWRITTEN (as ext4 does for all buffered writes since
  // dioread_nolock became its default): an extent reaches the journal as written only after its
  // data landed, so no crash exposes a block's old bytes (invariant 8), whatever readers lock.
  const createUnwritten = !v.unsafeEarlyWritten;
  let retried = false;
  let i = 0;
  while (i < n) {
    const lblk = first + i;
    if (mapBlocks(v, ino, lblk) === MAP_MAPPED) {
      const k = Math.min(v.mapLen, n - i);
      for (let j = 0; j < k; j++) {
        pblks[i + j] = v.mapPblk + j;
        unw[i + j] = v.mapUnwritten ? MAPPED_UNWRITTEN : 0;
      }
      i += k;
      continue;
    }
    const hole = v.mapLen;
    const want = Math.min(hole, n - i, EXT_MAX_LEN);
    reserveTreeCredits(v, ino);
    const a = inHandle(v, ino, () => allocateExtent(v, ino, lblk, want, createUnwritten));
    if (a.count === 0) {
      if (a.pblk === NO_BLOCKS && !retried && pendingFree(v) > 0) {
        retried = true;
        commitNow(v); // the blocks a truncate freed become allocatable once it is committed
        continue;
      }
      break;
    }
    // The new extent may start before lblk (a filled gap): map again from lblk.
  }
  return i;
}

/** allocateExtent's "nothing" result: no free block (for the data, or for a node of the tree). */
export const NO_BLOCKS = -1;

/**
 * One allocation for the hole at lblk (`want` blocks of it needed): blocks at the goal (or wherever
 * free), then an extent for them. Caller holds i_mutex and a handle.
 * Model: model/journal.pml writerB W_alloc (allocBlocks inside the handle) (docs/MODEL.md).
 */
export function allocateExtent(v: Volume, ino: number, lblk: number, want: number, unwritten: boolean): { pblk: number; count: number } {
  assertInodeLocked(v, ino, 'block allocation');
  const a = allocBlocks(v, goalFor(v, ino, lblk), Math.min(want, EXT_MAX_LEN), v.firstDataBlock);
  if (a.count === 0) return { pblk: NO_BLOCKS, count: 0 };
  const seq = inodeWord(v.layout, ino, I_SEQ);
  seqWriteBegin(v.i32, seq);
  try {
    if (!insertExtent(v, ino, lblk, a.count, a.pblk, unwritten)) {
      unallocBlocks(v, a.pblk, a.count); // never recorded as anyone's: free at once
      return { pblk: NO_BLOCKS, count: 0 };
    }
    v.i32[inodeWord(v.layout, ino, I_BLOCKS)] += a.count;
    v.i32[inodeWord(v.layout, ino, I_GOAL)] = a.pblk - lblk;
    markInodeDirty(v, ino);
  } finally {
    seqWriteEnd(v.i32, seq);
  }
  return a;
}

/**
 * ext4_ext_find_goal, plus the file's own layout: where this file's last allocation would continue
 * (I_GOAL + lblk), so writes that land out of order (concurrent async writes) still lay the file
 * out contiguously and its extents merge (issue 7 bug 10); else right after the extent before lblk;
 * else the allocator's rolling goal.
 */
function goalFor(v: Volume, ino: number, lblk: number): number {
  const base = v.i32[inodeWord(v.layout, ino, I_GOAL)];
  if (base !== -1 && base + lblk >= v.firstDataBlock && base + lblk < v.layout.blockCount) return base + lblk;
  if (lblk > 0 && mapBlocks(v, ino, lblk - 1) === MAP_MAPPED) return v.mapPblk + 1;
  return -1;
}

function enospc(v: Volume, ino: number, pos: number, len: number): DioreadError {
  return new DioreadError('ENOSPC', `write of ${len} bytes at position ${pos} of inode ${ino}: no free blocks left on the device`);
}

/**
 * Write `len` bytes from buf[bufOff..] at `pos`. Returns bytes written: short only when the device
 * fills (a write that can place nothing throws ENOSPC and changes nothing).
 * Model: model/dioread.pml writer (i_mutex from W_map to W_done) (docs/MODEL.md).
 */
export function fileWrite(v: Volume, ino: number, buf: Uint8Array, bufOff: number, len: number, pos: number, direct: boolean, append = false): number {
  assertWritable(v, 'write');
  v.setOp(OP_WRITE);
  const tok = lockInodeWrite(v, ino);
  try {
    // O_APPEND: the end of file under the lock, so concurrent appenders never overlap.
    if (append) pos = getSize(v, ino);
    v.writePos = pos;
    if (len === 0) return 0;
    return direct ? directWriteLocked(v, ino, buf, bufOff, len, pos) : bufferedWriteLocked(v, ino, buf, bufOff, len, pos);
  } finally {
    unlockInodeWrite(v, ino, tok);
  }
}

// Model: model/dioread.pml writer, labels W_map, W_grab, W_copy, W_done (docs/MODEL.md).
function bufferedWriteLocked(v: Volume, ino: number, buf: Uint8Array, bufOff: number, len: number, pos: number): number {
  const first = Math.floor(pos / BLOCK_SIZE);
  const last = Math.floor((pos + len - 1) / BLOCK_SIZE);
  const n = last - first + 1;
  const pblks = new Int32Array(n);
  const unw = new Uint8Array(n);
  const mapped = mapRangeForWrite(v, ino, first, n, pblks, unw);
  if (mapped === 0) throw enospc(v, ino, pos, len);
  const end = Math.min(pos + len, (first + mapped) * BLOCK_SIZE);
  const size = getSize(v, ino);
  for (let i = 0; i < mapped; i++) {
    const index = first + i;
    const pageStart = index * BLOCK_SIZE;
    const from = Math.max(pos, pageStart);
    const to = Math.min(end, pageStart + BLOCK_SIZE);
    grabPage(v, ino, index, ino, grabbed);
    const p = grabbed.page;
    const lt = grabbed.lockToken;
    try {
      const frame = frameOf(v, p);
      const whole = from === pageStart && to === pageStart + BLOCK_SIZE;
      // The block's state now, not as mapRangeForWrite saw it: reclaim inside this loop (grabPage
      // above) may have written back, converted and evicted an earlier page of this very write's
      // range, turning its UNWRITTEN block written (issue 7 bug 1: a stale "unwritten" zero-filled
      // bytes an earlier write had put there). We hold i_mutex, so the map is stable here.
      if (mapBlocks(v, ino, index) !== MAP_MAPPED || v.mapPblk !== pblks[i]) {
        throw new InvariantError(`buffered write: inode ${ino} index ${index} maps to ${v.mapPblk}, allocated ${pblks[i]}`);
      }
      const unwritten = v.mapUnwritten;
      if (!(pageFlags(v, p) & PG_UPTODATE) && !whole) {
        // Partial write of a page not in memory: read what the file holds there (zeros for an
        // UNWRITTEN block, or past EOF), as block_write_begin does.
        if (unwritten || pageStart >= size) v.frames.fill(0, frame, frame + BLOCK_SIZE);
        else v.dev.readBlocks(pblks[i], 1, v.frames, frame);
      }
      pageSeqBegin(v, p);
      v.frames.set(buf.subarray(bufOff + (from - pos), bufOff + (to - pos)), frame + (from - pageStart));
      pageSeqEnd(v, p);
      setPagePblk(v, p, pblks[i]);
      const old = setPageFlags(v, p, PG_UPTODATE | PG_DIRTY | (unwritten ? PG_UNINIT : 0));
      if (!(old & PG_DIRTY)) Atomics.add(v.i32, H_DIRTY_PAGES, 1);
    } finally {
      unlockPage(v, p, lt);
      putPage(v, p);
    }
  }
  // i_size (when the write extended the file) and the times, in one handle.
  if (end > size) setSize(v, ino, end, true);
  else touchData(v, ino);
  balanceDirtyPages(v, ino);
  return end - pos;
}

/** balance_dirty_pages: past half the cache dirty, the writer cleans its own file before returning. */
function balanceDirtyPages(v: Volume, ino: number): void {
  if (Atomics.load(v.i32, H_DIRTY_PAGES) > v.layout.cachePages / 2) writebackInode(v, ino);
}

/**
 * Direct write (ext4_ext_direct_IO for a synchronous write): flush and drop cached pages of the
 * range, allocate UNWRITTEN, write from the bounce buffer to the device, then hand an io_end to the
 * completed list and, being synchronous, convert it before returning as ext4 does for sync DIO, so a
 * direct read right after never sees zeros (the bug of ext4 commit dccaf33f, invariant 9).
 */
function directWriteLocked(v: Volume, ino: number, buf: Uint8Array, bufOff: number, len: number, pos: number): number {
  const first = Math.floor(pos / BLOCK_SIZE);
  const last = Math.floor((pos + len - 1) / BLOCK_SIZE);
  const n = last - first + 1;
  invalidateRange(v, ino, first, last + 1);
  const pblks = new Int32Array(n);
  const unw = new Uint8Array(n);
  const mapped = mapRangeForWrite(v, ino, first, n, pblks, unw);
  if (mapped === 0) throw enospc(v, ino, pos, len);
  const end = Math.min(pos + len, (first + mapped) * BLOCK_SIZE);
  const size = getSize(v, ino);
  const bounce = v.bounceByteOffset;
  let i = 0;
  let failure: unknown = null;
  while (i < mapped) {
    // A run: physically contiguous, same written state, at most BOUNCE_BLOCKS.
    let k = 1;
    while (i + k < mapped && k < BOUNCE_BLOCKS && pblks[i + k] === pblks[i] + k && unw[i + k] === unw[i]) k++;
    const runUnwritten = (unw[i] & MAPPED_UNWRITTEN) !== 0;
    const runStart = (first + i) * BLOCK_SIZE;
    const from = Math.max(pos, runStart);
    const to = Math.min(end, runStart + k * BLOCK_SIZE);
    // Partial first or last block: start from what the file holds there.
    if (from > runStart || to < runStart + k * BLOCK_SIZE) {
      if (unw[i] !== 0 || runStart >= size) v.frames.fill(0, bounce, bounce + k * BLOCK_SIZE);
      else v.dev.readBlocks(pblks[i], k, v.frames, bounce);
    }
    v.frames.set(buf.subarray(bufOff + (from - pos), bufOff + (to - pos)), bounce + (from - runStart));
    const io = runUnwritten ? allocIoEnd(v, ino, ino) : -1;
    try {
      v.dev.writeBlocks(pblks[i], k, v.frames, bounce);
    } catch (err) {
      if (io >= 0) freeIoEnd(v, io);
      // The device refused this run: nothing of it becomes visible (its blocks stay UNWRITTEN, or
      // keep their old bytes unless the device wrote part of them). What landed before it stands,
      // and the write is short, as write(2) is; with nothing landed, the error goes to the caller
      // and the file is as it was (size and contents).
      failure = err;
      break;
    }
    if (io >= 0) {
      setBhEndio(v, io, first + i, k, null); // a direct write's io_end pins no page
      endIoWrite(v, io);
    }
    i += k;
  }
  if (failure !== null && i === 0) throw failure;
  const doneEnd = Math.min(end, (first + i) * BLOCK_SIZE);
  flushCompletedIO(v, ino);
  if (doneEnd > size) setSize(v, ino, doneEnd, true);
  else touchData(v, ino);
  // Readers may have cached zeros for these UNWRITTEN blocks while we wrote: drop them again.
  invalidateRange(v, ino, first, first + mapped);
  return doneEnd - pos;
}

/**
 * drop_caches for one file: write back, convert, and drop every cached page (so that reads go to
 * the device again, as after `echo 1 > /proc/sys/vm/drop_caches`). Takes the inode mutex.
 */
export function dropFileCache(v: Volume, ino: number): void {
  const tok = lockInodeWrite(v, ino);
  try {
    invalidateRange(v, ino, 0, 0x7fffffff);
  } finally {
    unlockInodeWrite(v, ino, tok);
  }
}

/** Write back, convert and drop the cached pages of [from, to) (invalidate_inode_pages2_range). */
export function invalidateRange(v: Volume, ino: number, from: number, to: number): void {
  const pages = inodePages(v, ino, from).filter((p) => pageIndex(v, p) < to);
  if (pages.length === 0) return;
  writebackInode(v, ino, from, to);
  flushCompletedIO(v, ino);
  for (const p of pages) dropPage(v, ino, p, pageIndex(v, p));
}

/**
 * Drop the cached pages of [from, to) again (truncate's step 6, fallocate's punch and zero range):
 * a lockless reader that mapped the range before its change may have cached a page of the old
 * bytes meanwhile. Caller holds i_mutex.
 */
export function dropPagesRange(v: Volume, ino: number, from: number, to: number): void {
  for (const p of inodePages(v, ino, from)) {
    const index = pageIndex(v, p);
    if (index < to) dropPage(v, ino, p, index);
  }
}

/**
 * Remove one page from the cache if it still caches (ino, index). Caller holds i_mutex.
 * Model: model/dioread.pml inline drop_page (docs/MODEL.md).
 */
export function dropPage(v: Volume, ino: number, p: number, index: number): void {
  assertInodeLocked(v, ino, 'dropping a page');
  if (!getPageIfCaching(v, p, ino, index)) return;
  const lt = lockPage(v, p);
  try {
    if (clearPageFlags(v, p, PG_DIRTY) & PG_DIRTY) Atomics.sub(v.i32, H_DIRTY_PAGES, 1);
    removePage(v, p);
  } finally {
    unlockPage(v, p, lt);
    putPage(v, p);
  }
}

// ------------------------------------------------------------------------------------------------
// Truncate, sync, stat
// ------------------------------------------------------------------------------------------------

/**
 * ext4_truncate (and extension with a hole).
 * Model: model/dioread.pml truncate T_unmap..T_free; model/journal.pml truncA T_unmap, T_free (docs/MODEL.md).
 */
export function fileTruncate(v: Volume, ino: number, newSize: number): void {
  assertWritable(v, 'truncate');
  v.setOp(OP_TRUNCATE);
  const tok = lockInodeWrite(v, ino);
  try {
    const old = getSize(v, ino);
    const keep = Math.ceil(newSize / BLOCK_SIZE);
    // A truncate to the same size still drops blocks preallocated past the end (fallocate's
    // keepSize), as ext4_setattr calls ext4_truncate for ia_size <= i_size; growing keeps them.
    if (newSize > old || (newSize === old && extentsEnd(v, ino) <= keep)) {
      if (newSize > old) setSize(v, ino, newSize, true);
      else touchData(v, ino);
      return;
    }
    setSize(v, ino, newSize, true);
    // 1. Unmap the dropped blocks first (ext4_truncate's order: the map, then the pages). A lockless
    //    reader that misses the cache from now on finds a hole (zeros), never the device's older
    //    copy of a block whose newest bytes the steps below throw away (docs/MODEL.md, bug 1: the
    //    pages were cleaned and dropped while the block was still mapped, and a reader read back an
    //    older generation). The blocks stay allocated until step 7.
    const runs = unmapBeyond(v, ino, keep);
    // 2. Make the dropped pages clean and wait out writeback in flight on them (their page locks),
    //    so that every io_end for them is now on the completed list.
    const pages = cleanPagesBeyond(v, ino, keep);
    // 3. ext4_invalidatepage_free_endio: free their io_ends without converting.
    invalidatepageFreeEndio(v, ino, keep);
    // 4. Drop the pages.
    for (const p of pages) dropPage(v, ino, p, pageIndex(v, p));
    // 5. ext4_block_truncate_page: zero the tail of the last kept block, so a later extension reads zeros.
    if (newSize % BLOCK_SIZE !== 0) zeroBlockBytes(v, ino, keep - 1, newSize % BLOCK_SIZE, BLOCK_SIZE);
    // 6. A reader that sampled the old size may have cached a page past the new end meanwhile
    //    (it held no inode lock): drop such pages again (they hold zeros of the hole, or older).
    dropPagesRange(v, ino, keep, 0x7fffffff);
    // 7. Only now free the blocks (pending until this change commits: transaction.ts): no writeback
    //    of a dropped page can be in flight to them any more, so nothing of this file's can land in
    //    a block handed to another file. A commit between steps 1 and 7 sees them used by nobody (a
    //    leak the next mount frees, should a crash come first), never free while still mapped.
    if (runs.length > 0) inHandle(v, ino, () => runs.forEach(([pblk, count]) => freeBlocks(v, pblk, count)));
  } finally {
    unlockInodeWrite(v, ino, tok);
  }
}

/**
 * Truncate's step 1 (ext4_ext_remove_space under the inode's seqcount): unmap every block from
 * `keep` on, in a handle. Returns the physical runs it unmapped, still allocated: the caller frees
 * them once no writeback can be in flight to them. Caller holds the inode mutex.
 */
function unmapBeyond(v: Volume, ino: number, keep: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  changeExtents(v, ino, () => {
    unmapSeqBump(v, ino);
    v.i32[inodeWord(v.layout, ino, I_BLOCKS)] -= truncateExtents(v, ino, keep, (pblk, count) => runs.push([pblk, count]));
  });
  return runs;
}

/**
 * Truncate's step 2 (truncate_inode_pages' first pass): clear PG_DIRTY on every cached page from
 * `keep` on, each under its page lock, which waits out writeback in flight on it. Returns the pages
 * seen (to drop). Caller holds the inode mutex.
 */
function cleanPagesBeyond(v: Volume, ino: number, keep: number): number[] {
  const pages = inodePages(v, ino, keep);
  for (const p of pages) {
    const index = pageIndex(v, p);
    if (!getPageIfCaching(v, p, ino, index)) continue;
    const lt = lockPage(v, p);
    if (clearPageFlags(v, p, PG_DIRTY) & PG_DIRTY) Atomics.sub(v.i32, H_DIRTY_PAGES, 1);
    unlockPage(v, p, lt);
    putPage(v, p);
  }
  return pages;
}

/**
 * Zero bytes [fromByte, toByte) of block `index` through its page (ext4_block_zero_page_range, as
 * truncate's ext4_block_truncate_page and fallocate's partial blocks use it): the page is read in
 * when the block holds data, made dirty, and written back like any write. A hole needs nothing.
 * Caller holds i_mutex.
 */
export function zeroBlockBytes(v: Volume, ino: number, index: number, fromByte: number, toByte: number): void {
  assertInodeLocked(v, ino, 'zeroing part of a block');
  if (mapBlocks(v, ino, index) !== MAP_MAPPED) return; // a hole reads as zeros already
  const pblk = v.mapPblk;
  const unwritten = v.mapUnwritten;
  grabPage(v, ino, index, ino, grabbed);
  const p = grabbed.page;
  const lt = grabbed.lockToken;
  try {
    const frame = frameOf(v, p);
    if (!(pageFlags(v, p) & PG_UPTODATE)) {
      if (unwritten) v.frames.fill(0, frame, frame + BLOCK_SIZE);
      else v.dev.readBlocks(pblk, 1, v.frames, frame);
    }
    pageSeqBegin(v, p);
    v.frames.fill(0, frame + fromByte, frame + toByte);
    pageSeqEnd(v, p);
    setPagePblk(v, p, pblk);
    const old = setPageFlags(v, p, PG_UPTODATE | PG_DIRTY | (unwritten ? PG_UNINIT : 0));
    if (!(old & PG_DIRTY)) Atomics.add(v.i32, H_DIRTY_PAGES, 1);
  } finally {
    unlockPage(v, p, lt);
    putPage(v, p);
  }
}

/**
 * ext4_sync_file: write back the file's dirty pages (waiting for writeback in flight), drain its
 * completed list itself (flush_completed_IO: no double conversion with the worker, both hold the
 * inode mutex), make the data durable, then commit the metadata (invariants 2 and 6).
 * Model: model/dioread.pml fsync (docs/MODEL.md).
 */
export function fileSync(v: Volume, ino: number): void {
  if (Atomics.load(v.i32, H_READ_ONLY) === RO_OPTION) return; // nothing was written: nothing to make durable
  v.setOp(OP_SYNC);
  const tok = lockInode(v, ino);
  try {
    syncLocked(v, ino);
  } finally {
    unlockInode(v, ino, tok);
  }
}

/**
 * Close's per-file step: write back and convert, under the inode mutex; the commit comes after all
 * files (one transaction for the lot).
 */
export function writebackAndConvert(v: Volume, ino: number): void {
  v.setOp(OP_SYNC);
  const tok = lockInode(v, ino);
  try {
    writebackInode(v, ino);
    Atomics.add(v.i32, H_SYNC_CONVERSIONS, flushCompletedIO(v, ino));
  } finally {
    unlockInode(v, ino, tok);
  }
}

/**
 * The body of fsync, with the inode mutex held: every write of the file before it is then on the
 * device, converted and committed (invariant 6). The commit (transaction.ts) flushes the device
 * before it logs anything (ordered mode, invariant 2); when there is nothing to commit, or another
 * thread's commit already covered this file's changes, one flush that began after this file's
 * writes is still needed for the data: the flush counters tell whether one already finished.
 * Model: model/dioread.pml fsync S_writeback, S_flush, S_done; model/journal.pml writerB W_sync, W_commit (docs/MODEL.md).
 */
export function syncLocked(v: Volume, ino: number): void {
  writebackInode(v, ino);
  Atomics.add(v.i32, H_SYNC_CONVERSIONS, flushCompletedIO(v, ino));
  const mark = flushMark(v);
  commitUpTo(v, runningTid(v));
  if (!flushedSince(v, mark)) deviceFlush(v);
}

/** What stat() reports of an inode, in node:fs's units (blocks of 512 bytes, times in ms). */
export interface InodeAttrs {
  ino: number;
  mode: number;
  /** 1 while the file has its name, 0 once unlinked (an orphan still open). */
  nlink: number;
  size: number;
  /** 512-byte units, as st_blocks. */
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

/** getattr: a snapshot of the inode's attributes, no lock (each word is read once). */
export function inodeAttrs(v: Volume, ino: number): InodeAttrs {
  return {
    ino,
    mode: v.i32[inodeWord(v.layout, ino, I_MODE)],
    nlink: Atomics.load(v.i32, inodeWord(v.layout, ino, I_STATE)) !== INODE_USED ? 0 : (v.i32[inodeWord(v.layout, ino, I_MODE)] & 0o170000) === 0o040000 ? 2 : 1,
    size: getSize(v, ino),
    blocks: v.i32[inodeWord(v.layout, ino, I_BLOCKS)] * (BLOCK_SIZE / 512),
    atimeMs: getTime(v, ino, I_ATIME_LO),
    mtimeMs: getTime(v, ino, I_MTIME_LO),
    ctimeMs: getTime(v, ino, I_CTIME_LO),
    birthtimeMs: getTime(v, ino, I_BTIME_LO),
  };
}

/** The engine's view of one file's cache and conversion state (for tests, tools and profiles). */
export interface CacheState {
  ino: number;
  size: number;
  /** Blocks of 4 KiB allocated to the file. */
  blocks: number;
  extents: number;
  dirtyPages: number;
  cachedPages: number;
  /** io_ends on the inode's completed list, waiting for conversion. */
  pendingConversions: number;
}

export function fileCacheState(v: Volume, ino: number): CacheState {
  const pages = inodePages(v, ino, 0);
  let dirty = 0;
  for (const p of pages) if (pageFlags(v, p) & PG_DIRTY) dirty++;
  return {
    ino,
    size: getSize(v, ino),
    blocks: v.i32[inodeWord(v.layout, ino, I_BLOCKS)],
    extents: extentCount(v, ino),
    dirtyPages: dirty,
    cachedPages: pages.length,
    pendingConversions: Atomics.load(v.i32, inodeWord(v.layout, ino, I_COMPLETED_LEN)),
  };
}
