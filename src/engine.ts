// Engine: the main-thread, asynchronous face of dioread (Engine.mkfs, Engine.open, FileHandle).
// ext4 counterpart: the mount (ext4_fill_super / ext4_put_super) plus the VFS entry points.
//
// The main thread never waits on a shared lock (it would freeze the event loop). A FileHandle's
// read that the page cache can serve whole runs right here, lock-free (dioread_nolock mode); every
// other operation runs, synchronously, on a piscina pool of worker threads attached to the same
// shared buffers. The conversion worker (dio_unwritten_wq) is a dedicated worker_thread driven
// through comlink for its control calls.

import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from './comlink-node.js';
import { Piscina } from 'piscina';
import { parseOpenOptions, type OpenOptions } from './attach.js';
import { FileDevice, MemoryDevice, probeDirectAlignment, type BlockDevice } from './device.js';
import { DioreadError, reviveError, showValue } from './errors.js';
import type { FileStat } from './inode.js';
import { getSize, readHits } from './inode.js';
import { collectLockStats, type LockStatRow } from './lockstat.js';
import { buildChromeTrace, type ChromeTrace } from './profile/chrome-trace.js';
import { DEFAULT_EXTENTS_PER_FILE, DEFAULT_MAX_FILES, SB_STATE_MOUNTED } from './ondisk.js';
import {
  BLOCK_SIZE,
  H_CONVERSION_ERRORS,
  H_CONVERSIONS,
  H_DIRTY_PAGES,
  H_EVICTIONS,
  H_FREE_BLOCKS,
  H_IOEND_FREE_COUNT,
  H_IOEND_WAITS,
  H_STATS_LEVEL,
  H_SYNC_CONVERSIONS,
  H_WORKER_CONVERSIONS,
  H_WRITEBACKS,
  HF_DEVICE_DIRECT,
  HF_MEMORY_DEVICE,
  HF_NOLOCK,
  HF_UNSAFE_EARLY_WRITTEN,
  HF_UNSAFE_UNPIN_AT_WRITEBACK,
  SLOT_ROLE_MAIN,
  STATS_COUNTERS,
  STATS_OFF,
  STATS_TIMING,
  STATS_TRACE,
  computeLayout,
  type Layout,
  type SharedDescriptor,
} from './shm/layout.js';
import { initShared, loadMetadata, mkfs, readSuperBlock, writeSuperState } from './super.js';
import { UNSAFE_EARLY_WRITTEN, UNSAFE_UNPIN_AT_WRITEBACK } from './testing-symbols.js';
import { checkBool, checkBuffer, checkChoice, checkEnd, checkInt, checkOptions, checkPosition } from './validate.js';
import { Volume, markSlotDeadByThreadId } from './volume.js';
import type { ConversionStats, ConversionWorkerApi } from '../workers/conversion-worker.js';
import type { PoolTask } from '../workers/pool-worker.js';

export type LockStatsLevel = 'off' | 'counters' | 'timing';
const STATS_LEVELS: readonly LockStatsLevel[] = ['off', 'counters', 'timing'];
const LEVEL_CODE: Record<LockStatsLevel, number> = { off: STATS_OFF, counters: STATS_COUNTERS, timing: STATS_TIMING };

export interface EngineOptions {
  /** Backing image file. Omitted: an in-memory device (a SharedArrayBuffer). */
  path?: string;
  /** Format a missing or empty image file. */
  create?: boolean;
  /** Device size when formatting (a multiple of 4096). Default 64 MiB. */
  sizeBytes?: number;
  /** Page-cache frames of 4 KiB. Default 1024 (4 MiB). */
  cachePages?: number;
  /** true: readers take no inode mutex (the seed's dioread_nolock). Default true. */
  dioreadNolock?: boolean;
  /** Open the image with O_DIRECT: 'auto' (when the filesystem allows), true (or fail), false. */
  deviceDirect?: 'auto' | boolean;
  /** Inode table size when formatting. Default 64. */
  maxFiles?: number;
  /** Extent records per file when formatting. Default 4096. */
  extentsPerFile?: number;
  /** io_end pool size. Default 64. */
  ioEnds?: number;
  /** Thread slots (views that may attach at once, the engine's own workers included). Default 64. */
  maxThreads?: number;
  /** Lock statistics: 'off', 'counters' (default) or 'timing'. */
  lockStats?: LockStatsLevel;
  /** Worker threads behind the async API. Default 2. */
  poolThreads?: number;
  /** Trace events kept per thread (for startTrace/trace()). Default 0: no trace buffer. */
  traceEvents?: number;
}

