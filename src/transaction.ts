// The running transaction: handles around every metadata change, the dirty metadata they leave,
// and the commit that snapshots it at a barrier, writes it through the journal, checkpoints it in
// place and only then lets the blocks it freed be allocated again.
// ext4/jbd2 counterpart: jbd2_journal_start/stop with t_updates and T_LOCKED (fs/jbd2/transaction.c),
// jbd2_journal_commit_transaction (commit.c), ext4_handle_dirty_metadata, mballoc's freed extents
// released after the commit (ext4_free_data, ext4_process_freed_data), ext4_should_retry_alloc's
// forced commit, jbd2_journal_abort with errors=remount-ro.
//
// Thread safety and lock scope:
// - A handle (journalStart/journalStop) brackets each metadata change: extent and size changes,
//   allocation and freeing, times, inode creation. Inside a handle a thread takes only leaf locks
//   (alloc_lock, the seqlock write side) and never waits for anything a committer holds: no inode
//   mutex, no page lock, no io_end, no commit. Handles are counted in H_J_UPDATES; the slot's
//   S_HANDLE records the inode (a committer finds a thread that died inside a handle through it).
// - j_commit_mutex (H_J_COMMIT_LOCK) serializes commits: the snapshot, the log I/O, the checkpoint,
//   the release of freed blocks. Lock order: i_mutex > j_commit_mutex > (barrier) > alloc_lock.
//   A committer may hold one inode mutex (sync, a writer short of space); it never takes another.
// - The barrier (H_J_BARRIER, set by the committer) stops new handles; once H_J_UPDATES drains, the
//   committer copies every dirty inode record, its changed extent records and the changed bitmap
//   blocks — a consistent point of the whole metadata, as T_LOCKED gives jbd2 — and lifts the
//   barrier before any I/O. Readers never take handles: the read path is untouched.
//
// Invariants:
// - Ordered mode (DESIGN.md invariant 2): the flush between a transaction's log blocks and its
//   commit block also covers every data write that completed before the snapshot, so data whose
//   conversion the transaction records is durable before its commit block.
// - A block freed by a change (truncate) stays allocated (pending) until the commit that records the
//   change is durable: until then the image's extents still claim it, and handing it to another file
//   would let a crash show that file's bytes in this one (invariant 12, issue 7 bug 3).
// - A commit that does not fit one transaction is split at inode-table-block boundaries; each piece
//   carries the bitmap blocks (with the pending frees still set until the last piece), so the image's
//   bitmap always covers every extent the image holds, whatever piece a crash stops after.
// - Any failure to write the log, flush, or checkpoint aborts the journal: the engine turns read-only
//   (H_READ_ONLY = RO_ERRORS) and every later sync fails with EIO. Nothing is reported durable that
//   is not, and no error is followed by a success that hides it (the fsyncgate mistake).

import { DioreadError, InvariantError } from './errors.js';
import { BLOCK_SIZE, markMetaDirty } from './shm/layout.js';
import {
  BITS_PER_BITMAP_BLOCK,
  INODES_PER_BLOCK,
  DI_ROOT_WORDS,
  INODE_DISK_BYTES,
  MAGIC_BITMAP,
  MAGIC_INODES,
  MB_HEADER_BYTES,
  encodeInodeRecord,
  encodeNodeBlock,
  inodeRecordOffset,
  maxTransactionBlocks,
  sealBlock,
  type DiskInode,
} from './ondisk.js';
import { LOG_FIRST, transactionLogBlocks, writeJournalSuper, writeTransaction, type BlockWrite } from './journal.js';
import { DEAD_OWNER_CHECK_MS, SPINLOCK_SPINS, checkOwnerAlive, lock, spinLock, unlock } from './sync/lock.js';
import {
  H_ALLOC_LOCK,
  H_DIRTY_NODE_LIMIT,
  H_HELD_BLOCKS,
  H_FLUSH_DONE,
  H_FLUSH_STARTED,
  H_FREE_BLOCKS,
  H_J_ABORTED,
  H_J_BARRIER,
  H_J_COMMITS,
  H_J_COMMITTED_TID,
  H_J_COMMIT_LOCK,
  H_J_HEAD,
  H_J_LOGGED,
  H_J_RESETS,
  H_J_SEQ,
  H_J_START,
  H_J_TID,
  H_J_UPDATES,
  H_PENDING_FREE,
  H_POISONED,
  H_READ_ONLY,
  HANDLE_REAPED,
  I_ATIME_LO,
  I_BLOCKS,
  I_BTIME_LO,
  I_CTIME_LO,
  I_EXTENT_COUNT,
  I_GENERATION,
  I_META_DIRTY,
  I_MODE,
  I_MTIME_LO,
  I_NAME,
  I_NAME_LEN,
  I_PARENT,
  I_POISONED,
  I_ROOT,
  I_SIZE_HI,
  I_SIZE_LO,
  I_STATE,
  I_COUPLED,
  INODE_FREE,
  INODE_ORPHAN,
  INODE_EVICTING,
  INODE_WORDS,
  LC_ALLOC,
  LC_J_COMMIT,
  RO_ERRORS,
  S_HANDLE,
  S_STATE,
  SLOT_DEAD,
  bitmapBlockFirstWord,
  bitmapDirtyWord,
  bitmapWordAt,
  highFieldOf,
  pendingWordAt,
  heldWordAt,
  inodeWord,
  slotWord,
} from './shm/layout.js';
import { dirtyNodeRoom, takeDirtyNodes } from './extent-nodes.js';
import type { Volume } from './volume.js';

