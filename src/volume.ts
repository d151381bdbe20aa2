// Volume: one thread's view of a shared engine: typed arrays over the shared buffers, its own
// device descriptors, its thread slot. Every engine function takes it first, as ext4 functions
// take `struct super_block *sb`.
// ext4 counterpart: struct ext4_sb_info (per mount), here per thread because descriptors and the
// current-operation tag are per thread while everything else lives in the shared buffers.

import { isMainThread, threadId } from 'node:worker_threads';
import { FileDevice, MemoryDevice, type BlockDevice } from './device.js';
import { withSeam } from './device-seam.js';
import { DioreadError, InvariantError, publicError } from './errors.js';
import {
  BLOCK_SIZE,
  BOUNCE_BLOCKS,
  H_FLAGS,
  H_FIRST_DATA_BLOCK,
  H_FRAME_BYTE_OFFSET,
  H_READ_ONLY,
  RO_ERRORS,
  H_CLOSING,
  RO_OPTION,
  S_IN_CALL,
  SLOT_ROLE_USER,
  HF_DEVICE_DIRECT,
  HF_NOLOCK,
  HF_SHARED_READS,
  HF_UNSAFE_EARLY_WRITTEN,
  HF_UNSAFE_UNPIN_AT_WRITEBACK,
  HF_UNSAFE_NO_JOURNAL,
  HF_UNSAFE_EARLY_REUSE,
  HF_UNSAFE_RESET_SUPER_UNFLUSHED,
  HF_UNSAFE_NO_RENAME_COUPLING,
  HF_FAULT_NO_TREE_NODES,
  HF_TEST_SPLIT_COMMITS,
  HF_UNSAFE_NO_NODE_HOLD,
  OP_OTHER,
  S_ROLE,
  S_STATE,
  S_THREAD_ID,
  SHM_MAGIC,
  SHM_VERSION,
  H_MAGIC,
  H_VERSION,
  SLOT_DEAD,
  S_OP,
  TK_FLUSH,
  TK_IO_READ,
  TK_IO_WRITE,
  TR_HEADER,
  traceIndex,
  SLOT_FREE,
  SLOT_LIVE,
  bounceOffset,
  slotWord,
  type DiskGeometry,
  type Layout,
  type SharedDescriptor,
} from './shm/layout.js';
import type { LockContext } from './sync/lock.js';
import { nowNs, traceEvent, tracing } from './sync/trace.js';

export type ReadLocking = 'exclusive' | 'shared' | 'none';

export class Volume implements LockContext {
  readonly i32: Int32Array;
  /** The extent-tree node pool: a fixed-length view of the growable node SAB, renewed by extent-nodes.ts nodesView. */
  nodes: Int32Array;
  readonly st: Float64Array;
  readonly layout: Layout;
  readonly slot: number;
  /** Contention point: what this thread does now. Change it with setOp (it is published). */
  op = OP_OTHER;
  readonly trace: Float64Array | null;
  readonly traceIndex: number;
  private readonly opWord: number;
  private readonly inCallWord: number;
  readonly canBlock: boolean;
  spinOverride = 0;
  holdSamples = 0;
  held = 0;

  /** The frames SAB as bytes, and as a Buffer for Buffer#copy (a native copy with no allocation). */
  readonly frames: Uint8Array;
  readonly framesBuf: Buffer;
  readonly frameByteOffset: number;
  /** First block the allocator may hand out (after the metadata areas). */
  readonly firstDataBlock: number;
  readonly bounceByteOffset: number;
  readonly dev: BlockDevice;
  /** How reads lock the inode: 'exclusive' (i_mutex), 'shared' (i_rwsem shared) or 'none' (dioread_nolock). */
  readonly readLocking: ReadLocking;
  /** readLocking 'none': the read path takes no inode lock at all (invariant 4). */
  readonly nolock: boolean;
  readonly unsafeEarlyWritten: boolean;
  /** Test-only broken mode (testing-symbols.ts UNSAFE_UNPIN_AT_WRITEBACK). */
  readonly unsafeUnpinAtWriteback: boolean;
  /** Test-only broken modes (testing-symbols.ts UNSAFE_NO_JOURNAL, UNSAFE_EARLY_REUSE). */
  readonly unsafeNoJournal: boolean;
  readonly unsafeEarlyReuse: boolean;
  /** Test-only broken mode (testing-symbols.ts UNSAFE_RESET_SUPER_UNFLUSHED). */
  readonly unsafeResetSuperUnflushed: boolean;
  /** Test-only broken mode (testing-symbols.ts UNSAFE_NO_RENAME_COUPLING). */
  readonly unsafeNoRenameCoupling: boolean;
  /** Test-only fault (testing-symbols.ts FAULT_NO_TREE_NODES): extent-tree node allocations fail. */
  readonly faultNoTreeNodes: boolean;
  /** Test-only (testing-symbols.ts SPLIT_COMMITS): one journal transaction per inode-table block group. */
  readonly splitCommits: boolean;
  /** Test-only broken mode (testing-symbols.ts UNSAFE_NO_NODE_HOLD). */
  readonly unsafeNoNodeHold: boolean;
  readonly desc: SharedDescriptor;
  /** Where the image's metadata blocks are (the journal commit writes them). */
  readonly disk: DiskGeometry;