const ENGINE_OPTIONS = [
  'path',
  'create',
  'sizeBytes',
  'cachePages',
  'dioreadNolock',
  'deviceDirect',
  'maxFiles',
  'extentsPerFile',
  'ioEnds',
  'maxThreads',
  'lockStats',
  'poolThreads',
  'traceEvents',
] as const;

export const DEFAULT_SIZE_BYTES = 64 * 1024 * 1024;
const MAX_SIZE_BYTES = 2 ** 31 * BLOCK_SIZE;

function checkSizeBytes(where: string, value: unknown, dflt: number): number {
  const n = checkInt(where, 'sizeBytes', value, BLOCK_SIZE, MAX_SIZE_BYTES - BLOCK_SIZE, dflt);
  if (n % BLOCK_SIZE !== 0) throw new DioreadError('EINVAL', `${where}: sizeBytes ${n} is not a multiple of ${BLOCK_SIZE}`);
  return n;
}

function checkPath(where: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new DioreadError('EINVAL', `${where}: path must be a non-empty string, got ${showValue(value)}`);
  return value;
}

/** Engine counters (not lock statistics): what the machinery did. */
export interface EngineCounters {
  conversions: number;
  workerConversions: number;
  syncConversions: number;
  conversionErrors: number;
  writebacks: number;
  evictions: number;
  dirtyPages: number;
  freeBlocks: number;
  ioEndsFree: number;
  ioEndsTotal: number;
  ioEndWaits: number;
}

export class Engine {
  private closing = false;
  private closed = false;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly handles = new Set<FileHandle>();

  private constructor(
    private readonly desc: SharedDescriptor,
    private readonly main: Volume,
    private readonly pool: Piscina,
    private readonly convWorker: Worker,
    private readonly conversion: Comlink.Remote<ConversionWorkerApi>,
    readonly deviceDirect: boolean,
  ) {}

  /** Format an image file: metadata only; data blocks keep whatever they held, as mkfs does. */
  static async mkfs(path: string, opts: { sizeBytes?: number; maxFiles?: number; extentsPerFile?: number } = {}): Promise<void> {
    checkPath('Engine.mkfs', path);
    const o = checkOptions('Engine.mkfs', opts, ['sizeBytes', 'maxFiles', 'extentsPerFile']);
    const sizeBytes = checkSizeBytes('Engine.mkfs', o.sizeBytes, DEFAULT_SIZE_BYTES);
    const maxFiles = checkInt('Engine.mkfs', 'maxFiles', o.maxFiles, 1, 65536, DEFAULT_MAX_FILES);
    const extentsPerFile = checkInt('Engine.mkfs', 'extentsPerFile', o.extentsPerFile, 16, 1 << 22, DEFAULT_EXTENTS_PER_FILE);
    mkfsFile(path, sizeBytes, maxFiles, extentsPerFile);
  }