// ------------------------------------------------------------------------------------------------
// Handles
// ------------------------------------------------------------------------------------------------

/**
 * jbd2_journal_start: join the running transaction to change metadata of inode `ino` (-1: no
 * particular inode). Waits while a committer holds the barrier. Not on the main thread.
 * Model: model/journal.pml inline handle_start (docs/MODEL.md).
 */
export function journalStart(v: Volume, ino: number): void {
  const i32 = v.i32;
  const handleWord = slotWord(v.layout, v.slot, S_HANDLE);
  if (i32[handleWord] !== 0) throw new InvariantError(`journal handle: thread slot ${v.slot} starts a handle inside another (inode ${i32[handleWord] - 1})`);
  for (let waited = 0; ; ) {
    if (Atomics.load(i32, H_J_BARRIER) === 0) {
      Atomics.add(i32, H_J_UPDATES, 1);
      // Dekker with the committer (barrier store, then updates load): one of us sees the other.
      if (Atomics.load(i32, H_J_BARRIER) === 0) {
        i32[handleWord] = ino + 2; // 1 + (ino + 1): -1 (no inode) records as 1
        return;
      }
      if (Atomics.sub(i32, H_J_UPDATES, 1) === 1) Atomics.notify(i32, H_J_UPDATES);
    }
    if (!v.canBlock) throw new InvariantError('journal handle: the main thread may not wait for a commit barrier');
    // The barrier lasts a memory copy; spin first, then sleep, checking that the committer lives.
    for (let i = 0; i < SPINLOCK_SPINS && Atomics.load(i32, H_J_BARRIER) !== 0; i++);
    if (Atomics.wait(i32, H_J_BARRIER, 1, DEAD_OWNER_CHECK_MS) === 'timed-out') {
      waited += DEAD_OWNER_CHECK_MS;
      checkCommitterAlive(v, waited);
    }
  }
}

/**
 * jbd2_journal_stop.
 * Model: model/journal.pml inline handle_stop (docs/MODEL.md).
 */
export function journalStop(v: Volume): void {
  const i32 = v.i32;
  i32[slotWord(v.layout, v.slot, S_HANDLE)] = 0;
  if (Atomics.sub(i32, H_J_UPDATES, 1) === 1 && Atomics.load(i32, H_J_BARRIER) !== 0) Atomics.notify(i32, H_J_UPDATES);
}

/** A handle waiter whose committer died (inside its barrier) fails instead of waiting for ever. */
function checkCommitterAlive(v: Volume, waitedMs: number): void {
  checkOwnerAlive(v, H_J_COMMIT_LOCK, LC_J_COMMIT, waitedMs);
}

/**
 * Run `change` inside a handle on `ino`.
 * Model: model/journal.pml the handle_start .. handle_stop pairs of truncA and writerB (docs/MODEL.md).
 */
export function inHandle<T>(v: Volume, ino: number, change: () => T): T {
  journalStart(v, ino);
  try {
    return change();
  } finally {
    journalStop(v);
  }
}

function assertInHandle(v: Volume, what: string): void {
  if (v.i32[slotWord(v.layout, v.slot, S_HANDLE)] === 0) throw new InvariantError(`${what} outside a journal handle (thread slot ${v.slot})`);
}

/**
 * ext4_mark_inode_dirty: the inode's record goes into the running transaction. Caller is in a handle.
 * Model: model/journal.pml idirty[f] = 1 in the handles' changes (docs/MODEL.md).
 */
