// The extent tree's structure: paths from the root to a leaf, inserting an entry (splitting full
// nodes, growing the tree in depth when the root is full), removing entries (freeing nodes that
// empty), and keeping every index key equal to the first logical block under it.
// ext4 counterpart: fs/ext4/extents.c — struct ext4_ext_path and ext4_find_extent,
// ext4_ext_insert_extent's ext4_ext_create_new_leaf (ext4_ext_split, ext4_ext_grow_indepth),
// ext4_ext_rm_leaf / ext4_ext_rm_idx, ext4_ext_correct_indexes, ext4_ext_next_leaf_block.
//
// Thread safety: every function that changes the tree runs with the inode's i_mutex held, inside a
// journal handle and an i_seq write section (extents.ts asserts it at its entry points); readers
// never use this module (extents.ts mapBlocks walks the tree itself, under the seqlock).
// Invariants (checked by checkTree, fsck's image-check.ts the same on disk):
// - A node holds 1..max entries (only the root may be empty, and then it is a leaf), sorted by lblk;
//   leaf entries never overlap; all leaves are at the same depth.
// - Index entry j's key is the first lblk of its child's subtree, so a lookup takes the last entry
//   whose key is <= lblk (or the first) and lands in the only leaf that can hold lblk.
// Containers: a node is addressed by its container id, ROOT (the inode's I_ROOT words) or a slot.

import { allocNode, dropNode, freeNode, markNodeDirty, nodesFor } from './extent-nodes.js';
import { InvariantError } from './errors.js';
import { EH_DEPTH, EH_ENTRIES, EH_MAX, E_LBLK, I_ROOT, MAX_TREE_DEPTH, NODE_HDR, X_LBLK, X_PBLK, X_SLOT, entryWord, inodeWord, nodeWord, N_PBLK } from './shm/layout.js';
import { markInodeDirty } from './transaction.js';
import type { Volume } from './volume.js';

/** The container id of the inode's root. */
export const ROOT = -1;

/** A path from the root (level 0) to a leaf (level depth): the container and the entry taken at each level. */
export class TreePath {
  depth = 0;
  readonly c = new Int32Array(MAX_TREE_DEPTH + 2);
  readonly i = new Int32Array(MAX_TREE_DEPTH + 2);
}

/** The array holding container `c` (the meta SAB for the root, the node SAB for a slot). */
export function arrOf(v: Volume, c: number): Int32Array {
  return c === ROOT ? v.i32 : nodesFor(v, c);
}
/** The word where container `c`'s header starts. */
export function hdrOf(v: Volume, ino: number, c: number): number {
  return c === ROOT ? inodeWord(v.layout, ino, I_ROOT) : nodeWord(c, NODE_HDR);
}
export function entriesOf(v: Volume, ino: number, c: number): number {
  return arrOf(v, c)[hdrOf(v, ino, c) + EH_ENTRIES];
}
export function treeDepth(v: Volume, ino: number): number {
  return v.i32[inodeWord(v.layout, ino, I_ROOT) + EH_DEPTH];
}
function dirty(v: Volume, ino: number, c: number): void {
  if (c === ROOT) markInodeDirty(v, ino);
  else markNodeDirty(v, ino, c);
}

/**
 * Last entry of the node at header `h` of `a` (n entries) whose lblk is <= lblk, -1 if none: a
 * binary search. Lockless readers call it too (extents.ts mapBlocks), with n bounds-checked.
 */
export function lastAtOrBefore(a: Int32Array, h: number, n: number, lblk: number): number {
  let lo = 0;
  let hi = n - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[entryWord(h, mid) + E_LBLK] <= lblk) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * ext4_find_extent: fill `p` with the way to the leaf that holds (or would hold) lblk. The leaf's
 * index is the last extent starting at or before lblk, -1 when lblk comes before all of the leaf.
 */
export function findPath(v: Volume, ino: number, lblk: number, p: TreePath): void {
  const depth = treeDepth(v, ino);
  if (depth < 0 || depth > MAX_TREE_DEPTH) throw new InvariantError(`extent tree of inode ${ino}: root depth ${depth}`);
  p.depth = depth;
  let c = ROOT;
  for (let level = 0; ; level++) {
    const a = arrOf(v, c);
    const h = hdrOf(v, ino, c);
    const n = a[h + EH_ENTRIES];
    p.c[level] = c;
    const at = lastAtOrBefore(a, h, n, lblk);
    if (level === depth) {
      p.i[level] = at;
      return;
    }
    if (n < 1) throw new InvariantError(`extent tree of inode ${ino}: empty index node ${c} at level ${level}`);
    p.i[level] = at < 0 ? 0 : at;
    c = a[entryWord(h, p.i[level]) + X_SLOT];
  }
}

