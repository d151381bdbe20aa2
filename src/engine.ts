// Engine: the main-thread, asynchronous face of dioread (Engine.mkfs, Engine.open, FileHandle).
// ext4 counterpart: the mount (ext4_fill_super / ext4_put_super) plus the VFS entry points.
//
// The main thread never waits on a shared lock (it would freeze the event loop). A FileHandle's
// read that the page cache can serve whole runs right here, lock-free (dioread_nolock mode); every
// other operation runs, synchronously, on a piscina pool of worker threads attached to the same
// shared buffers. The conversion worker (dio_unwritten_wq) is a dedicated worker_thread driven
// through comlink for its control calls.

import { metaReserve } from './alloc.js';
import { nodePoolUse } from './extent-nodes.js';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from './comlink-node.js';
import { Piscina } from 'piscina';
import { parseOpenArgs, type OpenMode, checkMkdirOptions } from './fs-args.js';
import { parseMode, parseTime } from './attr.js';
import { FileHandle, type HandleHost } from './file-handle.js';
import { closeAio } from './aio.js';
import { DioreadError, publicError, reviveError, showValue } from './errors.js';
import { collectLockStats, type LockStatRow } from './lockstat.js';
import { buildChromeTrace, type ChromeTrace } from './profile/chrome-trace.js';
import { LEVEL_CODE, STATS_LEVELS, checkPath, parseEngineOptions, parseMkfsOptions, type EngineOptions, type LockStatsLevel } from './engine-options.js';
import type { ImageLock } from './image-lock.js';
import { mkfsImage, mountImage } from './mount.js';
import {
  H_CONVERSION_ERRORS,
  H_CONVERSIONS,
  H_DIRTY_PAGES,
  H_EVICTIONS,
  H_FREE_BLOCKS,
  H_J_COMMITS,
  H_J_LOGGED,
  H_J_RESETS,
  H_PENDING_FREE,
  H_HELD_BLOCKS,
  H_IOEND_FREE_COUNT,
  H_READ_ONLY,
  RO_ERRORS,
  RO_OPTION,
  H_CLOSING,
  S_IN_CALL,
  S_STATE,
  SLOT_LIVE,
  slotWord,
  H_IOEND_WAITS,
  H_STATS_LEVEL,
  H_SYNC_CONVERSIONS,
  H_WORKER_CONVERSIONS,
  H_WRITEBACKS,
  SLOT_ROLE_MAIN,
  STATS_COUNTERS,
  STATS_TIMING,
  STATS_TRACE,
  type Layout,
  type SharedDescriptor,
} from './shm/layout.js';
import { checkChoice } from './validate.js';
import { Dirent, Stats } from './stats.js';
import type { InodeAttrs } from './inode.js';
import { readdirWantsTypes, type StatFs } from './namei.js';
import { Volume, markSlotDeadByThreadId, type ReadLocking } from './volume.js';
import type { ConversionStats, ConversionWorkerApi } from '../workers/conversion-worker.js';
import type { PoolTask } from '../workers/pool-worker.js';

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
  /** Of freeBlocks, those file data may not take: kept for extent-tree nodes (alloc.ts metaReserve). */
  reservedBlocks: number;
  /** Blocks freed by changes not yet committed: allocatable once the next commit is durable. */
  pendingFreeBlocks: number;
  /** Freed extent-tree node blocks held until the journal's next reset (then free). */
  heldBlocks: number;
  /** Extent-tree nodes in shared memory, and the bytes of the node pool. */
  treeNodes: number;
  treeNodeBytes: number;
  /** Journal: transactions committed, metadata blocks logged, log resets. */
  commits: number;
  journalBlocksLogged: number;
  journalResets: number;
  ioEndsFree: number;
  ioEndsTotal: number;
  ioEndWaits: number;
}

