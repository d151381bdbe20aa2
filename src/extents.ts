// Extents: the operations on a file's extent tree (lookup, insert, conversion of UNWRITTEN extents,
// truncate, punch hole, zero range), over the tree structure of extent-tree.ts.
// ext4 counterpart: fs/ext4/extents.c — ext4_ext_map_blocks' lookup, ext4_ext_insert_extent with
// its merges, ext4_ext_truncate / ext4_ext_remove_space, ext4_convert_unwritten_extents,
// ext4_ext_zeroout.
//
// Thread safety: writers (insert, convert, truncate) hold the inode mutex, are inside a journal
// handle (transaction.ts), and bracket their stores with the inode's seqlock (I_SEQ) write section.
// Every changed node goes on the inode's dirty list (extent-nodes.ts), so the next commit logs its
// block. Readers that do not hold the mutex (dioread_nolock reads, writeback) use `mapBlocksSeq`,
// which retries when the sequence moved.
// Invariants: extents of an inode are sorted by lblk, never overlap, have 1 <= len <= EXT_MAX_LEN;
// two neighbours in one leaf that are logically and physically contiguous with the same flag are
// merged (ext4 merges within a leaf too).

import { DioreadError, InvariantError } from './errors.js';
import {
  BLOCK_SIZE,
  PG_UPTODATE,
  EH_DEPTH,
  EH_ENTRIES,
  EH_MAX,
  E_FLAGS,
  E_LBLK,
  E_LEN,
  E_PBLK,
  EXT_MAX_LEN,
  EXT_UNWRITTEN,
  H_FREE_BLOCKS,
  I_EXTENT_COUNT,
  I_MUTEX,
  I_ROOT,
  I_SEQ,
  LC_I_MUTEX,
  MAX_TREE_DEPTH,
  NODE_HDR,
  NODE_MAX_ENTRIES,
  NODE_WORDS,
  OP_OTHER,
  LC_SEQLOCK,
  X_SLOT,
  entryWord,
  inodeWord,
  nodeWord,
} from './shm/layout.js';
import { accountAcquire, accountContention, assertHeld, assertSeqWriting, seqReadBegin, seqReadRetry, seqWriteBegin, seqWriteEnd } from './sync/lock.js';
import { inHandle, markInodeDirty, reserveTreeCredits } from './transaction.js';
import { dirtyNodeRoom, nodesView } from './extent-nodes.js';
import {
  NodeReserve,
  TreePath,
  checkTree,
  entriesOf,
  findPath,
  insertEntry,
  lastAtOrBefore,
  lastPath,
  leafChanged,
  leafEntry,
  nextLeaf,
  nodesForInsert,
  releaseNodes,
  removeEntries,
  reserveNodes,
  treeDepth,
} from './extent-tree.js';
import { findGetPage, frameOf, lockPage, pageFlags, pageIndex, pageIno, putPage, unlockPage } from './cache.js';
import type { Volume } from './volume.js';

/** ext4's BUG_ON(!inode_is_locked(inode)): the calling thread holds inode `ino`'s i_mutex. */
export function assertInodeLocked(v: Volume, ino: number, what: string): void {
  assertHeld(v, inodeWord(v.layout, ino, I_MUTEX), LC_I_MUTEX, `${what} of inode ${ino}`);
}

/** The extents (or i_size) of `ino` change only under i_mutex inside an I_SEQ write section. */
export function assertExtentWriter(v: Volume, ino: number, what: string): void {
  assertInodeLocked(v, ino, what);
  assertSeqWriting(v.i32, inodeWord(v.layout, ino, I_SEQ), `${what} of inode ${ino}`);
}

/**
 * A change of inode `ino`'s extent map, as every writer of the tree makes it: commit first if the
 * inode's dirty nodes are at what one transaction takes (reserveTreeCredits), then `change` inside
 * a journal handle and the inode's seqlock write section, the inode marked dirty. Caller holds the
 * inode's i_mutex (and no other lock). Returns what `change` returns.
 */
export function changeExtents<T>(v: Volume, ino: number, change: () => T): T {
  reserveTreeCredits(v, ino);
  return inHandle(v, ino, () => {
    const seq = inodeWord(v.layout, ino, I_SEQ);
    seqWriteBegin(v.i32, seq);
    try {
      const r = change();
      markInodeDirty(v, ino);
      return r;
    } finally {
      seqWriteEnd(v.i32, seq);
    }
  });
}