export function markInodeDirty(v: Volume, ino: number): void {
  assertInHandle(v, `inode ${ino} marked dirty`);
  markMetaDirty(v.i32, v.layout, ino);
}

/**
 * Before a change to inode `ino`'s extent tree: when the inode's dirty nodes are near what one
 * transaction piece takes (ondisk.ts dirtyNodeLimit), commit first, as jbd2 makes a handle wait when
 * the running transaction is out of credits. Caller holds the inode's i_mutex (and nothing else),
 * is not in a handle. Model: the tree nodes are model/journal.pml's edirty[f] blocks (docs/MODEL.md).
 */
export function reserveTreeCredits(v: Volume, ino: number): void {
  if (dirtyNodeRoom(v, ino) > 0) return;
  if (!v.canBlock) return; // the main thread never changes a tree (writes run in workers)
  commitNow(v);
}

// ------------------------------------------------------------------------------------------------
// Commit
// ------------------------------------------------------------------------------------------------

/** What the barrier copied: enough to build every block of the commit after the barrier lifts. */
interface Snapshot {
  tid: number;
  /** Inode-table block index → the shared-memory words of all its inodes (INODES_PER_BLOCK records). */
  inodeBlocks: Map<number, Int32Array>;
  /** Dirty inodes, by inode-table block index. */
  dirtyByBlock: Map<number, number[]>;
  /** Per dirty inode: its changed tree nodes, as [block, words from the node header on]. */
  nodes: Map<number, Array<[number, Int32Array]>>;
  /** Dirty bitmap blocks: allocation, pending-free and held bits (alloc.ts freeNodeBlock), 1020 words each. */
  bitmap: Map<number, { alloc: Int32Array; pending: Int32Array; held: Int32Array }>;
  /** Inodes a dead thread left inside a handle: their records come from the image, not memory. */
  poisoned: Set<number>;
  /** Inode-table block indexes that must travel in one piece (a rename's two records: I_COUPLED). */
  couples: Array<[number, number]>;
}

const BITMAP_WORDS_PER_BLOCK = BITS_PER_BITMAP_BLOCK / 32;

function aborted(v: Volume, where: string): DioreadError {
  return new DioreadError('EIO', `${where}: the journal was aborted after a metadata write or device flush failed; the engine is read-only (close it, fix the device, reopen: the journal replays what was committed)`);
}

/** Abort the journal: jbd2_journal_abort + ext4's errors=remount-ro. */
function abortJournal(v: Volume): void {
  Atomics.store(v.i32, H_J_ABORTED, 1);
  Atomics.store(v.i32, H_READ_ONLY, RO_ERRORS);
  Atomics.notify(v.i32, H_J_COMMITTED_TID);
}

export function journalAborted(v: Volume): boolean {
  return Atomics.load(v.i32, H_J_ABORTED) !== 0;
}

/**
 * The running transaction's id: changes made so far are durable once it has committed.
 * Model: model/journal.pml tid = jtid (writerB W_sync, other O_commit) (docs/MODEL.md).
 */
export function runningTid(v: Volume): number {
  return Atomics.load(v.i32, H_J_TID);
}

/**
 * Make transaction `tid` (and everything before it) durable: commit the running transaction unless
 * a commit since covered `tid` (group commit: concurrent syncs share one). Caller is not in a
 * handle; it may hold one inode mutex.
 * Model: model/journal.pml inline commit_up_to (docs/MODEL.md).
 */
export function commitUpTo(v: Volume, tid: number): void {
  if (journalAborted(v)) throw aborted(v, 'commit');
  if (Atomics.load(v.i32, H_J_COMMITTED_TID) >= tid) return;
  const tok = lock(v, H_J_COMMIT_LOCK, LC_J_COMMIT);
  try {
    if (journalAborted(v)) throw aborted(v, 'commit');
    if (Atomics.load(v.i32, H_J_COMMITTED_TID) >= tid) return;
    commitLocked(v);
  } finally {
    unlock(v, H_J_COMMIT_LOCK, LC_J_COMMIT, tok);
  }
}

/**
 * Commit whatever the running transaction holds now.
 * Model: model/journal.pml other O_commit, writerB's retry commit (docs/MODEL.md).
 */
export function commitNow(v: Volume): void {
  commitUpTo(v, runningTid(v));
}

/**
 * jbd2_journal_commit_transaction, with j_commit_mutex held: snapshot at the barrier, write the
 * pieces to the log (writeTransaction's flush before each commit block also makes the data durable:
 * ordered mode), checkpoint them in place, release the freed blocks. Any I/O failure aborts the
 * journal.
 * Model: model/journal.pml inline commit_locked, labels C_barrier..C_release (docs/MODEL.md).
 */