/**
 * The host's Node flags, less those a worker thread refuses: `--input-type` (a host run with
 * `node --input-type=module -e ...` made every engine worker fail at start with
 * ERR_INPUT_TYPE_NOT_ALLOWED) and `--eval`/`--print` with their code.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--input-type')) {
      if (a === '--input-type') i++;
      continue;
    }
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') {
      i++;
      continue;
    }
    if (a.startsWith('--eval=') || a.startsWith('--print=')) continue;
    out.push(a);
  }
  return out;
}

export class Engine implements HandleHost {
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly handles = new Set<FileHandle>();

  private constructor(
    private readonly desc: SharedDescriptor,
    private readonly main: Volume,
    private readonly pool: Piscina,
    private readonly convWorker: Worker,
    private readonly conversion: Comlink.Remote<ConversionWorkerApi>,
    readonly deviceDirect: boolean,
    private readonly imageLock: ImageLock | null,
  ) {}

  /**
   * Format an image file: metadata only; data blocks keep whatever they held, as mkfs does.
   * An image an engine has open (in any process) is refused with EBUSY.
   */
  static async mkfs(path: string, opts: { sizeBytes?: number; maxFiles?: number; journalBlocks?: number } = {}): Promise<void> {
    checkPath('Engine.mkfs', path);
    mkfsImage('Engine.mkfs', path, parseMkfsOptions('Engine.mkfs', opts));
  }

  /**
   * Mount an image (or a fresh in-memory device) and start the engine's threads. One engine per
   * image: a second opener, in this process or another, gets EBUSY until this one closes (or its
   * process dies). A read-only open (asked, or an image this process may not write) refuses
   * writes with EROFS and writes nothing to the image.
   */
  static async open(opts: EngineOptions = {}): Promise<Engine> {
    const cfg = parseEngineOptions('Engine.open', opts);
    const m = mountImage('Engine.open', cfg);
    try {
      const main = new Volume(m.desc, SLOT_ROLE_MAIN);
      const i32 = main.i32;
      const layout = m.desc.layout;
      const execArgv = workerExecArgv();
      const convWorker = new Worker(new URL('../workers/conversion-worker.js', import.meta.url), { workerData: m.desc, execArgv });
      convWorker.on('exit', () => markSlotDeadByThreadId(i32, layout, convWorker.threadId));
      // Until the engine exists, a failing worker fails the open; after, Engine.watchWorkers takes over.
      const early = new Promise<never>((_, reject) => convWorker.once('error', reject));
      const conversion = Comlink.wrap<ConversionWorkerApi>(nodeEndpoint(convWorker as never));
      await Promise.race([conversion.ready(), early]);
      // Unref'd only now: comlink's 'message' listener refs the worker's port again (a port refs
      // itself when a listener is added), and an engine left open must not keep the process alive.
      convWorker.unref();
      const pool = new Piscina({
        filename: new URL('../workers/pool-entry.cjs', import.meta.url).href,
        workerData: m.desc,
        minThreads: cfg.poolThreads,
        maxThreads: cfg.poolThreads,
        idleTimeout: 2 ** 31 - 1,
        execArgv,
      });
      const eng = new Engine(m.desc, main, pool, convWorker, conversion, m.deviceDirect, m.lock);
      eng.watchOwnWorkers();
      return eng;
    } catch (err) {
      m.lock?.release();
      throw err;
    }
  }

  /** True when the engine was opened read-only (or went read-only after metadata errors). */
  get readOnly(): boolean {
    return Atomics.load(this.main.i32, H_READ_ONLY) !== 0;
  }

  get isClosed(): boolean {
    return this.closed || this.closing;
  }

  /** The first internal failure (a worker died, an invariant broke): close() reports it. */
  private failure: DioreadError | null = null;

  /**
   * An internal failure: remember it and take the engine read-only (errors=remount-ro), so that
   * nothing a bug may have touched is written further; reads keep working.
   */
  private fail(error: DioreadError): void {
    this.failure ??= error;
    Atomics.compareExchange(this.main.i32, H_READ_ONLY, 0, RO_ERRORS);
  }

  /** Set when the conversion worker's thread ended (at close, or by a crash). */
  private convExited = false;

  /**
   * An error inside an engine worker must never kill the host process: an uncaught one in the
   * conversion worker (Node emits 'error' on the Worker, fatal with no listener) or a pool error
   * becomes the engine's failure: read-only, and the calls that follow say why (EIO at close).
   */
  private watchOwnWorkers(): void {
    this.convWorker.on('error', (err) => this.fail(publicError('conversion worker', err).error));
    this.convWorker.once('exit', (code) => {
      this.convExited = true;
      if (!this.closed) this.fail(new DioreadError('EIO', `conversion worker: exited (code ${code}) while the engine was open; unwritten extents are no longer converted`));
    });
    this.pool.on('error', (err: unknown) => this.fail(publicError('pool worker', err).error));
  }

  private live(where: string): void {
    if (this.closed || this.closing) throw new DioreadError('EBADF', `${where}: the engine is closed`);
  }

  /** Run a task on the pool, tracked so that close() waits for it. */
  run<T>(task: PoolTask, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.closed || this.closing) return Promise.reject(new DioreadError('EBADF', `${task.op}: the engine is closed`));
    // Errors come back structured-cloned, as plain Errors: restore the DioreadError and its code;
    // anything else (a broken invariant, a pool thread that died) is EIO and the engine goes read-only.
    const p = (this.pool.run(task, transfer ? { transferList: transfer } : undefined) as Promise<T>).catch((err: unknown) => {
      const { error, internal } = publicError(task.op, err);
      if (internal) this.fail(error);
      throw error;
    });
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Open (or create) a file, as fsPromises.open: `open(name, flags?, mode?)` with node's flag
   * strings ('r', 'r+', 'w', 'wx', 'w+', 'a', 'a+', ...) or O_* numbers, or dioread's options
   * object `{ create, exclusive, direct, flags, mode }` (read-write). No flags: 'r'.
   */
  async open(name: string, flags?: string | number | { create?: boolean; exclusive?: boolean; direct?: boolean; flags?: string | number; mode?: number }, mode?: number): Promise<FileHandle> {
    this.live('engine.open');
    const o = parseOpenArgs('engine.open', flags, mode);
    if (typeof name !== 'string') throw new DioreadError('EINVAL', `engine.open: file name must be a string, got ${showValue(name)}`);
    // As open(2) on a read-only filesystem: asking for write access by flags is EROFS (the options
    // object opens read-write; on a read-only engine its writes fail with EROFS instead).
    if (this.readOnly && o.mode.write && (typeof flags === 'string' || typeof flags === 'number' || (typeof flags === 'object' && flags !== null && 'flags' in flags))) {
      throw new DioreadError('EROFS', `engine.open of ${JSON.stringify(name)}: the engine is read-only and the flags ask for writing (${showValue(typeof flags === 'object' ? flags.flags : flags)})`);
    }
    const ino = await this.run<number>({ op: 'open', name, create: o.mode.create, exclusive: o.mode.exclusive, truncate: o.mode.truncate, perm: o.perm });
    return this.adopt(ino, name, o.mode);
  }

  private adopt(ino: number, name: string, mode: OpenMode): FileHandle {
    const fh = new FileHandle(this, this.main, ino, name, mode);
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

  /**
   * fsPromises.unlink: remove the name. A file still open stays readable and writable through its
   * handles until the last close (POSIX); then its blocks are freed.
   */
  async unlink(path: string): Promise<void> {
    this.live('engine.unlink');
    await this.run({ op: 'unlink', path });
  }

  /** fsPromises.rename: atomic, also across a crash; an existing `newPath` is replaced. */
  async rename(oldPath: string, newPath: string): Promise<void> {
    this.live('engine.rename');
    await this.run({ op: 'rename', from: oldPath, to: newPath });
  }

  /** fsPromises.readdir: the names in a directory (default the root); `withFileTypes` gives Dirents. */
  async readdir(path?: string, options?: { withFileTypes?: false } | BufferEncoding | null): Promise<string[]>;
  async readdir(path: string | undefined, options: { withFileTypes: true }): Promise<Dirent[]>;
  async readdir(path = '/', options?: { withFileTypes?: boolean } | BufferEncoding | null): Promise<string[] | Dirent[]> {
    this.live('engine.readdir');
    const typed = readdirWantsTypes('engine.readdir', options);
    const entries = await this.run<Array<[string, number]>>({ op: 'readdir', path });
    return typed ? entries.map(([name, mode]) => new Dirent(name, path, mode)) : entries.map(([name]) => name);
  }

  /** fsPromises.stat: node's Stats of a file or directory by path. */
  async stat(path: string): Promise<Stats> {
    this.live('engine.stat');
    return new Stats(await this.run<InodeAttrs>({ op: 'statPath', path }));
  }

  /** fsPromises.access: resolves when `path` exists (and, for W_OK, the engine is writable). */
  async access(path: string, mode?: number): Promise<void> {
    this.live('engine.access');
    await this.run({ op: 'access', path, mode });
  }

  /** Whether `path` names a file or directory (fs.existsSync's question; never rejects for a missing one). */
  async exists(path: string): Promise<boolean> {
    this.live('engine.exists');
    try {
      await this.run({ op: 'access', path, mode: undefined });
      return true;
    } catch (err) {
      if (err instanceof DioreadError && (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'EINVAL' || err.code === 'ENAMETOOLONG')) return false;
      throw err;
    }
  }

  /** fsPromises.utimes(path, atime, mtime): seconds since the epoch, numeric strings or Dates. */
  async utimes(path: string, atime: number | string | Date, mtime: number | string | Date): Promise<void> {
    this.live('engine.utimes');
    const change = { atimeMs: parseTime('engine.utimes', 'atime', atime), mtimeMs: parseTime('engine.utimes', 'mtime', mtime) };
    await this.run({ op: 'setAttrsPath', path, where: 'utimes', change });
  }

  /** fsPromises.chmod(path, mode): the permission bits (0..0o7777). */
  async chmod(path: string, mode: number): Promise<void> {
    this.live('engine.chmod');
    await this.run({ op: 'setAttrsPath', path, where: 'chmod', change: { perm: parseMode('engine.chmod', mode) } });
  }

  /** fsPromises.mkdir(path, { recursive?, mode? }): with recursive, the first directory created (or undefined). */
  async mkdir(path: string, options?: { recursive?: boolean; mode?: number } | number): Promise<string | undefined> {
    this.live('engine.mkdir');
    const o = checkMkdirOptions('engine.mkdir', options);
    return (await this.run<string | null>({ op: 'mkdir', path, recursive: o.recursive, mode: o.mode })) ?? undefined;
  }

  /** fsPromises.rmdir(path): an empty directory (ENOTEMPTY otherwise). */
  async rmdir(path: string): Promise<void> {
    this.live('engine.rmdir');
    await this.run({ op: 'rmdir', path });
  }

  /** fsPromises.statfs's numbers: block size, total, free and available blocks, inodes and free inodes. */
  async statfs(): Promise<StatFs> {
    this.live('engine.statfs');
    return this.run({ op: 'statfs' });
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

  /** How reads lock the inode: 'exclusive', 'shared' or 'none'. */
  get readLocking(): ReadLocking {
    return this.main.readLocking;
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
    const pool = nodePoolUse(this.main);
    return {
      conversions: Atomics.load(i32, H_CONVERSIONS),
      workerConversions: Atomics.load(i32, H_WORKER_CONVERSIONS),
      syncConversions: Atomics.load(i32, H_SYNC_CONVERSIONS),
      conversionErrors: Atomics.load(i32, H_CONVERSION_ERRORS),
      writebacks: Atomics.load(i32, H_WRITEBACKS),
      evictions: Atomics.load(i32, H_EVICTIONS),
      dirtyPages: Atomics.load(i32, H_DIRTY_PAGES),
      freeBlocks: Atomics.load(i32, H_FREE_BLOCKS),
      reservedBlocks: metaReserve(this.main.layout.blockCount, this.main.firstDataBlock),
      pendingFreeBlocks: Atomics.load(i32, H_PENDING_FREE),
      heldBlocks: Atomics.load(i32, H_HELD_BLOCKS),
      treeNodes: pool.inUse,
      treeNodeBytes: pool.bytes,
      commits: Atomics.load(i32, H_J_COMMITS),
      journalBlocksLogged: Atomics.load(i32, H_J_LOGGED),
      journalResets: Atomics.load(i32, H_J_RESETS),
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
    if (this.convExited) throw this.failure ?? new DioreadError('EIO', 'conversion worker: not running');
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
   * Resolve once no live attached view has a call running (their S_IN_CALL words are 0). A view
   * whose thread died mid-call is not waited for (its slot is dead). Waits on H_CLOSING, which a
   * view notifies as its call ends; the main thread waits asynchronously, never with Atomics.wait.
   */
  private async viewCallsDrained(): Promise<void> {
    const i32 = this.main.i32;
    const l = this.desc.layout;
    const busy = () => {
      for (let s = 0; s < l.maxThreads; s++) {
        if (Atomics.load(i32, slotWord(l, s, S_STATE)) === SLOT_LIVE && Atomics.load(i32, slotWord(l, s, S_IN_CALL)) !== 0) return true;
      }
      return false;
    };
    while (busy()) {
      const w = Atomics.waitAsync(i32, H_CLOSING, 1, 100); // wakes when a call ends; re-checks dead slots
      if (w.async) await w.value;
    }
  }

  /**
   * Close: wait for operations in flight, write back every dirty page, drain every pending
   * conversion (the seed discards end_io work at unmount; dioread loses nothing: invariant 7),
   * write the metadata and mark the image clean, stop the workers. Idempotent:
   * a call while one runs gets the same outcome; a call after it finished resolves (the engine is
   * closed), as node's FileHandle.close does, even when the first reported a failure.
   */
  close(): Promise<void> {
    if (this.closed && this.closePromise !== null) return this.closePromise.catch(() => undefined);
    this.closePromise ??= this.closeOnce();
    return this.closePromise;
  }

  private async closeOnce(): Promise<void> {
    this.closing = true;
    try {
      // Attached views refuse new calls from now on; wait for the calls they have running.
      Atomics.store(this.main.i32, H_CLOSING, 1);
      await this.viewCallsDrained();
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      const ro = Atomics.load(this.main.i32, H_READ_ONLY);
      if (ro === RO_OPTION) return; // nothing to write back, and the image must not be touched
      if (ro === RO_ERRORS) {
        const why = this.failure ? `an internal failure (${this.failure.message})` : 'a device error';
        throw new DioreadError('EIO', `engine.close: the engine went read-only after ${why}, so nothing more was written: data since the last successful sync may be lost (reopen the image: the journal replays what was committed)`);
      }
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
      // Files unlinked while still open have no name left: free them (their handles die with the engine).
      await step(() => this.pool.run({ op: 'evictOrphans' } satisfies PoolTask));
      const fileFailures = (await this.pool.run({ op: 'writebackAll' } satisfies PoolTask).catch((err: unknown) => {
        failure ??= reviveError(err);
        return [];
      })) as string[];
      if (fileFailures.length > 0) failure ??= new DioreadError(fileFailures[0].includes('EOWNERDEAD') ? 'EOWNERDEAD' : 'EIO', `engine.close: ${fileFailures.length} file(s) could not be written back (every other file was): ${fileFailures.join('; ')}`);
      await step(() => this.control(() => this.conversion.drain()));
      await step(() => this.pool.run({ op: 'closeJournal', clean: failure === null } satisfies PoolTask));
      if (failure !== null) throw failure;
    } finally {
      this.closed = true;
      if (!this.convExited) {
        this.convWorker.ref();
        const exited = new Promise<void>((resolve) => this.convWorker.once('exit', () => resolve()));
        // A conversion worker that dies meanwhile never answers: its exit ends the wait too.
        await Promise.race([this.conversion.shutdown().catch(() => undefined), exited]);
        await exited;
      }
      await this.pool.destroy();
      await closeAio(this.main); // the main thread's async direct reads (src/aio.ts): their ring or descriptor
      this.main.detach();
      this.imageLock?.release();
    }
  }
}

export type { EngineOptions, LockStatsLevel };