/** No extent maps the block; mapLen is the hole's length up to the next extent. */
export const MAP_HOLE = 0;
export const MAP_MAPPED = 1;
/** mapLen for a hole with no extent after it. */
export const HOLE_TO_END = 0x7fffffff;

/**
 * Look up `lblk` (caller holds i_mutex, or validates with the seqlock): ext4_find_extent's walk from
 * the root in the inode through index nodes to a leaf. Sets v.mapPblk, v.mapLen (blocks from lblk to
 * the end of the extent or hole) and v.mapUnwritten. A lockless reader may meet a node that is being
 * split or was freed under it: every word it follows is bounds-checked, and what it then returns is
 * thrown away by its sequence check.
 * Model: model/dioread.pml inline map_blocks_seq (docs/MODEL.md).
 */
export function mapBlocks(v: Volume, ino: number, lblk: number): number {
  let a = v.i32;
  let h = inodeWord(v.layout, ino, I_ROOT);
  let depth = a[h + EH_DEPTH];
  if (depth > MAX_TREE_DEPTH) depth = 0; // torn: the sequence check rejects what follows
  let nextKey = HOLE_TO_END; // first lblk after the subtree we are in (the hole's end)
  for (;;) {
    let n = a[h + EH_ENTRIES];
    if (n < 0 || n > a[h + EH_MAX] || n > NODE_MAX_ENTRIES) n = 0;
    const found = lastAtOrBefore(a, h, n, lblk);
    if (found + 1 < n) nextKey = a[entryWord(h, found + 1) + E_LBLK];
    if (depth === 0) return mapLeaf(v, a, h, found, lblk, nextKey);
    const slot = a[entryWord(h, found < 0 ? 0 : found) + X_SLOT];
    if (n === 0 || slot < 0 || slot >= v.layout.nodeSlotsMax) return tornHole(v);
    a = (slot + 1) * NODE_WORDS <= v.nodes.length ? v.nodes : nodesView(v);
    if ((slot + 1) * NODE_WORDS > a.length) return tornHole(v);
    h = nodeWord(slot, NODE_HDR);
    depth--;
  }
}

function mapLeaf(v: Volume, a: Int32Array, h: number, found: number, lblk: number, nextKey: number): number {
  if (found >= 0) {
    const e = entryWord(h, found);
    const start = a[e + E_LBLK];
    const len = a[e + E_LEN];
    if (lblk < start + len) {
      v.mapPblk = a[e + E_PBLK] + (lblk - start);
      v.mapLen = start + len - lblk;
      v.mapUnwritten = (a[e + E_FLAGS] & EXT_UNWRITTEN) !== 0;
      return MAP_MAPPED;
    }
  }
  v.mapPblk = -1;
  v.mapUnwritten = false;
  v.mapLen = nextKey === HOLE_TO_END ? HOLE_TO_END : nextKey - lblk;
  if (v.mapLen <= 0) v.mapLen = 1; // torn read; the seqlock check will reject it
  return MAP_HOLE;
}

/** What a reader that met a torn tree returns: a one-block hole (its sequence check retries). */
function tornHole(v: Volume): number {
  v.mapPblk = -1;
  v.mapUnwritten = false;
  v.mapLen = 1;
  return MAP_HOLE;
}

/**
 * Look up `lblk` without the inode mutex, under the inode's seqlock. Returns the sequence seen.
 * Model: model/dioread.pml inline map_blocks_seq (and fill_page's second mapping) (docs/MODEL.md).
 */
export function mapBlocksSeq(v: Volume, ino: number, lblk: number): number {
  const word = inodeWord(v.layout, ino, I_SEQ);
  accountAcquire(v, LC_SEQLOCK);
  for (let tries = 0; ; tries++) {
    const s = seqReadBegin(v, word, LC_SEQLOCK, inodeWord(v.layout, ino, I_MUTEX));
    if (s < 0) return -1; // main thread, writer active: caller falls back
    mapBlocks(v, ino, lblk);
    if (!seqReadRetry(v.i32, word, s)) return s;
    accountContention(v, LC_SEQLOCK, OP_OTHER);
    if (tries > 1_000_000) throw new InvariantError(`extent seqlock of inode ${ino} kept moving for 1e6 retries`);
  }
}

