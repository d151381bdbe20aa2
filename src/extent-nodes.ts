// The extent-tree node pool: shared-memory slots that hold the index and leaf nodes of every file's
// extent tree, each the image of one metadata block taken from the data area; and the per-inode
// list of nodes changed since the last commit.
// ext4 counterpart: the buffer heads of extent blocks (ext4_ext_new_meta_block, ext4_free_blocks of
// an index block with EXT4_FREE_BLOCKS_METADATA | EXT4_FREE_BLOCKS_FORGET, ext4_handle_dirty_metadata
// of an extent block), without a buffer cache: every node of every file stays in memory.
//
// Thread safety:
// - The pool (H_NODE_FREE_HEAD, H_NODE_SLOTS, H_NODES_IN_USE, a free slot's N_NEXT and N_OWNER, the
//   node SAB's growth) changes under alloc_lock, which is held for a list push or pop, never across
//   I/O. The node SAB only grows, so a slot index once valid stays a valid index for every thread;
//   each thread keeps a fixed-length view (V8 reads a length-tracking view of a growable buffer about
//   20x slower) and renews it when it meets a slot past its end.
// - A node in use is written only by the holder of its owner's i_mutex, inside a journal handle and
//   an i_seq write section; lockless readers walk it under the seqlock (extents.ts mapBlocks).
// - The dirty list (I_DIRTY_HEAD, N_NEXT, N_DIRTY of used slots) changes under the owner's i_mutex
//   inside a handle, or in the committer's barrier (no handle runs): transaction.ts copyDirty.
// Invariants: a slot is free (N_OWNER -1, on the free list) or owned by one inode; a node on a dirty
// list has N_DIRTY 1 and its owner's I_DIRTY_NODES counts it; a freed node is never on a dirty list.

import { allocBlocks, freeNodeBlock, unallocBlocks } from './alloc.js';
import { InvariantError } from './errors.js';
import {
  EH_DEPTH,
  EH_ENTRIES,
  EH_GENERATION,
  EH_MAX,
  H_ALLOC_LOCK,
  H_DIRTY_NODE_LIMIT,
  H_NODE_FREE_HEAD,
  H_NODE_SLOTS,
  H_NODES_IN_USE,
  I_DIRTY_HEAD,
  I_DIRTY_NODES,
  I_GENERATION,
  markMetaDirty,
  S_HANDLE,
  slotWord,
  LC_ALLOC,
  N_DIRTY,
  N_NEXT,
  N_OWNER,
  N_PBLK,
  NODE_BYTES,
  NODE_HDR,
  NODE_MAX_ENTRIES,
  NODE_WORDS,
  inodeWord,
  nodeWord,
} from './shm/layout.js';
import { spinLock, unlock } from './sync/lock.js';
import type { Volume } from './volume.js';

/** The node SAB grows by at least this many slots at a time (each growth is a syscall). */
const GROW_SLOTS = 256;

/** This thread's view of the node SAB, renewed when the buffer grew past it. */
export function nodesView(v: Volume): Int32Array {
  const sab = v.desc.nodes;
  if (v.nodes.length * 4 !== sab.byteLength) v.nodes = new Int32Array(sab, 0, sab.byteLength / 4);
  return v.nodes;
}

/** The view that holds slot `slot` (renewed if needed); a slot past the buffer is a broken invariant. */
export function nodesFor(v: Volume, slot: number): Int32Array {
  if ((slot + 1) * NODE_WORDS <= v.nodes.length) return v.nodes;
  const n = nodesView(v);
  if (slot < 0 || (slot + 1) * NODE_WORDS > n.length) throw new InvariantError(`extent-tree node pool: slot ${slot} is outside the ${n.length / NODE_WORDS} slots`);
  return n;
}

/**
 * A new, empty node of inode `ino` at `depth` (ext4_ext_new_meta_block): a block from the top of
 * the device (alloc.ts allocDown: away from where data grows) and a slot of the pool, put on the inode's dirty list. Returns the slot, or -1 when
 * no block is free. Caller holds i_mutex, is in a handle and an i_seq write section.
 */