function commitLocked(v: Volume): void {
  const snap = takeSnapshot(v);
  try {
    // Ordered mode (invariant 2): writeTransaction flushes the device after the log blocks and
    // before the commit block, and that flush also covers every data write that completed before
    // this snapshot (a conversion is recorded only after its data write completed). One flush for
    // both, as jbd2 issues one before its commit block.
    for (const writes of buildPieces(v, snap)) logAndCheckpoint(v, writes);
  } catch (err) {
    abortJournal(v);
    throw new DioreadError('EIO', `journal commit of transaction ${snap.tid} failed (the engine is now read-only): ${(err as Error).message}`, { cause: err });
  }
  if (snap.poisoned.size === 0) releaseFrees(v, snap);
  else abortJournal(v); // a dead thread's half-made change: keep its blocks allocated, stop writing
  Atomics.add(v.i32, H_J_COMMITS, 1);
  Atomics.store(v.i32, H_J_COMMITTED_TID, snap.tid);
  Atomics.notify(v.i32, H_J_COMMITTED_TID);
}

/**
 * Raise the barrier, wait for the handles to drain, copy the dirty metadata, lower the barrier.
 * Model: model/journal.pml commit_locked C_barrier, C_drain, C_copy, C_copy_bitmap, C_lift (docs/MODEL.md).
 */
function takeSnapshot(v: Volume): Snapshot {
  const i32 = v.i32;
  Atomics.store(i32, H_J_BARRIER, 1);
  try {
    const poisoned = waitForHandles(v);
    const tid = i32[H_J_TID];
    Atomics.store(i32, H_J_TID, tid + 1);
    return copyDirty(v, tid, poisoned);
  } finally {
    Atomics.store(i32, H_J_BARRIER, 0);
    Atomics.notify(i32, H_J_BARRIER);
  }
}

/**
 * Wait until every live handle stopped. A handle held by a dead thread never stops: it is reaped
 * (discounted from H_J_UPDATES) and its inode poisoned. Returns the poisoned inodes.
 * Model: model/journal.pml commit_locked C_drain (docs/MODEL.md).
 */
function waitForHandles(v: Volume): Set<number> {
  const i32 = v.i32;
  const l = v.layout;
  const poisoned = new Set<number>();
  // O(maxFiles), so only when a dead thread ever poisoned an inode (H_POISONED counts them).
  if (Atomics.load(i32, H_POISONED) > 0) for (let ino = 0; ino < l.maxFiles; ino++) if (i32[inodeWord(l, ino, I_POISONED)] !== 0) poisoned.add(ino);
  for (let i = 0; ; i++) {
    const n = Atomics.load(i32, H_J_UPDATES);
    if (n === 0) return poisoned;
    if (n < 0) throw new InvariantError(`journal: ${n} handles in flight`);
    if (i < SPINLOCK_SPINS) continue;
    if (!v.canBlock) throw new InvariantError('journal commit on the main thread');
    if (Atomics.wait(i32, H_J_UPDATES, n, DEAD_OWNER_CHECK_MS) !== 'timed-out') continue;
    for (let s = 0; s < l.maxThreads; s++) {
      const h = Atomics.load(i32, slotWord(l, s, S_HANDLE));
      if (h > 0 && Atomics.load(i32, slotWord(l, s, S_STATE)) === SLOT_DEAD) {
        Atomics.store(i32, slotWord(l, s, S_HANDLE), HANDLE_REAPED);
        Atomics.sub(i32, H_J_UPDATES, 1);
        const ino = h - 2;
        if (ino >= 0) {
          Atomics.store(i32, inodeWord(l, ino, I_POISONED), 1);
          Atomics.add(i32, H_POISONED, 1);
          poisoned.add(ino);
        }
      }
    }
  }
}

/**
 * Inside the barrier: copy what the commit needs and mark it clean.
 * Model: model/journal.pml commit_locked C_copy, C_copy_bitmap (docs/MODEL.md).
 */