export function extentCount(v: Volume, ino: number): number {
  return v.i32[inodeWord(v.layout, ino, I_EXTENT_COUNT)];
}

function addCount(v: Volume, ino: number, k: number): void {
  v.i32[inodeWord(v.layout, ino, I_EXTENT_COUNT)] += k;
}

/** The per-thread scratch path (writers hold i_mutex, so one thread changes one tree at a time). */
const scratch = new TreePath();
const scratch2 = new TreePath();
const reserve = new NodeReserve();

/** An extent's four words, read at a leaf path. */
interface Rec {
  lblk: number;
  len: number;
  pblk: number;
  flags: number;
}
function readRec(v: Volume, ino: number, p: TreePath): Rec {
  const [a, e] = leafEntry(v, ino, p);
  return { lblk: a[e + E_LBLK], len: a[e + E_LEN], pblk: a[e + E_PBLK], flags: a[e + E_FLAGS] };
}
function writeRec(v: Volume, ino: number, p: TreePath, lblk: number, len: number, pblk: number, flags: number): void {
  const [a, e] = leafEntry(v, ino, p);
  a[e + E_LBLK] = lblk;
  a[e + E_LEN] = len;
  a[e + E_PBLK] = pblk;
  a[e + E_FLAGS] = flags;
  leafChanged(v, ino, p);
}
function leafEntries(v: Volume, ino: number, p: TreePath): number {
  return entriesOf(v, ino, p.c[p.depth]);
}

/**
 * Put `p` on the first extent that ends after `lblk` (its leaf index may have to move to the next
 * leaf). False when no extent ends after lblk.
 */
function seek(v: Volume, ino: number, lblk: number, p: TreePath): boolean {
  findPath(v, ino, lblk, p);
  const d = p.depth;
  if (p.i[d] >= 0) {
    const r = readRec(v, ino, p);
    if (r.lblk + r.len > lblk) return true;
  }
  p.i[d]++;
  if (p.i[d] < leafEntries(v, ino, p)) return true;
  return nextLeaf(v, ino, p);
}

/** The extent after the one `p` points at (false at the last). */
function step(v: Volume, ino: number, p: TreePath): boolean {
  p.i[p.depth]++;
  if (p.i[p.depth] < leafEntries(v, ino, p)) return true;
  return nextLeaf(v, ino, p);
}

/** The block after the file's last extent (0 with none): where its allocated blocks end. Caller holds i_mutex. */
export function extentsEnd(v: Volume, ino: number): number {
  const p = scratch;
  lastPath(v, ino, p);
  if (p.i[p.depth] < 0) return 0;
  const r = readRec(v, ino, p);
  return r.lblk + r.len;
}

/** Can these two extents merge (ext4_can_extents_be_merged)? */
function canMerge(x: Rec, y: Rec): boolean {
  return x.flags === y.flags && x.lblk + x.len === y.lblk && x.pblk + x.len === y.pblk && x.len + y.len <= EXT_MAX_LEN;
}

/**
 * ext4_ext_try_to_merge within a leaf: merge the extent at index `at` of the leaf of `p` with the one
 * after it when they fit together. Returns true if merged (`p` may then be stale).
 */
function tryMergeNext(v: Volume, ino: number, p: TreePath, at: number): boolean {
  const d = p.depth;
  if (at < 0 || at + 1 >= leafEntries(v, ino, p)) return false;
  p.i[d] = at;
  const x = readRec(v, ino, p);
  p.i[d] = at + 1;
  const y = readRec(v, ino, p);
  if (!canMerge(x, y)) return false;
  p.i[d] = at;
  writeRec(v, ino, p, x.lblk, x.len + y.len, x.pblk, x.flags);
  removeEntries(v, ino, p, d, at + 1, 1);
  addCount(v, ino, -1);
  return true;
}

/** Nodes a change that makes `inserts` new extents may take (each may split every level and grow the root). */
function nodesForInserts(v: Volume, ino: number, inserts: number): number {
  return inserts * (treeDepth(v, ino) + 2);
}

