// Async direct reads from the main thread with many reads in flight (issue 9 point 2): a
// `FileHandle.read` on a `direct: true` handle of a readLocking 'none' engine maps its blocks here
// under the inode's extent seqcount, reads the device through an AioBackend (io_uring addon, or
// libuv's fs.read), re-validates the seqcount, and copies out — the steps of readDirectSlow in
// src/inode.ts, without a thread hop and without ever waiting on a lock (the main thread may not).
// Whatever it cannot do that way (a block the page cache holds, a writer in the extent seqlock,
// extents moving under every retry, the locking modes) it leaves to the pool (the caller's
// fallback), whose synchronous path handles it.
// ext4 counterpart: the io_uring / AIO direct read (iomap_dio_rw with IOCB_NOWAIT: -EAGAIN when it
// would block, and the caller retries from a worker — io_uring's io-wq punt).
import { DioreadError } from './errors.js';
import { getSize, readHits, DIRECT_READ_RETRIES } from './inode.js';
import { mapDirectRun, runStillValid, type DirectRun } from './aio-map.js';
import { openBackend, uringAddon, uringAddonError, type AioBackend, type AioRouteName } from './aio-backends.js';
import { BLOCK_SIZE, BOUNCE_BLOCKS, OP_READ, type SharedDescriptor } from './shm/layout.js';
import type { Volume } from './volume.js';

/** Reads in flight at most per engine (slots of the backend's aligned memory). */
export const AIO_DEPTH = 128;
const SLOT_BYTES = BOUNCE_BLOCKS * BLOCK_SIZE;

/**
 * Which route the main thread's direct reads take, from DIOREAD_AIO at the first direct read of an
 * engine: 'auto' (default: the io_uring addon when it loads, else libuv), 'uring', 'libuv', or
 * 'pool' (every read goes to a pool thread, as before this module).
 */
export type AioSetting = 'auto' | AioRouteName | 'pool';

export interface AioStats {
  route: AioRouteName | 'pool';
  /** Why the route is not the one asked for ('' when it is). */
  note: string;
  /** Device reads this module issued, and reads (or their tails) it handed to the pool. */
  deviceReads: number;
  fallbacks: number;
  /** Device reads done again because the extent seqcount moved during them. */
  retries: number;
}

/** The per-engine state: its backend (null: pool), free slots and the readers waiting for one. */
class Aio {
  readonly stats: AioStats;
  private readonly free: number[] = [];
  private readonly slotWaiters: Array<(slot: number) => void> = [];
  private inFlight = 0;
  private drained: (() => void) | null = null;

  constructor(readonly backend: AioBackend | null, note: string) {
    this.stats = { route: backend?.route ?? 'pool', note, deviceReads: 0, fallbacks: 0, retries: 0 };
    for (let s = (backend?.depth ?? 0) - 1; s >= 0; s--) this.free.push(s);
  }

  /** A free slot, or -1: then `later` gets one when a read releases it. */
  acquire(later: (slot: number) => void): number {
    this.inFlight++;
    const s = this.free.pop();
    if (s !== undefined) return s;
    this.slotWaiters.push(later);
    return -1;
  }

  release(slot: number): void {
    this.inFlight--;
    const w = this.slotWaiters.shift();
    if (w) w(slot);
    else this.free.push(slot);
    if (this.inFlight === 0) this.drained?.();
  }

  /** Resolves once no read is in flight. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.drained = null;
  }
}

/** Keyed by the engine's shared descriptor (engine.share()), so that the bench and the tests can ask for the stats. */
const engines = new WeakMap<SharedDescriptor, Aio>();

function setting(): AioSetting {
  const s = (process.env.DIOREAD_AIO ?? 'auto').trim();
  if (s === 'auto' || s === 'uring' || s === 'libuv' || s === 'pool') return s;
  throw new DioreadError('EINVAL', `DIOREAD_AIO=${JSON.stringify(s)}: expected auto, uring, libuv or pool`);
}

/** The engine's async direct-read state, made at its first direct read. */
function aioOf(v: Volume): Aio {
  const desc = v.desc;
  let a = engines.get(desc);
  if (a) return a;
  const want = setting();
  let backend: AioBackend | null = null;
  let note = '';
  // Only readLocking 'none' reads without an inode lock (the main thread cannot wait for one); an
  // in-memory device, or a device seam (tests' fault injection), has no file to read around it.
  if (want === 'pool') note = 'DIOREAD_AIO=pool';
  else if (!v.nolock) note = `readLocking ${v.readLocking}: reads take an inode lock, on a pool thread`;
  else if (!desc.path || desc.seam) note = 'no image file (in-memory device or a device seam)';
  else {
    const route: AioRouteName = want === 'auto' ? (uringAddon() ? 'uring' : 'libuv') : want;
    if (want === 'auto' && route === 'libuv') note = `io_uring addon not loaded (${uringAddonError()})`;
    try {
      backend = openBackend(route, desc.path, v.dev.direct, AIO_DEPTH, SLOT_BYTES);
    } catch (err) {
      note = `${route} route unavailable: ${(err as Error).message}`;
      if (route === 'uring' && want === 'auto') backend = tryLibuv(desc.path, v.dev.direct);
    }
  }
  a = new Aio(backend, note);
  engines.set(desc, a);
  return a;
}

function tryLibuv(path: string, direct: boolean): AioBackend | null {
  try {
    return openBackend('libuv', path, direct, AIO_DEPTH, SLOT_BYTES);
  } catch {
    return null;
  }
}

/** What the async direct read did: `bytes` served; when not `complete`, the rest (from pos + bytes) is the pool's. */
export interface AioReadResult {
  bytes: number;
  complete: boolean;
}

/**
 * Read up to `len` bytes at `pos` of inode `ino` into buf[bufOff..] on the main thread: cache hits
 * lock-free (readHits), misses from the device with many reads in flight. Resolves with what it
 * served; the caller reads the rest on a pool thread when `complete` is false. One promise per
 * call: the device reads in it continue from the backend's completion callback (AioRead.step).
 */
export function aioReadDirect(v: Volume, ino: number, buf: Uint8Array, bufOff: number, len: number, pos: number): Promise<AioReadResult> {
  const a = aioOf(v);
  if (!a.backend) return Promise.resolve({ bytes: 0, complete: false });
  v.setOp(OP_READ);
  const size = getSize(v, ino);
  if (size < 0) return Promise.resolve({ bytes: 0, complete: false });
  if (pos >= size || len === 0) return Promise.resolve({ bytes: 0, complete: true });
  return new Promise((resolve, reject) => new AioRead(a, a.backend!, v, ino, buf, bufOff, Math.min(len, size - pos), pos, resolve, reject).step());
}

/**
 * One aioReadDirect in progress: cache hits, then per miss one device run — map, read,
 * re-validate, copy (readDirectSlow's steps) — until `n` bytes are served or a block is left to
 * the pool. step() runs until it has to wait (a slot, a device read) and is called again by what
 * it waited for; it never throws (a failure rejects the promise).
 */
class AioRead {
  private done = 0;
  private tries = 0;
  private run: DirectRun | null = null;