function copyDirty(v: Volume, tid: number, poisoned: Set<number>): Snapshot {
  const i32 = v.i32;
  const l = v.layout;
  const snap: Snapshot = { tid, inodeBlocks: new Map(), dirtyByBlock: new Map(), nodes: new Map(), bitmap: new Map(), poisoned, couples: [] };
  // The dirty summary (layout.ts markMetaDirty) names the inodes to visit, in ascending order; a
  // poisoned inode stays dirty, so its bit stays set. No handle runs now (the barrier): no set races.
  for (let w = 0; w < l.inodeDirtyWords; w++) {
    const sw = l.inodeDirtyBase + w;
    let bits = Atomics.load(i32, sw);
    if (bits === 0) continue;
    let keep = 0;
    for (; bits !== 0; bits &= bits - 1) {
      const bit = bits & -bits;
      const ino = w * 32 + (31 - Math.clz32(bit));
      if (visitDirty(v, snap, ino, poisoned)) keep |= bit;
    }
    Atomics.store(i32, sw, keep);
  }
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    for (let k = 0; k < l.bitmapBlocks; k++) {
      if (i32[bitmapDirtyWord(l, k)] === 0) continue;
      i32[bitmapDirtyWord(l, k)] = 0;
      const from = bitmapBlockFirstWord(k);
      const to = Math.min(bitmapBlockFirstWord(k + 1), l.bitmapWords);
      snap.bitmap.set(k, { alloc: i32.slice(bitmapWordAt(l, from), bitmapWordAt(l, to)), pending: i32.slice(pendingWordAt(l, from), pendingWordAt(l, to)), held: i32.slice(heldWordAt(l, from), heldWordAt(l, to)) });
    }
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
  return snap;
}

/**
 * Copy inode `ino` into the snapshot if it is dirty: its inode-table block, its dirty nodes, its
 * rename partner. Returns true when it stays dirty (poisoned: never committed).
 */
function visitDirty(v: Volume, snap: Snapshot, ino: number, poisoned: Set<number>): boolean {
  const i32 = v.i32;
  const l = v.layout;
  if (ino >= l.maxFiles) throw new InvariantError(`inode dirty summary: bit for inode ${ino} past maxFiles ${l.maxFiles}`);
  if (Atomics.load(i32, inodeWord(l, ino, I_META_DIRTY)) === 0) return false;
  const block = Math.floor(ino / INODES_PER_BLOCK);
  if (!snap.dirtyByBlock.has(block)) {
    snap.dirtyByBlock.set(block, []);
    const first = block * INODES_PER_BLOCK;
    const n = Math.min(INODES_PER_BLOCK, l.maxFiles - first);
    snap.inodeBlocks.set(block, i32.slice(inodeWord(l, first, 0), inodeWord(l, first, 0) + n * INODE_WORDS));
  }
  if (poisoned.has(ino)) return true; // stays dirty, never committed
  snap.dirtyByBlock.get(block)!.push(ino);
  Atomics.store(i32, inodeWord(l, ino, I_META_DIRTY), 0);
  const partner = i32[inodeWord(l, ino, I_COUPLED)];
  if (partner >= 0) {
    snap.couples.push([block, Math.floor(partner / INODES_PER_BLOCK)]);
    i32[inodeWord(l, ino, I_COUPLED)] = -1;
  }
  const nodes: Array<[number, Int32Array]> = [];
  takeDirtyNodes(v, ino, (pblk, words) => nodes.push([pblk, words]));
  if (nodes.length > 0) snap.nodes.set(ino, nodes);
  return false;
}

/**
 * The snapshot as transaction pieces of whole blocks, each within the journal's transaction size.
 * Model: model/journal.pml C_copy_bitmap and the image order of C_log (one piece) (docs/MODEL.md).
 */