export function allocNode(v: Volume, ino: number, depth: number): number {
  if (v.faultNoTreeNodes) return -1;
  const a = allocBlocks(v, -1, 1, v.firstDataBlock, true);
  if (a.count === 0) return -1;
  const i32 = v.i32;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  let slot: number;
  try {
    slot = i32[H_NODE_FREE_HEAD];
    if (slot >= 0) i32[H_NODE_FREE_HEAD] = nodesFor(v, slot)[nodeWord(slot, N_NEXT)];
    else if (i32[H_NODE_SLOTS] < v.layout.nodeSlotsMax) {
      slot = i32[H_NODE_SLOTS];
      growFor(v, slot);
      i32[H_NODE_SLOTS] = slot + 1;
    }
    if (slot >= 0) i32[H_NODES_IN_USE]++;
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
  if (slot < 0) {
    unallocBlocks(v, a.pblk, 1); // never recorded as anyone's
    return -1;
  }
  const n = nodesFor(v, slot);
  const base = nodeWord(slot, 0);
  n.fill(0, base, base + NODE_WORDS);
  n[base + N_PBLK] = a.pblk;
  n[base + N_OWNER] = ino;
  n[base + N_NEXT] = -1;
  n[base + NODE_HDR + EH_ENTRIES] = 0;
  n[base + NODE_HDR + EH_MAX] = NODE_MAX_ENTRIES;
  n[base + NODE_HDR + EH_DEPTH] = depth;
  n[base + NODE_HDR + EH_GENERATION] = i32[inodeWord(v.layout, ino, I_GENERATION)];
  markNodeDirty(v, ino, slot);
  return slot;
}

/** Grow the node SAB so it holds slot `slot` (under alloc_lock). */
function growFor(v: Volume, slot: number): void {
  if (growPool(v.desc.nodes, slot)) nodesView(v);
}

/**
 * Grow the node SAB (by a quarter, at least GROW_SLOTS slots) so it holds slot `slot`; true when it
 * grew. Caller holds alloc_lock, or is the mount before any other thread attaches.
 */
function growPool(sab: SharedArrayBuffer, slot: number): boolean {
  const need = (slot + 1) * NODE_BYTES;
  if (sab.byteLength >= need) return false;
  const want = Math.min(sab.maxByteLength, Math.max(need, sab.byteLength + GROW_SLOTS * NODE_BYTES, sab.byteLength * 1.25));
  sab.grow(Math.ceil(want / NODE_BYTES) * NODE_BYTES);
  return true;
}

/**
 * Free node `slot` of inode `ino` (ext4_free_blocks with EXT4_FREE_BLOCKS_METADATA | FORGET): off the
 * dirty list, back to the pool, and its block pending free and then held until the journal's next
 * reset (alloc.ts freeNodeBlock: the log may still hold an image of it that a replay would write
 * over whatever the block holds next). Lockless readers that still walk the slot are caught by the
 * inode's sequence. Caller holds i_mutex, is in a handle and an i_seq write section.
 */
export function freeNode(v: Volume, ino: number, slot: number): void {
  const n = nodesFor(v, slot);
  const base = nodeWord(slot, 0);
  if (n[base + N_OWNER] !== ino) throw new InvariantError(`extent-tree node pool: slot ${slot} freed by inode ${ino} but owned by ${n[base + N_OWNER]}`);
  if (n[base + N_DIRTY] !== 0) unlinkDirty(v, ino, slot);
  freeNodeBlock(v, n[base + N_PBLK]);
  putSlot(v, slot);
}

/**
 * Give back a node allocated in this handle and never linked into the tree (a split reserved more
 * than it used): its block was never recorded anywhere, so it is free at once, not pending.
 */
export function dropNode(v: Volume, ino: number, slot: number): void {
  const n = nodesFor(v, slot);
  const base = nodeWord(slot, 0);
  if (n[base + N_OWNER] !== ino) throw new InvariantError(`extent-tree node pool: slot ${slot} dropped by inode ${ino} but owned by ${n[base + N_OWNER]}`);
  if (n[base + N_DIRTY] !== 0) unlinkDirty(v, ino, slot);
  unallocBlocks(v, n[base + N_PBLK], 1);
  putSlot(v, slot);
}

/** Slot `slot` back on the free list. */
function putSlot(v: Volume, slot: number): void {
  const n = nodesFor(v, slot);
  const base = nodeWord(slot, 0);
  const i32 = v.i32;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    n[base + N_OWNER] = -1;
    n[base + N_NEXT] = i32[H_NODE_FREE_HEAD];
    i32[H_NODE_FREE_HEAD] = slot;
    i32[H_NODES_IN_USE]--;
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

/**
 * ext4_handle_dirty_metadata for an extent node: the next commit writes its block. Caller holds the
 * owner's i_mutex and is in a handle.
 */
export function markNodeDirty(v: Volume, ino: number, slot: number): void {
  const n = nodesFor(v, slot);
  const base = nodeWord(slot, 0);
  if (n[base + N_DIRTY] !== 0) return;
  // The change is in a handle (transaction.ts assertInHandle's check: this module sits below
  // transaction.ts), and the committer visits the inode.
  if (v.i32[slotWord(v.layout, v.slot, S_HANDLE)] === 0) throw new InvariantError(`extent-tree node ${slot} of inode ${ino} changed outside a journal handle (thread slot ${v.slot})`);
  markMetaDirty(v.i32, v.layout, ino);
  const head = inodeWord(v.layout, ino, I_DIRTY_HEAD);
  n[base + N_DIRTY] = 1;
  n[base + N_NEXT] = v.i32[head];
  v.i32[head] = slot;
  Atomics.add(v.i32, inodeWord(v.layout, ino, I_DIRTY_NODES), 1);
}

/** Take a dirty node off its owner's list (it is being freed). */
function unlinkDirty(v: Volume, ino: number, slot: number): void {
  const i32 = v.i32;
  const head = inodeWord(v.layout, ino, I_DIRTY_HEAD);
  let prev = -1;
  let at = i32[head];
  for (let steps = 0; at !== slot; steps++) {
    if (at < 0 || steps > v.layout.nodeSlotsMax) throw new InvariantError(`extent-tree dirty list of inode ${ino}: slot ${slot} is marked dirty but not on the list`);
    prev = at;
    at = nodesFor(v, at)[nodeWord(at, N_NEXT)];
  }
  const next = nodesFor(v, slot)[nodeWord(slot, N_NEXT)];
  if (prev < 0) i32[head] = next;
  else nodesFor(v, prev)[nodeWord(prev, N_NEXT)] = next;
  const n = nodesFor(v, slot);
  n[nodeWord(slot, N_DIRTY)] = 0;
  n[nodeWord(slot, N_NEXT)] = -1;
  Atomics.sub(i32, inodeWord(v.layout, ino, I_DIRTY_NODES), 1);
}

/** Dirty nodes inode `ino` may still take before its next change must wait for a commit. */
export function dirtyNodeRoom(v: Volume, ino: number): number {
  return v.i32[H_DIRTY_NODE_LIMIT] - Atomics.load(v.i32, inodeWord(v.layout, ino, I_DIRTY_NODES));
}

/**
 * Visit inode `ino`'s dirty nodes and take them off the list (the committer, in its barrier):
 * `take(pblk, words)` gets each node's block and its words from the node header on.
 */
export function takeDirtyNodes(v: Volume, ino: number, take: (pblk: number, words: Int32Array) => void): void {
  const i32 = v.i32;
  const head = inodeWord(v.layout, ino, I_DIRTY_HEAD);
  for (let slot = i32[head], steps = 0; slot >= 0; steps++) {
    if (steps > v.layout.nodeSlotsMax) throw new InvariantError(`extent-tree dirty list of inode ${ino} does not end`);
    const n = nodesFor(v, slot);
    const base = nodeWord(slot, 0);
    take(n[base + N_PBLK], n.slice(base + NODE_HDR, base + NODE_WORDS));
    const next = n[base + N_NEXT];
    n[base + N_DIRTY] = 0;
    n[base + N_NEXT] = -1;
    slot = next;
  }
  i32[head] = -1;
  Atomics.store(i32, inodeWord(v.layout, ino, I_DIRTY_NODES), 0);
}

/** Nodes in use now and the pool's high-water mark (statistics). */
export function nodePoolUse(v: Volume): { inUse: number; slots: number; bytes: number } {
  return { inUse: Atomics.load(v.i32, H_NODES_IN_USE), slots: Atomics.load(v.i32, H_NODE_SLOTS), bytes: v.desc.nodes.byteLength };
}

/**
 * Setup (mount, before other threads attach): a node of inode `ino` read from block `pblk`; `words`
 * are the block's words from the node header on. Returns its slot. Not on any dirty list.
 */
export function loadNode(v: { i32: Int32Array; nodes: Int32Array; desc: { nodes: SharedArrayBuffer } }, ino: number, pblk: number, words: Int32Array): number {
  const i32 = v.i32;
  const slot = i32[H_NODE_SLOTS];
  const sab = v.desc.nodes;
  if (growPool(sab, slot)) v.nodes = new Int32Array(sab, 0, sab.byteLength / 4);
  const base = nodeWord(slot, 0);
  v.nodes[base + N_PBLK] = pblk;
  v.nodes[base + N_OWNER] = ino;
  v.nodes[base + N_NEXT] = -1;
  v.nodes[base + N_DIRTY] = 0;
  v.nodes.set(words.subarray(0, NODE_WORDS - NODE_HDR), base + NODE_HDR);
  i32[H_NODE_SLOTS] = slot + 1;
  i32[H_NODES_IN_USE]++;
  return slot;
}