  static async open(opts: EngineOptions = {}): Promise<Engine> {
    const where = 'Engine.open';
    const o = checkOptions(where, opts, ENGINE_OPTIONS);
    const path = o.path === undefined ? null : checkPath(where, o.path);
    const create = checkBool(where, 'create', o.create, false);
    const sizeBytes = checkSizeBytes(where, o.sizeBytes, DEFAULT_SIZE_BYTES);
    const cachePages = checkInt(where, 'cachePages', o.cachePages, 8, 1 << 22, 1024);
    const nolock = checkBool(where, 'dioreadNolock', o.dioreadNolock, true);
    const deviceDirect = o.deviceDirect === undefined ? 'auto' : o.deviceDirect;
    if (deviceDirect !== 'auto' && deviceDirect !== true && deviceDirect !== false) {
      throw new DioreadError('EINVAL', `${where}: deviceDirect must be 'auto', true or false, got ${showValue(deviceDirect)}`);
    }
    const maxFiles = checkInt(where, 'maxFiles', o.maxFiles, 1, 65536, DEFAULT_MAX_FILES);
    const extentsPerFile = checkInt(where, 'extentsPerFile', o.extentsPerFile, 16, 1 << 22, DEFAULT_EXTENTS_PER_FILE);
    const ioEnds = checkInt(where, 'ioEnds', o.ioEnds, 1, 1 << 16, 64);
    const maxThreads = checkInt(where, 'maxThreads', o.maxThreads, 4, 1024, 64);
    const statsLevel = checkChoice(where, 'lockStats', o.lockStats, STATS_LEVELS, 'counters');
    const poolThreads = checkInt(where, 'poolThreads', o.poolThreads, 1, 64, 2);
    const traceCapacity = checkInt(where, 'traceEvents', o.traceEvents, 0, 1 << 22, 0);
    const unsafe = (opts as Record<symbol, unknown>)[UNSAFE_EARLY_WRITTEN] === true;
    const unsafeUnpin = (opts as Record<symbol, unknown>)[UNSAFE_UNPIN_AT_WRITEBACK] === true;

    let memory: SharedArrayBuffer | null = null;
    let dev: BlockDevice;
    if (path === null) {
      memory = new SharedArrayBuffer(sizeBytes);
      dev = new MemoryDevice(memory);
      mkfs(dev, sizeBytes / BLOCK_SIZE, maxFiles, extentsPerFile);
    } else {
      let st: fs.Stats | null = null;
      try {
        st = fs.statSync(path);
      } catch {
        st = null;
      }
      if (st === null || st.size === 0) {
        if (!create) throw new DioreadError('ENOENT', `${where}: image ${JSON.stringify(path)} ${st ? 'is empty' : 'does not exist'} (pass create: true to format it)`);
        mkfsFile(path, sizeBytes, maxFiles, extentsPerFile);
      } else if (!st.isFile()) {
        throw new DioreadError('EINVAL', `${where}: image ${JSON.stringify(path)} is not a regular file`);
      }
      dev = new FileDevice(path, 1, false);
    }
    let sb;
    try {
      sb = readSuperBlock(dev, path ?? 'memory device');
    } catch (err) {
      dev.close();
      throw err;
    }
    const layout: Layout = computeLayout({ blockCount: sb.blockCount, maxFiles: sb.maxFiles, extentsPerFile: sb.extentsPerFile, cachePages, ioEnds, maxThreads, traceCapacity });
    const meta = new SharedArrayBuffer(layout.metaWords * 4);
    const frames = new SharedArrayBuffer(layout.framesBytes);
    const stats = new SharedArrayBuffer(layout.statsDoubles * 8);
    const trace = layout.traceDoubles > 0 ? new SharedArrayBuffer(layout.traceDoubles * 8) : null;
    let frameBase = 0;
    let direct = false;
    if (path !== null && deviceDirect !== false) {
      const aligned = probeDirectAlignment(path, frames);
      if (aligned >= 0) {
        frameBase = aligned;
        direct = true;
      } else if (deviceDirect === true) {
        dev.close();
        throw new DioreadError('EINVAL', `${where}: deviceDirect: true but ${JSON.stringify(path)} cannot be read with O_DIRECT here`);
      }
    }
    const flags = (nolock ? HF_NOLOCK : 0) | (direct ? HF_DEVICE_DIRECT : 0) | (memory ? HF_MEMORY_DEVICE : 0) | (unsafe ? HF_UNSAFE_EARLY_WRITTEN : 0) | (unsafeUnpin ? HF_UNSAFE_UNPIN_AT_WRITEBACK : 0);
    const i32 = new Int32Array(meta);
    initShared(i32, layout, flags, frameBase, sb.firstDataBlock, LEVEL_CODE[statsLevel]);
    try {
      loadMetadata(i32, layout, dev, sb);
      sb.mountCount++;
      writeSuperState(dev, sb, SB_STATE_MOUNTED);
    } finally {
      dev.close();
    }
    const desc: SharedDescriptor = { kind: 'dioread-shared-descriptor', version: 1, meta, frames, stats, trace, memoryDevice: memory, path, layout };
    const main = new Volume(desc, SLOT_ROLE_MAIN);
    const convWorker = new Worker(new URL('../workers/conversion-worker.js', import.meta.url), { workerData: desc });
    convWorker.on('exit', () => markSlotDeadByThreadId(i32, layout, convWorker.threadId));
    convWorker.unref();
    const conversion = Comlink.wrap<ConversionWorkerApi>(nodeEndpoint(convWorker as never));
    await conversion.ready();
    const pool = new Piscina({
      filename: new URL('../workers/pool-entry.cjs', import.meta.url).href,
      workerData: desc,
      minThreads: poolThreads,
      maxThreads: poolThreads,
      idleTimeout: 2 ** 31 - 1,
    });
    return new Engine(desc, main, pool, convWorker, conversion, direct);
  }