/**
 * Insert the extent [lblk, +len) -> pblk as entry `at` of the leaf `p` leads to, taking the nodes a
 * split needs first. False (nothing changed) when the device has no block for a node.
 */
function insertRecAt(v: Volume, ino: number, p: TreePath, at: number, lblk: number, len: number, pblk: number, flags: number): boolean {
  const need = nodesForInsert(v, ino, p);
  if (need > 0 && !reserveNodes(v, ino, need, reserve)) return false;
  try {
    insertEntry(v, ino, p, p.depth, at, lblk, len, pblk, flags, reserve);
  } finally {
    releaseNodes(v, ino, reserve);
  }
  addCount(v, ino, 1);
  return true;
}

/**
 * Insert a new extent [lblk, lblk+len) -> pblk over a hole (ext4_ext_insert_extent). Caller holds
 * i_mutex and is inside the inode's seqlock write section. Returns false (nothing changed) when the
 * tree must grow and the device has no block for the node.
 * Model: model/dioread.pml writer W_map; model/journal.pml writerB W_insert (docs/MODEL.md).
 */
export function insertExtent(v: Volume, ino: number, lblk: number, len: number, pblk: number, unwritten: boolean): boolean {
  assertExtentWriter(v, ino, 'extent insert');
  if (!(len >= 1 && len <= EXT_MAX_LEN)) throw new InvariantError(`extent tree of inode ${ino}: insert of length ${len}`);
  const flags = unwritten ? EXT_UNWRITTEN : 0;
  const p = scratch;
  findPath(v, ino, lblk, p);
  const d = p.depth;
  const at = p.i[d]; // the last extent starting at or before lblk, -1 if none in this leaf
  const n = leafEntries(v, ino, p);
  if (at >= 0) {
    const prev = readRec(v, ino, p);
    if (prev.lblk + prev.len > lblk) throw new InvariantError(`extent tree of inode ${ino}: insert [${lblk},+${len}) overlaps the extent at lblk ${prev.lblk}`);
  }
  if (at + 1 < n) {
    p.i[d] = at + 1;
    const next = readRec(v, ino, p);
    if (next.lblk < lblk + len) throw new InvariantError(`extent tree of inode ${ino}: insert [${lblk},+${len}) overlaps the extent at lblk ${next.lblk}`);
  }
  // Try to grow the neighbour before it in place first (no new entry).
  if (at >= 0) {
    p.i[d] = at;
    const prev = readRec(v, ino, p);
    if (canMerge(prev, { lblk, len, pblk, flags })) {
      writeRec(v, ino, p, prev.lblk, prev.len + len, prev.pblk, flags);
      tryMergeNext(v, ino, p, at);
      return true;
    }
  }
  if (!insertRecAt(v, ino, p, at + 1, lblk, len, pblk, flags)) return false;
  findPath(v, ino, lblk, p);
  tryMergeNext(v, ino, p, p.i[p.depth]);
  return true;
}

/**
 * ext4_convert_unwritten_extents: mark [lblk, lblk+count) written, splitting unwritten extents at
 * the range's edges and merging afterwards. Caller holds i_mutex inside the seqlock write section.
 * Blocks of the range that are holes (truncated away) are skipped. Returns the lblk it got to: the
 * range's end, or less when the inode's dirty nodes reached what one transaction takes (the caller
 * commits and goes on from there), or -1 when a split found no block for a node (nothing of that
 * extent changed; the caller zeroes out and converts whole extents instead).
 * Model: model/dioread.pml inline end_io_nolock; model/journal.pml writerB W_convert (docs/MODEL.md).
 */
export function convertUnwrittenExtents(v: Volume, ino: number, lblk: number, count: number): number {
  assertExtentWriter(v, ino, 'conversion');
  return retagExtents(v, ino, lblk, count, 0);
}

/**
 * The reverse, for fallocate's zero range (ext4_zero_range with EXT4_GET_BLOCKS_CONVERT_UNWRITTEN):
 * mark the written blocks of [lblk, lblk+count) UNWRITTEN, so they read as zeros without a write.
 * Caller holds i_mutex inside the seqlock write section, with no dirty page or pending io_end in
 * the range (it wrote back and converted it first). Holes are skipped. Returns as
 * convertUnwrittenExtents does.
 */