/** Path to the leftmost (`last` false) or rightmost leaf below level `from` of `p`. */
function descend(v: Volume, ino: number, p: TreePath, from: number, last: boolean): void {
  for (let level = from; level < p.depth; level++) {
    const c = p.c[level];
    const a = arrOf(v, c);
    const h = hdrOf(v, ino, c);
    const at = p.i[level];
    p.c[level + 1] = a[entryWord(h, at) + X_SLOT];
    p.i[level + 1] = last ? entriesOf(v, ino, p.c[level + 1]) - 1 : 0;
  }
}

/** The path to the rightmost leaf, its index at its last entry (-1 for an empty tree). */
export function lastPath(v: Volume, ino: number, p: TreePath): void {
  p.depth = treeDepth(v, ino);
  p.c[0] = ROOT;
  p.i[0] = entriesOf(v, ino, ROOT) - 1;
  descend(v, ino, p, 0, true);
}

/** ext4_ext_next_leaf_block: move `p` to the next leaf's first entry; false at the last leaf. */
export function nextLeaf(v: Volume, ino: number, p: TreePath): boolean {
  for (let level = p.depth - 1; level >= 0; level--) {
    if (p.i[level] + 1 < entriesOf(v, ino, p.c[level])) {
      p.i[level]++;
      descend(v, ino, p, level, false);
      return true;
    }
  }
  return false;
}

/**
 * ext4_ext_correct_indexes: entry 0 of the node at `level` changed its lblk; carry it up while the
 * path enters each node through its first entry.
 */
export function fixKeys(v: Volume, ino: number, p: TreePath, level: number): void {
  const c = p.c[level];
  if (entriesOf(v, ino, c) === 0) return;
  const first = arrOf(v, c)[entryWord(hdrOf(v, ino, c), 0) + E_LBLK];
  for (let up = level - 1; up >= 0; up--) {
    const pc = p.c[up];
    const a = arrOf(v, pc);
    const w = entryWord(hdrOf(v, ino, pc), p.i[up]) + X_LBLK;
    if (a[w] !== first) {
      a[w] = first;
      dirty(v, ino, pc);
    }
    if (p.i[up] !== 0) return;
  }
}

/** Nodes an insert at the leaf of `p` may need: one per full node from the leaf up, one more if the root is full. */
export function nodesForInsert(v: Volume, ino: number, p: TreePath): number {
  let need = 0;
  for (let level = p.depth; level >= 0; level--) {
    const c = p.c[level];
    const a = arrOf(v, c);
    const h = hdrOf(v, ino, c);
    if (a[h + EH_ENTRIES] < a[h + EH_MAX]) return need;
    need++;
  }
  return need; // the root was full too: one for the new level (counted), one per split below
}

/** A pool of nodes taken before a change, so a change either has all it needs or changes nothing. */
export class NodeReserve {
  readonly slots: number[] = [];
}

/**
 * Take `need` new nodes for inode `ino` (ext4_ext_split allocates all its blocks before it moves
 * an entry). False, with nothing taken, when the device has no block for one.
 */
export function reserveNodes(v: Volume, ino: number, need: number, r: NodeReserve): boolean {
  for (let k = 0; k < need; k++) {
    const slot = allocNode(v, ino, 0);
    if (slot < 0) {
      releaseNodes(v, ino, r);
      return false;
    }
    r.slots.push(slot);
  }
  return true;
}

/** Give back reserved nodes that a change did not use (never linked: they go straight back). */
export function releaseNodes(v: Volume, ino: number, r: NodeReserve): void {
  for (const slot of r.slots.splice(0)) dropNode(v, ino, slot);
}

function takeNode(v: Volume, ino: number, r: NodeReserve, depth: number): number {
  const slot = r.slots.pop();
  if (slot === undefined) throw new InvariantError(`extent tree of inode ${ino}: a split needs more nodes than were reserved`);
  const a = nodesFor(v, slot);
  a[nodeWord(slot, NODE_HDR + EH_DEPTH)] = depth;
  return slot;
}

/** Write entry `at` of container `c` from four words. */
function putEntry(a: Int32Array, h: number, at: number, w0: number, w1: number, w2: number, w3: number): void {
  const e = entryWord(h, at);
  a[e] = w0;
  a[e + 1] = w1;
  a[e + 2] = w2;
  a[e + 3] = w3;
}