  private live(where: string): void {
    if (this.closed || this.closing) throw new DioreadError('EBADF', `${where}: the engine is closed`);
  }

  /** Run a task on the pool, tracked so that close() waits for it. */
  run<T>(task: PoolTask, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.closed || this.closing) return Promise.reject(new DioreadError('EBADF', `${task.op}: the engine is closed`));
    // Errors come back structured-cloned, as plain Errors: restore the DioreadError and its code.
    const p = (this.pool.run(task, transfer ? { transferList: transfer } : undefined) as Promise<T>).catch((err: unknown) => {
      throw reviveError(err);
    });
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Open (or create) a file. */
  async open(name: string, opts?: OpenOptions): Promise<FileHandle> {
    this.live('engine.open');
    const o = parseOpenOptions('engine.open', opts);
    if (typeof name !== 'string') throw new DioreadError('EINVAL', `engine.open: file name must be a string, got ${showValue(name)}`);
    const ino = await this.run<number>({ op: 'open', name, create: o.create, exclusive: o.exclusive });
    const fh = new FileHandle(this, this.main, ino, name, o.direct);
    this.handles.add(fh);
    return fh;
  }

  /**
   * Write back and drop every cached page of every file (drop_caches), so that the next reads go to
   * the device. Benchmarks call it before a direct-I/O run; data is not lost.
   */
  async dropCaches(): Promise<void> {
    this.live('engine.dropCaches');
    await this.run({ op: 'dropCaches' });
  }

  /** Names and sizes of the files. */
  async list(): Promise<Array<{ name: string; size: number }>> {
    this.live('engine.list');
    return this.run({ op: 'list' });
  }

  /** Structured-cloneable descriptor of the shared state: pass it to a worker and attach() there. */
  share(): SharedDescriptor {
    this.live('engine.share');
    return this.desc;
  }

  get layout(): Layout {
    return this.desc.layout;
  }

  get dioreadNolock(): boolean {
    return this.main.nolock;
  }

  /** lock_stat rows, summed over every thread's view. */
  lockStats(): LockStatRow[] {
    return collectLockStats(new Float64Array(this.desc.stats), this.desc.layout.maxThreads);
  }

  resetLockStats(): void {
    new Float64Array(this.desc.stats).fill(0);
  }

  /** Change the lock statistics level while running ('off' | 'counters' | 'timing'). */
  setLockStatsLevel(level: LockStatsLevel): void {
    const l = checkChoice('engine.setLockStatsLevel', 'level', level, STATS_LEVELS, 'counters');
    Atomics.store(this.main.i32, H_STATS_LEVEL, LEVEL_CODE[l]);
  }

  get lockStatsLevel(): LockStatsLevel {
    const code = Atomics.load(this.main.i32, H_STATS_LEVEL);
    return code >= STATS_TIMING ? 'timing' : code === STATS_COUNTERS ? 'counters' : 'off';
  }

  /**
   * Start recording trace events (lock waits, long holds, device I/O, conversions, completed-list
   * lengths) on every thread; needs Engine.open({ traceEvents: N }). Implies 'timing' statistics.
   */
  startTrace(): void {
    this.live('engine.startTrace');
    if (this.desc.trace === null) {
      throw new DioreadError('EINVAL', 'engine.startTrace: the engine was opened with traceEvents 0 (pass traceEvents: N to Engine.open)');
    }
    new Float64Array(this.desc.trace).fill(0);
    Atomics.store(this.main.i32, H_STATS_LEVEL, STATS_TRACE);
  }