function buildPieces(v: Volume, snap: Snapshot): BlockWrite[][] {
  const d = v.disk;
  if (snap.dirtyByBlock.size === 0 && snap.bitmap.size === 0) return [];
  // A piece is at most the largest a commit may need (every inode of a block at its dirty-node
  // limit); the test-only SPLIT_COMMITS makes every group a piece of its own.
  const maxLog = v.splitCommits ? 0 : maxTransactionBlocks(v.layout.maxFiles, v.i32[H_DIRTY_NODE_LIMIT], d.bitmapBlocks);
  const groups: BlockWrite[][] = [];
  for (const blocks of coupledGroups(snap)) {
    const writes: BlockWrite[] = [];
    for (const block of blocks) {
      writes.push([d.inodeTable + block, encodeInodeBlock(v, snap, block)]);
      for (const ino of snap.dirtyByBlock.get(block)!) for (const [pblk, words] of snap.nodes.get(ino) ?? []) writes.push([pblk, encodeNodeBlock(words, pblk, ino)]);
    }
    if (transactionLogBlocks(writes.length + snap.bitmap.size) > d.journalBlocks - 1) {
      throw new InvariantError(`journal: ${blocks.length} coupled inode-table blocks need ${writes.length} log blocks, more than the journal's ${d.journalBlocks}`);
    }
    groups.push(writes);
  }
  const bitmapFinal = [...snap.bitmap.keys()].sort((a, b) => a - b).map((k): BlockWrite => [d.bitmap + k, encodeBitmapBlock(v, snap, k, true)]);
  const bitmapKeep = [...snap.bitmap.keys()].sort((a, b) => a - b).map((k): BlockWrite => [d.bitmap + k, encodeBitmapBlock(v, snap, k, false)]);
  // Pack whole groups; every piece carries the bitmap, the last with the pending frees cleared.
  const pieces: BlockWrite[][] = [];
  let cur: BlockWrite[] = [];
  for (const g of groups) {
    if (cur.length > 0 && transactionLogBlocks(bitmapFinal.length + cur.length + g.length) > maxLog) {
      pieces.push(cur);
      cur = [];
    }
    cur.push(...g);
  }
  pieces.push(cur);
  // With a poisoned inode no free is committed at all (its image record may still claim the blocks).
  const last = snap.poisoned.size === 0 ? bitmapFinal : bitmapKeep;
  return pieces.map((p, i) => [...(i === pieces.length - 1 ? last : bitmapKeep), ...p]);
}

/**
 * The snapshot's dirty inode-table blocks in groups that must commit in one piece: each block alone,
 * except blocks a rename coupled (I_COUPLED), which are joined (union-find). In block order.
 */
function coupledGroups(snap: Snapshot): number[][] {
  const parent = new Map<number, number>();
  const find = (b: number): number => {
    let r = b;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(b, r);
    return r;
  };
  for (const b of snap.dirtyByBlock.keys()) parent.set(b, b);
  for (const [a, b] of snap.couples) {
    if (!parent.has(a) || !parent.has(b)) continue; // a partner poisoned or clean: nothing to join
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
  }
  const groups = new Map<number, number[]>();
  for (const b of [...snap.dirtyByBlock.keys()].sort((x, y) => x - y)) {
    const r = find(b);
    if (!groups.has(r)) groups.set(r, []);
    groups.get(r)!.push(b);
  }
  return [...groups.values()];
}

/** A DiskInode from an inode's shared-memory words (`w` starts at the inode's record). */
function diskInodeOf(w: Int32Array, at: number): DiskInode {
  const t = (lo: number) => w[at + highFieldOf(lo)] * 2 ** 32 + (w[at + lo] >>> 0);
  const nameLen = w[at + I_NAME_LEN];
  const nameBytes = new Uint8Array(w.buffer, w.byteOffset + (at + I_NAME) * 4, nameLen).slice();
  return {
    used: w[at + I_STATE] !== INODE_FREE,
    orphan: w[at + I_STATE] === INODE_ORPHAN || w[at + I_STATE] === INODE_EVICTING,
    generation: w[at + I_GENERATION] >>> 0,
    size: w[at + I_SIZE_HI] * 2 ** 32 + (w[at + I_SIZE_LO] >>> 0),
    extentCount: w[at + I_EXTENT_COUNT],
    root: w.slice(at + I_ROOT, at + I_ROOT + DI_ROOT_WORDS),
    blocks: w[at + I_BLOCKS],
    mode: w[at + I_MODE],
    atimeMs: t(I_ATIME_LO),
    mtimeMs: t(I_MTIME_LO),
    ctimeMs: t(I_CTIME_LO),
    birthtimeMs: t(I_BTIME_LO),
    nameBytes,
    parent: w[at + I_PARENT],
  };
}

/** Inode-table block `block` as the snapshot has it (a poisoned inode keeps its record on the image). */
function encodeInodeBlock(v: Volume, snap: Snapshot, block: number): Uint8Array {
  const d = v.disk;
  const out = new Uint8Array(BLOCK_SIZE);
  const words = snap.inodeBlocks.get(block)!;
  let onImage: Uint8Array | null = null;
  for (let k = 0; k * INODE_WORDS < words.length; k++) {
    const ino = block * INODES_PER_BLOCK + k;
    const at = inodeRecordOffset(ino);
    if (snap.poisoned.has(ino)) {
      if (onImage === null) {
        onImage = new Uint8Array(BLOCK_SIZE);
        v.dev.readMeta((d.inodeTable + block) * BLOCK_SIZE, onImage);
      }
      out.set(onImage.subarray(at, at + INODE_DISK_BYTES), at);
      continue;
    }
    encodeInodeRecord(out.subarray(at, at + INODE_DISK_BYTES), diskInodeOf(words, k * INODE_WORDS));
  }
  sealBlock(out, MAGIC_INODES, d.inodeTable + block, 0);
  return out;
}