  constructor(
    private readonly a: Aio,
    private readonly be: AioBackend,
    private readonly v: Volume,
    private readonly ino: number,
    private readonly buf: Uint8Array,
    private readonly bufOff: number,
    private readonly n: number,
    private readonly pos: number,
    private readonly resolve: (r: AioReadResult) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  step(): void {
    try {
      this.advance();
    } catch (err) {
      this.reject(err);
    }
  }

  /** Serve hits and zero runs here; start the next device read, or settle. */
  private advance(): void {
    const { v, ino, buf, bufOff, n, pos } = this;
    for (;;) {
      this.done += readHits(v, ino, buf, bufOff + this.done, n - this.done, pos + this.done);
      if (this.done >= n) return this.resolve({ bytes: n, complete: true });
      if (this.tries > DIRECT_READ_RETRIES) return this.leave(); // extents moving under every try: the pool's path reads it through the page cache
      const at = pos + this.done;
      const index = Math.floor(at / BLOCK_SIZE);
      const off = at - index * BLOCK_SIZE;
      const run = mapDirectRun(v, ino, index, Math.min(BOUNCE_BLOCKS, Math.ceil((off + n - this.done) / BLOCK_SIZE)));
      if (!run) return this.leave();
      if (run.pblk >= 0 && !run.unwritten) {
        this.run = run;
        const slot = this.a.acquire((s) => this.readDevice(s));
        if (slot >= 0) this.readDevice(slot);
        return;
      }
      const c = Math.min(run.blocks * BLOCK_SIZE - off, n - this.done);
      buf.fill(0, bufOff + this.done, bufOff + this.done + c);
      if (runStillValid(v, ino, run)) this.served(c);
      else this.retry();
    }
  }

  private readDevice(slot: number): void {
    const run = this.run!;
    this.a.stats.deviceReads++;
    try {
      this.be.read(slot, run.pblk * BLOCK_SIZE, run.blocks * BLOCK_SIZE, (got) => this.afterRead(slot, run, got));
    } catch (err) {
      this.a.release(slot);
      this.reject(err);
    }
  }

  /** The device read is back: check it as readDirectSlow does, copy out, go on. */
  private afterRead(slot: number, run: DirectRun, got: number): void {
    try {
      const want = run.blocks * BLOCK_SIZE;
      if (got !== want) throw new DioreadError('EIO', `async direct read of ${run.blocks} block(s) at pblk ${run.pblk} ${got < 0 ? `failed (errno ${-got})` : `returned ${got} of ${want} bytes`}`);
      // The mapping moved during the read (runStillValid, as readDirectSlow's check): read again.
      if (!runStillValid(this.v, this.ino, run)) this.retry();
      else {
        const at = this.pos + this.done;
        const off = at - Math.floor(at / BLOCK_SIZE) * BLOCK_SIZE;
        const c = Math.min(run.blocks * BLOCK_SIZE - off, this.n - this.done);
        const from = this.be.slotOffset(slot) + off;
        this.buf.set(this.be.mem.subarray(from, from + c), this.bufOff + this.done);
        this.served(c);
      }
    } catch (err) {
      this.a.release(slot);
      return this.reject(err);
    }
    this.a.release(slot);
    this.step();
  }

  private served(c: number): void {
    this.done += c;
    this.tries = 0;
  }

  private retry(): void {
    this.a.stats.retries++;
    this.tries++;
  }

  /** Leave the rest, from pos + done, to the pool. */
  private leave(): void {
    this.a.stats.fallbacks++;
    this.resolve({ bytes: this.done, complete: false });
  }
}

/** The route an engine's main-thread direct reads take and what they did (null before its first direct read). */
export function aioStats(desc: SharedDescriptor): AioStats | null {
  return engines.get(desc)?.stats ?? null;
}

/** At engine close: wait for the reads in flight, then release the ring or descriptor. */
export async function closeAio(v: Volume): Promise<void> {
  const a = engines.get(v.desc);
  if (!a) return;
  engines.delete(v.desc);
  await a.drain();
  a.backend?.close();
}