  /** Stop recording; statistics stay at 'timing'. */
  stopTrace(): void {
    if (Atomics.load(this.main.i32, H_STATS_LEVEL) === STATS_TRACE) Atomics.store(this.main.i32, H_STATS_LEVEL, STATS_TIMING);
  }

  /** The recorded events as a Chrome trace-event object (open it in Perfetto or chrome://tracing). */
  traceJson(): ChromeTrace {
    if (this.desc.trace === null) throw new DioreadError('EINVAL', 'engine.traceJson: the engine was opened with traceEvents 0');
    return buildChromeTrace(new Float64Array(this.desc.trace), this.main.i32, this.desc.layout);
  }

  counters(): EngineCounters {
    const i32 = this.main.i32;
    return {
      conversions: Atomics.load(i32, H_CONVERSIONS),
      workerConversions: Atomics.load(i32, H_WORKER_CONVERSIONS),
      syncConversions: Atomics.load(i32, H_SYNC_CONVERSIONS),
      conversionErrors: Atomics.load(i32, H_CONVERSION_ERRORS),
      writebacks: Atomics.load(i32, H_WRITEBACKS),
      evictions: Atomics.load(i32, H_EVICTIONS),
      dirtyPages: Atomics.load(i32, H_DIRTY_PAGES),
      freeBlocks: Atomics.load(i32, H_FREE_BLOCKS),
      ioEndsFree: Atomics.load(i32, H_IOEND_FREE_COUNT),
      ioEndsTotal: this.desc.layout.ioEnds,
      ioEndWaits: Atomics.load(i32, H_IOEND_WAITS),
    };
  }

  /**
   * A control call to the conversion worker through comlink. The worker is unref'd so that an
   * engine left open does not keep a process alive; while a call is out it is ref'd, or the event
   * loop could end under a pending reply.
   */
  private async control<T>(call: () => Promise<T>): Promise<T> {
    this.convWorker.ref();
    try {
      return await call();
    } finally {
      this.convWorker.unref();
    }
  }

  /** Hold the conversion worker (tests use it to keep io_ends on the completed lists). */
  async pauseConversion(): Promise<void> {
    this.live('engine.pauseConversion');
    await this.control(() => this.conversion.pause());
  }

  async resumeConversion(): Promise<void> {
    this.live('engine.resumeConversion');
    await this.control(() => this.conversion.resume());
  }

  /** Convert everything queued now, even while paused; resolves to io_ends converted. */
  async drainConversion(): Promise<number> {
    this.live('engine.drainConversion');
    return this.control(() => this.conversion.drain());
  }

  async conversionStats(): Promise<ConversionStats> {
    this.live('engine.conversionStats');
    return this.control(() => this.conversion.stats());
  }

  /**
   * Watch a worker thread that attaches to this engine: if it ends while its view still holds a
   * thread slot (killed with worker.terminate(), which runs no exit handler in the worker), the
   * slot is marked dead and waiters on locks it held fail with EOWNERDEAD (invariant 10).
   */
  watchWorker(worker: Worker): void {
    this.live('engine.watchWorker');
    if (!(worker instanceof Worker)) throw new DioreadError('EINVAL', `engine.watchWorker: not a worker_threads Worker: ${showValue(worker)}`);
    const id = worker.threadId;
    worker.once('exit', () => markSlotDeadByThreadId(this.main.i32, this.desc.layout, id));
  }

  /** @internal */
  forget(fh: FileHandle): void {
    this.handles.delete(fh);
  }

  /**
   * Close: wait for operations in flight, write back every dirty page, drain every pending
   * conversion (the seed discards end_io work at unmount; dioread loses nothing: invariant 7),
   * write the metadata and mark the image clean.
   */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    try {
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      // Every step runs even if an earlier one failed (an I/O error on one file): the metadata of
      // everything that did land is still written; the image is then not marked clean.
      let failure: unknown = null;
      const step = async (what: () => Promise<unknown>) => {
        try {
          await what();
        } catch (err) {
          failure ??= reviveError(err);
        }
      };
      await step(() => this.pool.run({ op: 'syncAll' } satisfies PoolTask));
      await step(() => this.control(() => this.conversion.drain()));
      await step(() => this.pool.run({ op: 'persistAll', clean: failure === null } satisfies PoolTask));
      if (failure !== null) throw failure;
    } finally {
      this.closed = true;
      this.convWorker.ref();
      const exited = new Promise<void>((resolve) => this.convWorker.once('exit', () => resolve()));
      await this.conversion.shutdown().catch(() => undefined);
      await exited;
      await this.pool.destroy();
      this.main.detach();
    }
  }
}