export function markUnwrittenExtents(v: Volume, ino: number, lblk: number, count: number): number {
  assertExtentWriter(v, ino, 'zero range');
  return retagExtents(v, ino, lblk, count, EXT_UNWRITTEN);
}

/**
 * Give the blocks of [lblk, lblk+count) the flags `to` (EXT_UNWRITTEN or 0), splitting the extents
 * that stick out of the range and merging afterwards. Extents already so are skipped.
 */
function retagExtents(v: Volume, ino: number, lblk: number, count: number, to: number): number {
  const from = to ^ EXT_UNWRITTEN;
  const end = lblk + count;
  const p = scratch;
  let at = lblk;
  while (at < end && seek(v, ino, at, p)) {
    const r = readRec(v, ino, p);
    if (r.lblk >= end) break;
    if ((r.flags & EXT_UNWRITTEN) !== from) {
      at = r.lblk + r.len;
      continue;
    }
    if (dirtyNodeRoom(v, ino) <= 0) return at; // the caller commits (reserveTreeCredits), then goes on
    const a = Math.max(r.lblk, at);
    const b = Math.min(r.lblk + r.len, end);
    if (!retagOne(v, ino, p, r, a, b, to)) return -1;
    at = b;
  }
  return end;
}

/** Retag [a, b) of extent `r` (at `p`): up to two new extents for the parts outside, then merges. */
function retagOne(v: Volume, ino: number, p: TreePath, r: Rec, a: number, b: number, to: number): boolean {
  const head = a > r.lblk;
  const tail = b < r.lblk + r.len;
  // Every node both inserts may need is taken first: the second insert must not fail after the
  // first changed the tree (the first may deepen it, hence the bound for the second).
  const need = head || tail ? nodesForInsert(v, ino, p) + (head && tail ? treeDepth(v, ino) + 2 : 0) : 0;
  if (need > 0 && !reserveNodes(v, ino, need, reserve)) return false;
  try {
    const idx = p.i[p.depth];
    if (tail) {
      insertEntry(v, ino, p, p.depth, idx + 1, b, r.lblk + r.len - b, r.pblk + (b - r.lblk), r.flags, reserve);
      addCount(v, ino, 1);
      findPath(v, ino, r.lblk, p);
    }
    if (head) {
      writeRec(v, ino, p, r.lblk, a - r.lblk, r.pblk, r.flags);
      insertEntry(v, ino, p, p.depth, p.i[p.depth] + 1, a, b - a, r.pblk + (a - r.lblk), to, reserve);
      addCount(v, ino, 1);
    } else writeRec(v, ino, p, a, b - a, r.pblk, to);
  } finally {
    releaseNodes(v, ino, reserve);
  }
  // Merge the changed piece with its neighbours in the leaf.
  findPath(v, ino, a, p);
  const mid = p.i[p.depth];
  if (mid > 0 && tryMergeNext(v, ino, p, mid - 1)) findPath(v, ino, a, p);
  tryMergeNext(v, ino, p, p.i[p.depth]);
  return true;
}

/** Free blocks the allocator holds now (a conversion's splits may use the metadata reserve). */
function freeBlocksNow(v: Volume): number {
  return Atomics.load(v.i32, H_FREE_BLOCKS);
}

/**
 * Extra nodes converting [lblk, lblk+count) may need for its splits (at most 2 new extents per
 * unwritten extent it touches). Caller holds i_mutex.
 */
export function conversionNodes(v: Volume, ino: number, lblk: number, count: number): number {
  let inserts = 0;
  for (const [s, len] of unwrittenExtentsIn(v, ino, lblk, count)) inserts += (lblk > s ? 1 : 0) + (lblk + count < s + len ? 1 : 0);
  return nodesForInserts(v, ino, inserts);
}

/** Whether the device has the blocks `nodes` new tree nodes need. */
export function nodesAvailable(v: Volume, nodes: number): boolean {
  return nodes === 0 || freeBlocksNow(v) >= nodes;
}

/** The unwritten extents that [lblk, lblk+count) touches, as [lblk, len, pblk]. Caller holds i_mutex. */
export function unwrittenExtentsIn(v: Volume, ino: number, lblk: number, count: number): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  const p = scratch2;
  for (let ok = seek(v, ino, lblk, p); ok; ok = step(v, ino, p)) {
    const r = readRec(v, ino, p);
    if (r.lblk >= lblk + count) break;
    if (r.flags & EXT_UNWRITTEN) out.push([r.lblk, r.len, r.pblk]);
  }
  return out;
}