/**
 * Bitmap block `k`: allocation bits, with the pending frees cleared when `clearPending`. Held node
 * blocks whose free an earlier commit recorded are free on disk (only memory keeps them set).
 */
function encodeBitmapBlock(v: Volume, snap: Snapshot, k: number, clearPending: boolean): Uint8Array {
  const { alloc, pending, held } = snap.bitmap.get(k)!;
  const words = new Int32Array(BITMAP_WORDS_PER_BLOCK);
  for (let i = 0; i < alloc.length; i++) words[i] = alloc[i] & ~(held[i] & ~pending[i]) & (clearPending ? ~pending[i] : -1);
  const img = new Uint8Array(BLOCK_SIZE);
  img.set(new Uint8Array(words.buffer), MB_HEADER_BYTES);
  sealBlock(img, MAGIC_BITMAP, v.disk.bitmap + k, 0);
  return img;
}

/**
 * Write one piece to the log (resetting the log when it does not fit), then in place.
 * Model: model/journal.pml commit_locked C_log_room, C_reset, C_log, C_checkpoint (docs/MODEL.md).
 */
function logAndCheckpoint(v: Volume, writes: BlockWrite[]): void {
  const i32 = v.i32;
  const d = v.disk;
  if (v.unsafeNoJournal) {
    // Test-only broken mode: in place, no log (dabf4be's metadata writes; issue 7 bug 2).
    for (const [target, image] of writes) v.dev.writeMeta(target * BLOCK_SIZE, image);
    deviceFlush(v);
    return;
  }
  const need = transactionLogBlocks(writes.length);
  let pos = i32[H_J_HEAD];
  const seq = i32[H_J_SEQ] >>> 0;
  if (pos + need > d.journalBlocks) {
    // jbd2's log wrap, simplified: make every checkpoint durable, then restart the log at its first
    // block. The superblock that names the new start (and sequence) must be durable before the
    // first block of the old log is overwritten (jbd2_journal_update_sb_log_tail writes it with
    // REQ_PREFLUSH | REQ_FUA): while the old superblock is what a crash finds, recovery scans the
    // old log from its start, and a new block that lands in the middle of it ends the scan there,
    // after it replayed an old prefix over newer checkpoints (found by model/journal.pml).
    deviceFlush(v);
    Atomics.add(i32, H_J_RESETS, 1);
    pos = LOG_FIRST;
    i32[H_J_START] = 0;
    if (!v.unsafeResetSuperUnflushed) {
      writeJournalSuper(v.dev, d, { blocks: d.journalBlocks, sequence: seq, start: pos });
      i32[H_J_START] = pos;
      deviceFlush(v);
      releaseHeld(v);
    }
  }
  if (i32[H_J_START] === 0) {
    writeJournalSuper(v.dev, d, { blocks: d.journalBlocks, sequence: seq, start: pos });
    i32[H_J_START] = pos;
  }
  countFlushes(v, () => {
    i32[H_J_HEAD] = writeTransaction(v.dev, d, pos, seq, writes);
  });
  i32[H_J_SEQ] = (seq + 1) | 0;
  Atomics.add(i32, H_J_LOGGED, writes.length);
  for (const [target, image] of writes) v.dev.writeMeta(target * BLOCK_SIZE, image); // checkpoint
}

/**
 * After the commit is durable: the blocks its changes freed may be allocated again.
 * Model: model/journal.pml commit_locked C_release (docs/MODEL.md).
 */