  // Scratch results of an extent lookup (mapBlocks), so a lookup allocates nothing.
  mapPblk = -1;
  mapLen = 0;
  mapUnwritten = false;
  /** Hold token of the page lock taken by the last allocFrame claim. */
  claimToken = 0;
  /** Hold token of the i_rwsem this thread holds for writing (lockInodeWrite, readLocking 'shared'). */
  rwsemToken = 0;
  /** Where the last fileWrite wrote (an O_APPEND write learns its position under the lock). */
  writePos = 0;

  private detached = false;

  constructor(desc: SharedDescriptor, role: number) {
    if (!desc || desc.kind !== 'dioread-shared-descriptor') {
      throw new DioreadError('EINVAL', `attach: not a descriptor from engine.share(): ${String(desc && (desc as { kind?: unknown }).kind)}`);
    }
    this.desc = desc;
    this.layout = desc.layout;
    this.disk = desc.disk;
    this.i32 = new Int32Array(desc.meta);
    this.nodes = new Int32Array(desc.nodes, 0, desc.nodes.byteLength / 4);
    if (this.i32[H_MAGIC] !== SHM_MAGIC || this.i32[H_VERSION] !== SHM_VERSION) {
      throw new DioreadError('EINVAL', `attach: shared memory magic 0x${(this.i32[H_MAGIC] >>> 0).toString(16)} is not a dioread engine's`);
    }
    this.st = new Float64Array(desc.stats);
    this.frames = new Uint8Array(desc.frames);
    this.framesBuf = Buffer.from(desc.frames);
    this.frameByteOffset = this.i32[H_FRAME_BYTE_OFFSET];
    this.firstDataBlock = this.i32[H_FIRST_DATA_BLOCK];
    const flags = this.i32[H_FLAGS];
    this.nolock = (flags & HF_NOLOCK) !== 0;
    this.readLocking = this.nolock ? 'none' : (flags & HF_SHARED_READS) !== 0 ? 'shared' : 'exclusive';
    this.unsafeEarlyWritten = (flags & HF_UNSAFE_EARLY_WRITTEN) !== 0;
    this.unsafeUnpinAtWriteback = (flags & HF_UNSAFE_UNPIN_AT_WRITEBACK) !== 0;
    this.unsafeNoJournal = (flags & HF_UNSAFE_NO_JOURNAL) !== 0;
    this.unsafeEarlyReuse = (flags & HF_UNSAFE_EARLY_REUSE) !== 0;
    this.unsafeResetSuperUnflushed = (flags & HF_UNSAFE_RESET_SUPER_UNFLUSHED) !== 0;
    this.unsafeNoRenameCoupling = (flags & HF_UNSAFE_NO_RENAME_COUPLING) !== 0;
    this.faultNoTreeNodes = (flags & HF_FAULT_NO_TREE_NODES) !== 0;
    this.splitCommits = (flags & HF_TEST_SPLIT_COMMITS) !== 0;
    this.unsafeNoNodeHold = (flags & HF_UNSAFE_NO_NODE_HOLD) !== 0;
    this.canBlock = !isMainThread;
    if (role === SLOT_ROLE_USER && Atomics.load(this.i32, H_CLOSING) !== 0) throw new DioreadError('EBADF', 'attach: the engine is closed');
    this.slot = claimSlot(this.i32, this.layout, role);
    this.opWord = slotWord(this.layout, this.slot, S_OP);
    this.inCallWord = slotWord(this.layout, this.slot, S_IN_CALL);
    this.i32[this.opWord] = OP_OTHER;
    this.trace = desc.trace ? new Float64Array(desc.trace) : null;
    this.traceIndex = traceIndex(this.layout, this.slot);
    if (this.trace) this.trace.fill(0, this.traceIndex, this.traceIndex + TR_HEADER);
    this.bounceByteOffset = bounceOffset(this.layout, this.frameByteOffset, this.slot);
    if (this.canBlock) process.once('exit', this.onThreadExit);
    try {
      const dev = desc.memoryDevice
        ? new MemoryDevice(desc.memoryDevice)
        : new FileDevice(desc.path!, this.layout.blockCount, (flags & HF_DEVICE_DIRECT) !== 0, Atomics.load(this.i32, H_READ_ONLY) === RO_OPTION);
      this.dev = new TracedDevice(withSeam(dev, desc.seam), this);
    } catch (err) {
      Atomics.store(this.i32, slotWord(this.layout, this.slot, S_STATE), SLOT_FREE);
      throw err;
    }
  }