/**
 * Drop every block at or past `fromLblk` (ext4_ext_truncate / ext4_ext_remove_space), from the last
 * extent backwards, a leaf at a time; leaves that empty are freed. Calls `free(pblk, count)` for each
 * physical run released. Caller holds i_mutex inside the seqlock write section. Returns blocks
 * released.
 * Model: model/dioread.pml truncate T_unmap; model/journal.pml truncA T_unmap (docs/MODEL.md).
 */
export function truncateExtents(v: Volume, ino: number, fromLblk: number, free: (pblk: number, count: number) => void): number {
  assertExtentWriter(v, ino, 'extent truncate');
  const p = scratch;
  let released = 0;
  for (;;) {
    lastPath(v, ino, p);
    const d = p.depth;
    const last = p.i[d];
    if (last < 0) return released;
    // The extents of this leaf that start at or after fromLblk go whole.
    let k = 0;
    for (let j = last; j >= 0; j--) {
      p.i[d] = j;
      const r = readRec(v, ino, p);
      if (r.lblk < fromLblk) break;
      free(r.pblk, r.len);
      released += r.len;
      k++;
    }
    if (k > 0) {
      removeEntries(v, ino, p, d, last - k + 1, k);
      addCount(v, ino, -k);
      if (k === last + 1) continue; // the leaf emptied: go on with the one before it
      lastPath(v, ino, p);
    }
    p.i[d] = p.i[d] < 0 ? 0 : p.i[d];
    const r = readRec(v, ino, p);
    if (r.lblk + r.len > fromLblk) {
      const keep = fromLblk - r.lblk;
      free(r.pblk + keep, r.len - keep);
      released += r.len - keep;
      writeRec(v, ino, p, r.lblk, keep, r.pblk, r.flags);
    }
    return released;
  }
}

/**
 * Unmap [lblk, lblk+count) (fallocate's punch hole: ext4_ext_remove_space over a range, as
 * ext4_punch_hole calls it). Extents that stick out keep their outer parts; one that covers the
 * whole range splits in two, which may need a node (ENOSPC before any change when the device has
 * no block for it). Calls `free(pblk, count)` for each physical run released. Caller holds i_mutex
 * inside the seqlock write section. Returns blocks released.
 */
export function removeExtentRange(v: Volume, ino: number, lblk: number, count: number, free: (pblk: number, count: number) => void): number {
  assertExtentWriter(v, ino, 'punch hole');
  const end = lblk + count;
  const p = scratch;
  let released = 0;
  while (seek(v, ino, lblk, p)) {
    const r = readRec(v, ino, p);
    if (r.lblk >= end) break;
    if (r.lblk < lblk && r.lblk + r.len > end) {
      // Split: the tail becomes an extent of its own, then the head is cut short.
      if (!insertRecAt(v, ino, p, p.i[p.depth] + 1, end, r.lblk + r.len - end, r.pblk + (end - r.lblk), r.flags)) {
        throw new DioreadError('ENOSPC', `punch hole [${lblk},${end}) of inode ${ino}: no free block for the extent-tree node its split needs`);
      }
      findPath(v, ino, r.lblk, p);
      writeRec(v, ino, p, r.lblk, lblk - r.lblk, r.pblk, r.flags);
      free(r.pblk + (lblk - r.lblk), count);
      return released + count;
    }
    if (r.lblk < lblk) {
      const keep = lblk - r.lblk;
      free(r.pblk + keep, r.len - keep);
      released += r.len - keep;
      writeRec(v, ino, p, r.lblk, keep, r.pblk, r.flags);
      continue;
    }
    if (r.lblk + r.len > end) {
      const cut = end - r.lblk;
      free(r.pblk, cut);
      writeRec(v, ino, p, end, r.len - cut, r.pblk + cut, r.flags);
      return released + cut;
    }
    // Whole extents of this leaf inside the range go in one removal.
    const d = p.depth;
    const first = p.i[d];
    const n = leafEntries(v, ino, p);
    let k = 0;
    for (let j = first; j < n; j++) {
      p.i[d] = j;
      const x = readRec(v, ino, p);
      if (x.lblk + x.len > end) break;
      free(x.pblk, x.len);
      released += x.len;
      k++;
    }
    p.i[d] = first;
    removeEntries(v, ino, p, d, first, k);
    addCount(v, ino, -k);
  }
  return released;
}

