// The two ways the main thread keeps many device reads in flight for the async direct read
// (src/aio.ts): the optional io_uring addon (native/uring: batched submission, completions reaped
// from the event loop through an eventfd) and libuv's fs.read (its thread pool, or io_uring when
// the process started with UV_USE_IO_URING=1). Both read into aligned memory they own, one slot
// per read in flight. kernel/fio counterpart: fio's ioengine=io_uring and ioengine=libaio-ish
// "posixaio" (a thread pool) engines.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { findDirectAlignedOffset } from './direct-align.js';
import { BLOCK_SIZE } from './shm/layout.js';

export type AioRouteName = 'uring' | 'libuv';

/** Reads of up to slotBytes into slot s of `mem` (at slotOffset(s)); at most `depth` in flight, one per slot. */
export interface AioBackend {
  readonly route: AioRouteName;
  readonly depth: number;
  readonly slotBytes: number;
  readonly mem: Uint8Array;
  slotOffset(slot: number): number;
  /**
   * Calls `done` with the bytes read (or a negative errno), from the event loop, never before
   * read returns. A callback, not a promise: the caller's continuation runs in the completion's
   * own callback, with no promise and no microtask hop per read.
   */
  read(slot: number, positionBytes: number, lengthBytes: number, done: (res: number) => void): void;
  close(): void;
}

interface UringAddon {
  open(path: string, direct: boolean, depth: number, slotBytes: number, onComplete: (n: number) => void): [unknown, ArrayBuffer, ArrayBuffer] | number;
  prepare(ring: unknown, slot: number, positionBytes: number, lengthBytes: number): number;
  submit(ring: unknown): number;
  close(ring: unknown): void;
}

/**
 * Reads prepared before a submit goes out without waiting for the end of the event-loop turn. 1:
 * every read is submitted as it is prepared. Batching saves syscalls but holds reads back while
 * a burst of completions is worked through, and they then complete together again (a convoy):
 * measured at 64 in flight, 4 KiB random O_DIRECT, interleaved 2 s runs under load 7 (7 runs
 * each): batch 1 median 52.5k IOPS (38.3k-61.6k), batch 8 40.8k (36.3k-65.5k), end of the turn
 * (batch 64) 30.6k (29.1k-38.3k).
 */
const SUBMIT_BATCH = 1;

let addon: UringAddon | null | undefined;
let addonError = '';

/** Where native/uring/build.mjs leaves the addon (built at install time, not shipped in the package). */
export const URING_ADDON_PATH = fileURLToPath(new URL('../../native/uring/build/Release/dioread_uring.node', import.meta.url));

/** The io_uring addon, or null (not built: no liburing-dev or no compiler at install time). */
export function uringAddon(): UringAddon | null {
  if (addon === undefined) {
    addon = null;
    if (!fs.existsSync(URING_ADDON_PATH)) addonError = `${URING_ADDON_PATH} is not built (apt-get install -y liburing-dev && npm run build:uring)`;
    else {
      try {
        addon = createRequire(import.meta.url)(URING_ADDON_PATH) as UringAddon;
      } catch (err) {
        addonError = (err as Error).message.split('\n')[0];
      }
    }
  }
  return addon;
}

/** Why the addon did not load ('' when it did or was not asked for). */
export function uringAddonError(): string {
  return addonError;
}

class UringBackend implements AioBackend {
  readonly route = 'uring' as const;
  readonly mem: Uint8Array;
  private readonly ring: unknown;
  private readonly comp: Int32Array;
  private readonly waiting: Array<((res: number) => void) | null>;
  private submitQueued = false;
  private prepared = 0;

  constructor(
    private readonly u: UringAddon,
    path: string,
    direct: boolean,
    readonly depth: number,
    readonly slotBytes: number,
  ) {
    const r = u.open(path, direct, depth, slotBytes, (n) => this.completed(n));
    if (typeof r === 'number') throw Object.assign(new Error(`io_uring setup on ${path} failed (errno ${-r})`), { errno: -r });
    [this.ring] = r;
    this.mem = new Uint8Array(r[1]);
    this.comp = new Int32Array(r[2]);
    this.waiting = new Array(depth).fill(null);
  }

  slotOffset(slot: number): number {
    return slot * this.slotBytes;
  }

  read(slot: number, positionBytes: number, lengthBytes: number, done: (res: number) => void): void {
    const rc = this.u.prepare(this.ring, slot, positionBytes, lengthBytes);
    if (rc < 0) {
      queueMicrotask(() => done(rc));
      return;
    }
    this.waiting[slot] = done;
    // Batched submission: the reads prepared in this turn of the event loop go in one syscall, but
    // no more than SUBMIT_BATCH of them wait for it, so the device is not left idle while the
    // completions of a large batch are worked through (they complete together and would come back
    // together: a convoy).
    if (++this.prepared >= SUBMIT_BATCH) this.submit();
    else if (!this.submitQueued) {
      this.submitQueued = true;
      queueMicrotask(() => {
        this.submitQueued = false;
        this.submit();
      });
    }
  }

  private submit(): void {
    if (this.prepared === 0) return;
    this.prepared = 0;
    this.u.submit(this.ring);
  }

  /** n completions wait in `comp`; a negative n is the event loop's poll error: every read in flight fails with it. */
  private completed(n: number): void {
    if (n < 0) {
      this.waiting.forEach((w, slot) => {
        this.waiting[slot] = null;
        w?.(n);
      });
      return;
    }
    for (let i = 0; i < n; i++) {
      const slot = this.comp[2 * i];
      const w = this.waiting[slot];
      this.waiting[slot] = null;
      w?.(this.comp[2 * i + 1]);
    }
  }

  close(): void {
    this.u.close(this.ring);
  }
}

class LibuvBackend implements AioBackend {
  readonly route = 'libuv' as const;
  readonly mem: Uint8Array;
  private readonly fd: number;
  private readonly base: number;

  constructor(
    path: string,
    direct: boolean,
    readonly depth: number,
    readonly slotBytes: number,
  ) {
    this.fd = fs.openSync(path, fs.constants.O_RDONLY | (direct ? fs.constants.O_DIRECT : 0));
    try {
      // Node gives no aligned memory: one buffer, and the offset in it at which O_DIRECT takes a read.
      this.mem = new Uint8Array(depth * slotBytes + BLOCK_SIZE);
      this.base = direct ? findDirectAlignedOffset(this.fd, this.mem, BLOCK_SIZE, 0, BLOCK_SIZE) : 0;
      if (this.base < 0) throw new Error(`no O_DIRECT alignment found for ${path}`);
    } catch (err) {
      fs.closeSync(this.fd);
      throw err;
    }
  }

  slotOffset(slot: number): number {
    return this.base + slot * this.slotBytes;
  }

  read(slot: number, positionBytes: number, lengthBytes: number, done: (res: number) => void): void {
    fs.read(this.fd, this.mem, this.slotOffset(slot), lengthBytes, positionBytes, (err, n) => done(err ? -Math.abs((err as NodeJS.ErrnoException).errno ?? 5) : n));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** A backend of the route asked for on the image at `path` (O_DIRECT when `direct`). Throws when it cannot be set up. */
export function openBackend(route: AioRouteName, path: string, direct: boolean, depth: number, slotBytes: number): AioBackend {
  if (route === 'libuv') return new LibuvBackend(path, direct, depth, slotBytes);
  const u = uringAddon();
  if (!u) throw new Error(`the io_uring addon is not built (${addonError})`);
  return new UringBackend(u, path, direct, depth, slotBytes);
}