/**
 * Insert an entry (four words) at index `at` of the node at `level` of `p`, splitting full nodes
 * with nodes from `r` (reserved by the caller with nodesForInsert + reserveNodes). `p` is stale
 * afterwards. Model of ext4_ext_insert_extent's ext4_ext_create_new_leaf.
 */
export function insertEntry(v: Volume, ino: number, p: TreePath, level: number, at: number, w0: number, w1: number, w2: number, w3: number, r: NodeReserve): void {
  const c = p.c[level];
  const a = arrOf(v, c);
  const h = hdrOf(v, ino, c);
  const n = a[h + EH_ENTRIES];
  if (at < 0 || at > n) throw new InvariantError(`extent tree of inode ${ino}: insert at ${at} of a node with ${n} entries`);
  if (n < a[h + EH_MAX]) {
    a.copyWithin(entryWord(h, at + 1), entryWord(h, at), entryWord(h, n));
    putEntry(a, h, at, w0, w1, w2, w3);
    a[h + EH_ENTRIES] = n + 1;
    dirty(v, ino, c);
    if (at === 0) fixKeys(v, ino, p, level);
    return;
  }
  if (level === 0) {
    growInDepth(v, ino, p, r);
    insertEntry(v, ino, p, 1, at, w0, w1, w2, w3, r);
    return;
  }
  splitAndInsert(v, ino, p, level, at, w0, w1, w2, w3, r);
}

/**
 * ext4_ext_grow_indepth: the root is full; move its entries into a new node and make the root an
 * index with one entry for it. `p` gains a level (the new node at level 1).
 */
function growInDepth(v: Volume, ino: number, p: TreePath, r: NodeReserve): void {
  if (p.depth >= MAX_TREE_DEPTH) throw new InvariantError(`extent tree of inode ${ino} would grow past depth ${MAX_TREE_DEPTH}`);
  const rootH = hdrOf(v, ino, ROOT);
  const i32 = v.i32;
  const n = i32[rootH + EH_ENTRIES];
  const slot = takeNode(v, ino, r, p.depth);
  const a = nodesFor(v, slot);
  const h = nodeWord(slot, NODE_HDR);
  a.set(i32.subarray(entryWord(rootH, 0), entryWord(rootH, n)), entryWord(h, 0));
  a[h + EH_ENTRIES] = n;
  const first = n > 0 ? a[entryWord(h, 0) + E_LBLK] : 0;
  i32.fill(0, entryWord(rootH, 0), entryWord(rootH, i32[rootH + EH_MAX]));
  putEntry(i32, rootH, 0, first, a[nodeWord(slot, N_PBLK)], slot, 0);
  i32[rootH + EH_ENTRIES] = 1;
  i32[rootH + EH_DEPTH] = p.depth + 1;
  markInodeDirty(v, ino);
  for (let level = p.depth; level >= 0; level--) {
    p.c[level + 1] = level === 0 ? slot : p.c[level];
    p.i[level + 1] = p.i[level];
  }
  p.c[0] = ROOT;
  p.i[0] = 0;
  p.depth++;
}

/**
 * ext4_ext_split: node at `level` (not the root) is full. Move its upper part to a new node, put
 * the entry in whichever half it belongs to, then link the new node into the parent (which may split
 * in turn). An insert past the last entry of the rightmost node starts an empty right node instead
 * of halving (files that grow at the end keep full leaves, as ext4 does).
 */
function splitAndInsert(v: Volume, ino: number, p: TreePath, level: number, at: number, w0: number, w1: number, w2: number, w3: number, r: NodeReserve): void {
  const c = p.c[level];
  const a = nodesFor(v, c);
  const h = hdrOf(v, ino, c);
  const n = a[h + EH_ENTRIES];
  const depth = a[h + EH_DEPTH];
  let rightmost = true;
  for (let up = level - 1; up >= 0; up--) if (p.i[up] + 1 < entriesOf(v, ino, p.c[up])) rightmost = false;
  const slot = takeNode(v, ino, r, depth);
  const b = nodesFor(v, slot);
  const rh = nodeWord(slot, NODE_HDR);
  if (at === n && rightmost) {
    putEntry(b, rh, 0, w0, w1, w2, w3);
    b[rh + EH_ENTRIES] = 1;
  } else {
    const m = n >> 1;
    b.set(a.subarray(entryWord(h, m), entryWord(h, n)), entryWord(rh, 0));
    a.fill(0, entryWord(h, m), entryWord(h, n));
    a[h + EH_ENTRIES] = m;
    b[rh + EH_ENTRIES] = n - m;
    dirty(v, ino, c);
    if (at <= m) {
      a.copyWithin(entryWord(h, at + 1), entryWord(h, at), entryWord(h, m));
      putEntry(a, h, at, w0, w1, w2, w3);
      a[h + EH_ENTRIES] = m + 1;
      if (at === 0) fixKeys(v, ino, p, level);
    } else {
      const k = at - m;
      b.copyWithin(entryWord(rh, k + 1), entryWord(rh, k), entryWord(rh, n - m));
      putEntry(b, rh, k, w0, w1, w2, w3);
      b[rh + EH_ENTRIES] = n - m + 1;
    }
  }
  markNodeDirty(v, ino, slot);
  const key = b[entryWord(rh, 0) + E_LBLK];
  insertEntry(v, ino, p, level - 1, p.i[level - 1] + 1, key, b[nodeWord(slot, N_PBLK)], slot, 0, r);
}

