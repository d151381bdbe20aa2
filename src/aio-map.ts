// The async direct read's view of the extent map and the page cache: one call that maps a logical
// block under the inode's extent seqcount and says how many blocks from it may be read from the
// device, and the seqcount check that follows the read. It goes through mapBlocksSeq / v.mapPblk /
// v.mapLen / v.mapUnwritten and inode.ts's uncachedRun only, so a change of the extent tree's
// shape (a tree) changes nothing here. Lock-free: it runs on the main thread.
// ext4 counterpart: the iomap_begin of a direct read (ext4_iomap_begin → ext4_map_blocks) with the
// extent status tree's seqcount (ext4's es_seq / the i_data_sem read side it replaces here).
import { findPage, hashWalkBegin, hashWalkValid } from './cache.js';
import { mapBlocksSeq } from './extents.js';
import { directReadValid, uncachedRun, unmapSeq } from './inode.js';
import type { Volume } from './volume.js';

/** A mapped run: `blocks` blocks from lblk on lie at pblk.. on the device (pblk < 0 or unwritten: they read as zeros). */
export interface DirectRun {
  /** The inode's extent seqcount when the mapping was read: pass it to runStillValid after the device read. */
  seq: number;
  /** The inode's unmap counter (I_UNMAP_SEQ), sampled before the mapping: what a WRITTEN run re-checks. */
  useq: number;
  pblk: number;
  unwritten: boolean;
  blocks: number;
}

/**
 * Map `lblk` of `ino` for a direct read of at most `maxBlocks` blocks. null when the main thread
 * must leave this block to a pool thread: the page cache holds it (or a hash chain moved during the
 * probe, so "not cached" cannot be trusted), or a writer holds the extent seqcount (mapBlocksSeq
 * returns -1 on a thread that may not wait). The run stops before the first later block the cache
 * holds, as readDirectSlow's does (a cached page may be newer than the device: invariant 9).
 */
export function mapDirectRun(v: Volume, ino: number, lblk: number, maxBlocks: number): DirectRun | null {
  const h = hashWalkBegin(v);
  if (findPage(v, ino, lblk) >= 0 || !hashWalkValid(v, h)) return null;
  const useq = unmapSeq(v, ino);
  const seq = mapBlocksSeq(v, ino, lblk);
  if (seq < 0) return null;
  const pblk = v.mapPblk;
  const unwritten = v.mapUnwritten;
  const blocks = uncachedRun(v, ino, lblk, Math.min(Math.max(1, v.mapLen), maxBlocks));
  return { seq, useq, pblk, unwritten, blocks };
}

/**
 * After the device read: the mapping still holds (else the bytes may be another file's: read
 * again). A WRITTEN run re-checks only the unmap counter, a hole or UNWRITTEN run the extent
 * seqcount, as readDirectSlow does (inode.ts directReadValid).
 */
export function runStillValid(v: Volume, ino: number, run: DirectRun): boolean {
  return directReadValid(v, ino, run.pblk >= 0 && !run.unwritten, run.seq, run.useq);
}