  /**
   * An attached view's call begins: refused with EBADF once the engine is closing (invariant 12).
   * Dekker with close(): this slot's S_IN_CALL store, then the H_CLOSING load; close stores
   * H_CLOSING, then waits for every S_IN_CALL to be 0, so no call runs past the start of close
   * unseen, and none starts after. One kind of call does not enter: a nolock read the page cache
   * holds whole (inode.ts readCachedWhole), which touches shared memory only, never the device.
   */
  enterCall(where: string): void {
    if (this.detached) throw new DioreadError('EBADF', `${where}: this view was detached`);
    Atomics.store(this.i32, this.inCallWord, 1);
    if (Atomics.load(this.i32, H_CLOSING) !== 0) {
      Atomics.store(this.i32, this.inCallWord, 0);
      throw new DioreadError('EBADF', `${where}: the engine is closed`);
    }
  }

  /**
   * True once close() of the engine began (H_CLOSING). A plain check, no Dekker: what only reads
   * shared memory (a cached hit, readCachedWhole) needs to refuse calls that start after close, not
   * to be waited for; everything else enters the call (enterCall).
   */
  get closing(): boolean {
    return Atomics.load(this.i32, H_CLOSING) !== 0;
  }

  leaveCall(): void {
    Atomics.store(this.i32, this.inCallWord, 0);
    if (Atomics.load(this.i32, H_CLOSING) !== 0) Atomics.notify(this.i32, H_CLOSING);
  }

  /**
   * Say what this thread is doing (OP_*): lock statistics count per operation, and waiters read
   * it from the slot table to learn what a holder was doing. Stored only when it changes, so a
   * read loop does not keep writing a shared line.
   */
  setOp(op: number): void {
    if (this.op !== op) {
      this.op = op;
      this.i32[this.opWord] = op;
    }
  }

  /** The thread's aligned bounce buffer for direct I/O: BOUNCE_BLOCKS blocks. */
  bounce(): Uint8Array {
    return this.frames.subarray(this.bounceByteOffset, this.bounceByteOffset + BOUNCE_BLOCKS * BLOCK_SIZE);
  }

  get isDetached(): boolean {
    return this.detached;
  }

  /** Give the slot back and close this thread's descriptors. */
  /**
   * What a caller of this thread's call gets for `err`: a DioreadError. An internal failure (a
   * broken invariant, a bug) is EIO and takes the whole engine read-only (errors=remount-ro).
   */
  callerError(where: string, err: unknown): DioreadError {
    const { error, internal } = publicError(where, err);
    if (internal) Atomics.compareExchange(this.i32, H_READ_ONLY, 0, RO_ERRORS);
    return error;
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    if (this.canBlock) process.off('exit', this.onThreadExit);
    this.dev.close();
    Atomics.store(this.i32, slotWord(this.layout, this.slot, S_STATE), SLOT_FREE);
  }

