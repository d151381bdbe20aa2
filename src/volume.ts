// Volume: one thread's view of a shared engine: typed arrays over the shared buffers, its own
// device descriptors, its thread slot. Every engine function takes it first, as ext4 functions
// take `struct super_block *sb`.
// ext4 counterpart: struct ext4_sb_info (per mount), here per thread because descriptors and the
// current-operation tag are per thread while everything else lives in the shared buffers.

import { isMainThread, threadId } from 'node:worker_threads';
import { FileDevice, MemoryDevice, type BlockDevice } from './device.js';
import { DioreadError, InvariantError } from './errors.js';
import {
  BLOCK_SIZE,
  BOUNCE_BLOCKS,
  H_FLAGS,
  H_FIRST_DATA_BLOCK,
  H_FRAME_BASE,
  HF_DEVICE_DIRECT,
  HF_NOLOCK,
  HF_UNSAFE_EARLY_WRITTEN,
  OP_OTHER,
  S_ROLE,
  S_STATE,
  S_THREAD_ID,
  SHM_MAGIC,
  SHM_VERSION,
  H_MAGIC,
  H_VERSION,
  SLOT_DEAD,
  SLOT_FREE,
  SLOT_LIVE,
  bounceOffset,
  slotWord,
  type Layout,
  type SharedDescriptor,
} from './shm/layout.js';
import type { LockContext } from './sync/lock.js';

export class Volume implements LockContext {
  readonly i32: Int32Array;
  readonly st: Float64Array;
  readonly layout: Layout;
  readonly slot: number;
  op = OP_OTHER;
  readonly canBlock: boolean;
  spinOverride = 0;

  /** The frames SAB as bytes, and as a Buffer for Buffer#copy (a native copy with no allocation). */
  readonly frames: Uint8Array;
  readonly framesBuf: Buffer;
  readonly frameBase: number;
  /** First block the allocator may hand out (after the metadata areas). */
  readonly firstDataBlock: number;
  readonly bounceBase: number;
  readonly dev: BlockDevice;
  readonly nolock: boolean;
  readonly unsafeEarlyWritten: boolean;
  readonly desc: SharedDescriptor;

  // Scratch results of an extent lookup (mapBlocks), so a lookup allocates nothing.
  mapPblk = -1;
  mapLen = 0;
  mapUnwritten = false;
  /** Hold token of the page lock taken by the last allocFrame claim. */
  claimToken = 0;

  private detached = false;

  constructor(desc: SharedDescriptor, role: number) {
    if (!desc || desc.kind !== 'dioread-shared-descriptor') {
      throw new DioreadError('EINVAL', `attach: not a descriptor from engine.share(): ${String(desc && (desc as { kind?: unknown }).kind)}`);
    }
    this.desc = desc;
    this.layout = desc.layout;
    this.i32 = new Int32Array(desc.meta);
    if (this.i32[H_MAGIC] !== SHM_MAGIC || this.i32[H_VERSION] !== SHM_VERSION) {
      throw new DioreadError('EINVAL', `attach: shared memory magic 0x${(this.i32[H_MAGIC] >>> 0).toString(16)} is not a dioread engine's`);
    }
    this.st = new Float64Array(desc.stats);
    this.frames = new Uint8Array(desc.frames);
    this.framesBuf = Buffer.from(desc.frames);
    this.frameBase = this.i32[H_FRAME_BASE];
    this.firstDataBlock = this.i32[H_FIRST_DATA_BLOCK];
    const flags = this.i32[H_FLAGS];
    this.nolock = (flags & HF_NOLOCK) !== 0;
    this.unsafeEarlyWritten = (flags & HF_UNSAFE_EARLY_WRITTEN) !== 0;
    this.canBlock = !isMainThread;
    this.slot = claimSlot(this.i32, this.layout, role);
    this.bounceBase = bounceOffset(this.layout, this.frameBase, this.slot);
    try {
      this.dev = desc.memoryDevice
        ? new MemoryDevice(desc.memoryDevice)
        : new FileDevice(desc.path!, this.layout.blockCount, (flags & HF_DEVICE_DIRECT) !== 0);
    } catch (err) {
      Atomics.store(this.i32, slotWord(this.layout, this.slot, S_STATE), SLOT_FREE);
      throw err;
    }
  }

  /** The thread's aligned bounce buffer for direct I/O: BOUNCE_BLOCKS blocks. */
  bounce(): Uint8Array {
    return this.frames.subarray(this.bounceBase, this.bounceBase + BOUNCE_BLOCKS * BLOCK_SIZE);
  }

  get isDetached(): boolean {
    return this.detached;
  }

  /** Give the slot back and close this thread's descriptors. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.dev.close();
    Atomics.store(this.i32, slotWord(this.layout, this.slot, S_STATE), SLOT_FREE);
  }
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