function mkfsFile(path: string, sizeBytes: number, maxFiles: number, extentsPerFile: number): void {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  } catch (err) {
    throw new DioreadError('EINVAL', `cannot create image ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (fs.fstatSync(fd).size < sizeBytes) fs.ftruncateSync(fd, sizeBytes); // sparse: data blocks untouched
  } finally {
    fs.closeSync(fd);
  }
  const dev = new FileDevice(path, sizeBytes / BLOCK_SIZE, false);
  try {
    mkfs(dev, sizeBytes / BLOCK_SIZE, maxFiles, extentsPerFile);
  } finally {
    dev.close();
  }
}

/** An open file of an Engine; every method returns a promise. */
export class FileHandle {
  private closed = false;
  constructor(
    private readonly engine: Engine,
    private readonly main: Volume,
    readonly ino: number,
    readonly name: string,
    readonly direct: boolean,
  ) {}

  private live(where: string): void {
    if (this.closed) throw new DioreadError('EBADF', `${where}: file ${JSON.stringify(this.name)} is closed`);
  }

  /** Read into `buf` from `position`: { bytesRead } (short only at end of file). */
  async read(buf: Uint8Array, position: number): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    this.live('read');
    checkBuffer('read', buf);
    checkPosition('read', position);
    const hit = this.direct ? -1 : this.readCachedHere(buf, position);
    if (hit >= 0) return { bytesRead: hit, buffer: buf };
    const data = await this.engine.run<Uint8Array>({
      op: 'read',
      ino: this.ino,
      position,
      length: buf.byteLength,
      direct: this.direct,
    });
    buf.set(data);
    return { bytesRead: data.byteLength, buffer: buf };
  }

  /**
   * dioread_nolock lets the main thread serve a read the cache holds whole, with no lock and no
   * thread hop. Returns -1 when any part misses (then a pool worker does the read).
   */
  private readCachedHere(buf: Uint8Array, position: number): number {
    const v = this.main;
    if (!v.nolock) return -1;
    const size = getSize(v, this.ino);
    if (size < 0) return -1;
    if (position >= size || buf.byteLength === 0) return 0;
    const n = Math.min(buf.byteLength, size - position);
    return readHits(v, this.ino, buf, 0, n, position) === n ? n : -1;
  }

  /** Write all of `buf` at `position`: { bytesWritten } (short only when the device fills). */
  async write(buf: Uint8Array, position: number): Promise<{ bytesWritten: number; buffer: Uint8Array }> {
    this.live('write');
    checkBuffer('write', buf);
    checkPosition('write', position);
    checkEnd('write', position, buf.byteLength);
    const data = new Uint8Array(buf); // a private copy (Buffer#slice would be a view), transferred to the worker
    const bytesWritten = await this.engine.run<number>({ op: 'write', ino: this.ino, position, data, direct: this.direct }, [data.buffer as ArrayBuffer]);
    return { bytesWritten, buffer: buf };
  }

  /** fsync: returns when every earlier write of this file is on disk, converted and committed. */
  async sync(): Promise<void> {
    this.live('sync');
    await this.engine.run({ op: 'sync', ino: this.ino });
  }

  async truncate(len = 0): Promise<void> {
    this.live('truncate');
    checkPosition('truncate', len);
    await this.engine.run({ op: 'truncate', ino: this.ino, length: len });
  }

  async stat(): Promise<FileStat> {
    this.live('stat');
    return this.engine.run({ op: 'stat', ino: this.ino });
  }

  async close(): Promise<void> {
    this.live('close');
    this.closed = true;
    this.engine.forget(this);
    await this.engine.run({ op: 'release', ino: this.ino });
  }
}