function releaseFrees(v: Volume, snap: Snapshot): void {
  const i32 = v.i32;
  const l = v.layout;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    let freed = 0; // allocatable again
    let released = 0; // no longer pending (held node blocks among them)
    for (const [k, { pending }] of snap.bitmap) {
      const base = bitmapBlockFirstWord(k);
      for (let i = 0; i < pending.length; i++) {
        const bits = pending[i];
        if (bits === 0) continue;
        const pw = pendingWordAt(l, base + i);
        if ((i32[pw] & bits) !== bits) throw new InvariantError(`pending frees: bitmap word ${base + i} lost bits ${bits & ~i32[pw]} before their commit`);
        // Held node blocks stay set until the log's next reset (releaseHeld).
        const free = bits & ~i32[heldWordAt(l, base + i)];
        i32[bitmapWordAt(l, base + i)] &= ~free;
        i32[pw] &= ~bits;
        freed += popcount(free);
        released += popcount(bits);
      }
    }
    i32[H_FREE_BLOCKS] += freed;
    i32[H_PENDING_FREE] -= released;
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

/**
 * After a log reset is durable (no transaction before it will ever be replayed): the node blocks
 * held since their free was committed may hold anything now. Those whose free is still pending
 * (in the commit being written) stay held until the next reset. Caller holds j_commit_mutex.
 */
function releaseHeld(v: Volume): void {
  const i32 = v.i32;
  const l = v.layout;
  const tok = spinLock(v, H_ALLOC_LOCK, LC_ALLOC);
  try {
    if (i32[H_HELD_BLOCKS] === 0) return;
    let released = 0;
    for (let i = 0; i < l.bitmapWords; i++) {
      const bits = i32[heldWordAt(l, i)] & ~i32[pendingWordAt(l, i)];
      if (bits === 0) continue;
      i32[heldWordAt(l, i)] &= ~bits;
      i32[bitmapWordAt(l, i)] &= ~bits;
      released += popcount(bits);
    }
    i32[H_FREE_BLOCKS] += released;
    i32[H_HELD_BLOCKS] -= released;
  } finally {
    unlock(v, H_ALLOC_LOCK, LC_ALLOC, tok);
  }
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

// ------------------------------------------------------------------------------------------------
// Device flushes
// ------------------------------------------------------------------------------------------------

/**
 * Flushes are numbered (H_FLUSH_STARTED when one begins, H_FLUSH_DONE the highest number finished)
 * so that a sync can tell whether a flush that began after its own writes has completed: then its
 * data is durable and it need not flush again (concurrent syncs share flushes).
 * Model: model/journal.pml inline device_flush (docs/MODEL.md).
 */
export function deviceFlush(v: Volume): void {
  try {
    countFlushes(v, () => v.dev.flush());
  } catch (err) {
    // After a failed flush nothing written since the last good one can be trusted to be on the
    // device, and a retry could succeed without rewriting it (the fsyncgate mistake): abort.
    abortJournal(v);
    throw new DioreadError('EIO', `device flush failed, the engine is now read-only (data since the last successful sync may not be on disk): ${(err as Error).message}`, { cause: err });
  }
}

function countFlushes(v: Volume, io: () => void): void {
  const i32 = v.i32;
  const mine = Atomics.add(i32, H_FLUSH_STARTED, 1) + 1;
  io();
  for (let done = Atomics.load(i32, H_FLUSH_DONE); done < mine; ) {
    const seen = Atomics.compareExchange(i32, H_FLUSH_DONE, done, mine);
    if (seen === done) break;
    done = seen;
  }
}

/**
 * A mark to take after one's writes completed; flushedSince tells whether a later flush finished.
 * Model: model/journal.pml writerB W_sync (mark = fstarted) (docs/MODEL.md).
 */
export function flushMark(v: Volume): number {
  return Atomics.load(v.i32, H_FLUSH_STARTED);
}
// Model: model/journal.pml writerB W_sync (fdone <= mark) (docs/MODEL.md).
export function flushedSince(v: Volume, mark: number): boolean {
  return Atomics.load(v.i32, H_FLUSH_DONE) > mark;
}

/** Journal state after mount: log empty at its first block, next sequence `seq`. */
export function initJournalState(i32: Int32Array, seq: number): void {
  i32[H_J_HEAD] = LOG_FIRST;
  i32[H_J_SEQ] = seq | 0;
  i32[H_J_START] = 0;
  i32[H_J_TID] = 1;
  i32[H_J_COMMITTED_TID] = 0;
}

/** Clean close: everything committed and checkpointed; mark the log empty. Caller holds nothing. */
export function closeJournal(v: Volume): void {
  const tok = lock(v, H_J_COMMIT_LOCK, LC_J_COMMIT);
  try {
    if (journalAborted(v)) throw aborted(v, 'close');
    commitLocked(v);
    deviceFlush(v); // the checkpoints
    writeJournalSuper(v.dev, v.disk, { blocks: v.disk.journalBlocks, sequence: v.i32[H_J_SEQ] >>> 0, start: 0 });
    v.i32[H_J_START] = 0;
    v.i32[H_J_HEAD] = LOG_FIRST;
    deviceFlush(v);
    releaseHeld(v);
  } finally {
    unlock(v, H_J_COMMIT_LOCK, LC_J_COMMIT, tok);
  }
}