/** Check the invariants of one inode's extents; returns the problems found (fsck, tests). */
export function checkExtents(v: Volume, ino: number, firstDataBlock: number, blockCount: number): string[] {
  let prevEnd = -1;
  let i = 0;
  const problems: string[] = [];
  const structure = checkTree(v, ino, (s, len, pblk, flags) => {
    if (len < 1 || len > EXT_MAX_LEN) problems.push(`inode ${ino} extent ${i}: length ${len}`);
    if (s < prevEnd) problems.push(`inode ${ino} extent ${i}: lblk ${s} overlaps the previous extent (ends ${prevEnd})`);
    if (pblk < firstDataBlock || pblk + len > blockCount) problems.push(`inode ${ino} extent ${i}: pblk ${pblk}+${len} outside data blocks ${firstDataBlock}..${blockCount - 1}`);
    if (flags & ~EXT_UNWRITTEN) problems.push(`inode ${ino} extent ${i}: unknown flags ${flags}`);
    prevEnd = s + len;
    i++;
  });
  problems.push(...structure);
  if (i !== extentCount(v, ino)) problems.push(`inode ${ino}: ${i} extents in the tree, the count says ${extentCount(v, ino)}`);
  return problems;
}

/** Every extent of inode `ino` in order, as [lblk, len, pblk, flags] (tests, statistics). Caller holds i_mutex or the engine is quiet. */
export function listExtents(v: Volume, ino: number): Array<[number, number, number, number]> {
  const out: Array<[number, number, number, number]> = [];
  checkTree(v, ino, (s, len, pblk, flags) => out.push([s, len, pblk, flags]));
  return out;
}
const ZERO_BLOCK = new Uint8Array(BLOCK_SIZE);

/**
 * ext4_ext_zeroout (EXT4_EXT_MAY_ZEROOUT) for a conversion that cannot split: make every block of
 * the unwritten extents that [lblk, lblk+count) touches hold, on the device, what a reader must see
 * there, so that the whole extents can be marked written. A cached page is written as it is (under
 * its page lock, which also waits out writeback in flight); an uncached block whose data another
 * queued io_end already put on the device is left alone; any other block gets zeros, as an
 * unwritten block reads. `queued` are the ranges other io_ends on the inode's completed list still
 * hold (page-io.ts queuedRanges). Caller holds the inode mutex (no write, truncate or conversion
 * runs), outside the seqlock write section (this does I/O). Returns the range to convert.
 */
export function extZeroout(v: Volume, ino: number, lblk: number, count: number, queued: Array<[number, number]>): [number, number] {
  assertInodeLocked(v, ino, 'zero-out');
  const end = lblk + count;
  let from = lblk;
  let to = end;
  for (const [s, len, pblk] of unwrittenExtentsIn(v, ino, lblk, count)) {
    from = Math.min(from, s);
    to = Math.max(to, s + len);
    for (let x = s; x < s + len; x++) {
      if (x >= lblk && x < end) continue; // this io_end's data is on the device
      if (writeCachedPage(v, ino, x, pblk + (x - s))) continue;
      if (queued.some(([l, c]) => x >= l && x < l + c)) continue;
      v.dev.writeMeta((pblk + (x - s)) * BLOCK_SIZE, ZERO_BLOCK); // buffered fd: any alignment
    }
  }
  return [from, to];
}

/** Write the cached, uptodate page of (ino, index) to `pblk` under its page lock; false if none. */
function writeCachedPage(v: Volume, ino: number, index: number, pblk: number): boolean {
  const p = findGetPage(v, ino, index);
  if (p < 0) return false;
  const lt = lockPage(v, p);
  try {
    if (pageIno(v, p) !== ino || pageIndex(v, p) !== index || !(pageFlags(v, p) & PG_UPTODATE)) return false;
    v.dev.writeBlocks(pblk, 1, v.frames, frameOf(v, p));
    return true;
  } finally {
    unlockPage(v, p, lt);
    putPage(v, p);
  }
}