  /**
   * The thread ends without detach (an uncaught error, process.exit in the worker, or its code just
   * ran out): a slot that still holds a lock is marked dead, so that the lock's waiters fail with
   * EOWNERDEAD instead of hanging (invariant 10); one that holds none is freed. A thread killed
   * with worker.terminate() runs no handler: Engine.watchWorker covers that case.
   */
  private readonly onThreadExit = (): void => {
    if (this.detached) return;
    this.detached = true;
    Atomics.store(this.i32, slotWord(this.layout, this.slot, S_STATE), this.held > 0 ? SLOT_DEAD : SLOT_FREE);
  };
}

/** Claim a free thread slot with compareExchange (no lock: the slot id is what locks record). */
function claimSlot(i32: Int32Array, l: Layout, role: number): number {
  for (let s = 0; s < l.maxThreads; s++) {
    const w = slotWord(l, s, S_STATE);
    if (Atomics.compareExchange(i32, w, SLOT_FREE, SLOT_LIVE) === SLOT_FREE) {
      Atomics.store(i32, slotWord(l, s, S_THREAD_ID), threadId);
      Atomics.store(i32, slotWord(l, s, S_ROLE), role);
      return s;
    }
  }
  throw new DioreadError('EMFILE', `attach: all ${l.maxThreads} thread slots are taken (engine option maxThreads)`);
}

/** Mark the slot of a thread that died (its Worker emitted 'exit' while attached): invariant 10. */
export function markSlotDeadByThreadId(i32: Int32Array, l: Layout, deadThreadId: number): number {
  let n = 0;
  for (let s = 0; s < l.maxThreads; s++) {
    if (
      Atomics.load(i32, slotWord(l, s, S_STATE)) === SLOT_LIVE &&
      Atomics.load(i32, slotWord(l, s, S_THREAD_ID)) === deadThreadId
    ) {
      Atomics.store(i32, slotWord(l, s, S_STATE), SLOT_DEAD);
      n++;
    }
  }
  return n;
}

export function assertNotDetached(v: Volume): void {
  if (v.isDetached) throw new InvariantError(`volume of thread slot ${v.slot} used after detach`);
}

/**
 * The thread's device, with trace spans around each transfer when tracing is on (one flag load per
 * I/O otherwise).
 */
class TracedDevice implements BlockDevice {
  readonly blockCount: number;
  readonly direct: boolean;
  constructor(
    private readonly dev: BlockDevice,
    private readonly v: Volume,
  ) {
    this.blockCount = dev.blockCount;
    this.direct = dev.direct;
  }
  readBlocks(pblk: number, count: number, dst: Uint8Array, dstOff: number): void {
    if (!tracing(this.v)) return this.dev.readBlocks(pblk, count, dst, dstOff);
    const t0 = nowNs();
    this.dev.readBlocks(pblk, count, dst, dstOff);
    traceEvent(this.v, TK_IO_READ, t0, nowNs() - t0, pblk, count, 0);
  }
  writeBlocks(pblk: number, count: number, src: Uint8Array, srcOff: number): void {
    if (!tracing(this.v)) return this.dev.writeBlocks(pblk, count, src, srcOff);
    const t0 = nowNs();
    this.dev.writeBlocks(pblk, count, src, srcOff);
    traceEvent(this.v, TK_IO_WRITE, t0, nowNs() - t0, pblk, count, 0);
  }
  writeBlockList(pblk: number, bufs: Uint8Array[]): void {
    if (!tracing(this.v)) return this.dev.writeBlockList(pblk, bufs);
    const t0 = nowNs();
    this.dev.writeBlockList(pblk, bufs);
    traceEvent(this.v, TK_IO_WRITE, t0, nowNs() - t0, pblk, bufs.length, 0);
  }
  readMeta(pos: number, dst: Uint8Array): void {
    this.dev.readMeta(pos, dst);
  }
  writeMeta(pos: number, src: Uint8Array): void {
    this.dev.writeMeta(pos, src);
  }
  flush(): void {
    if (!tracing(this.v)) return this.dev.flush();
    const t0 = nowNs();
    this.dev.flush();
    traceEvent(this.v, TK_FLUSH, t0, nowNs() - t0, -1, 0, 0);
  }
  close(): void {
    this.dev.close();
  }
}