/**
 * ext4_ext_rm_leaf / ext4_ext_rm_idx: remove `k` entries from index `at` of the node at `level`.
 * A node below the root that empties is freed and its entry removed from its parent; a root that
 * empties becomes an empty leaf. `p` is stale afterwards when a node was freed.
 */
export function removeEntries(v: Volume, ino: number, p: TreePath, level: number, at: number, k: number): void {
  const c = p.c[level];
  const a = arrOf(v, c);
  const h = hdrOf(v, ino, c);
  const n = a[h + EH_ENTRIES];
  if (k < 1 || at < 0 || at + k > n) throw new InvariantError(`extent tree of inode ${ino}: remove [${at},+${k}) of a node with ${n} entries`);
  if (k === n && level > 0) {
    freeNode(v, ino, c);
    removeEntries(v, ino, p, level - 1, p.i[level - 1], 1);
    return;
  }
  a.copyWithin(entryWord(h, at), entryWord(h, at + k), entryWord(h, n));
  a.fill(0, entryWord(h, n - k), entryWord(h, n));
  a[h + EH_ENTRIES] = n - k;
  if (c === ROOT && n - k === 0) a[h + EH_DEPTH] = 0;
  dirty(v, ino, c);
  if (at === 0 && n - k > 0) fixKeys(v, ino, p, level);
}

/** Words of the leaf entry `p` points at: [array, first word]. */
export function leafEntry(v: Volume, ino: number, p: TreePath): [Int32Array, number] {
  const c = p.c[p.depth];
  return [arrOf(v, c), entryWord(hdrOf(v, ino, c), p.i[p.depth])];
}

/** Mark the leaf of `p` changed (an entry written in place); fixes keys when its first entry moved. */
export function leafChanged(v: Volume, ino: number, p: TreePath): void {
  dirty(v, ino, p.c[p.depth]);
  if (p.i[p.depth] === 0) fixKeys(v, ino, p, p.depth);
}

/**
 * Check inode `ino`'s tree in shared memory: headers, depths, order, keys, and count its extents.
 * Returns the problems (tests and the engine's self-check); `visit` sees every extent in order.
 */
export function checkTree(v: Volume, ino: number, visit: (lblk: number, len: number, pblk: number, flags: number) => void): string[] {
  const problems: string[] = [];
  const walk = (c: number, depth: number, key: number | null, where: string): void => {
    const a = arrOf(v, c);
    const h = hdrOf(v, ino, c);
    const n = a[h + EH_ENTRIES];
    if (a[h + EH_DEPTH] !== depth) problems.push(`${where}: depth ${a[h + EH_DEPTH]}, want ${depth}`);
    if (n < (c === ROOT ? 0 : 1) || n > a[h + EH_MAX]) problems.push(`${where}: ${n} entries of ${a[h + EH_MAX]}`);
    if (key !== null && n > 0 && a[entryWord(h, 0) + E_LBLK] !== key) problems.push(`${where}: first lblk ${a[entryWord(h, 0) + E_LBLK]}, its parent's key ${key}`);
    for (let j = 0; j < n; j++) {
      const e = entryWord(h, j);
      if (depth === 0) visit(a[e], a[e + 1], a[e + 2], a[e + 3]);
      else {
        const child = a[e + X_SLOT];
        if (child < 0 || nodesFor(v, child)[nodeWord(child, N_PBLK)] !== a[e + X_PBLK]) problems.push(`${where} entry ${j}: child slot ${child} does not hold block ${a[e + X_PBLK]}`);
        else walk(child, depth - 1, a[e + X_LBLK], `inode ${ino} node ${child}`);
      }
    }
  };
  walk(ROOT, treeDepth(v, ino), null, `inode ${ino} root`);
  return problems;
}

