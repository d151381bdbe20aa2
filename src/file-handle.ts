// FileHandle: an open file of an Engine, on the main thread, shaped call for call like
// node:fs/promises' FileHandle.
// ext4 counterpart: struct file and the VFS read/write/fsync entry points (the thread that runs
// them is a pool worker; a read the page cache holds whole runs right here, lock-free).
//
// The file position: calls with position null / -1 (and readFile, writeFile) use and advance it.
// They run one after another, in call order (a per-handle chain), as the kernel serializes them on
// f_pos; positional calls do not wait for that chain and leave the position alone.

import { aioReadDirect } from './aio.js';
import { DioreadError, showValue } from './errors.js';
import { DEFAULT_READ_BYTES, describeMode, parseAllocateArgs, parseLength, parseReadArgs, parseWriteArgs, toBytes, type OpenMode } from './fs-args.js';
import { FileReadStream, FileWriteStream, readableWebStream, type ReadStreamOptions, type WriteStreamOptions } from './file-streams.js';
import { readCachedWhole, type CacheState, type InodeAttrs } from './inode.js';
import { Stats } from './stats.js';
import { parseMode, parseTime } from './attr.js';
import { checkEnd, checkOptions } from './validate.js';
import type { Volume } from './volume.js';
import type { ReadableStream } from 'node:stream/web';
import type { PoolTask } from '../workers/pool-worker.js';

/** What a FileHandle needs of its engine (the Engine class implements it). */
export interface HandleHost {
  run<T>(task: PoolTask, transfer?: ArrayBuffer[]): Promise<T>;
  forget(fh: FileHandle): void;
  /** True once the engine closed (or is closing): its handles have nothing left to release. */
  readonly isClosed: boolean;
}

type ReadOptions = { offset?: number; length?: number; position?: number | bigint | null };
type ReadResult<T> = { bytesRead: number; buffer: T };
type WriteResult<T> = { bytesWritten: number; buffer: T };

export class FileHandle {
  private closing: Promise<void> | null = null;
  private filePos = 0;
  /** Calls that use the file position run in order on this chain. */
  private posChain: Promise<unknown> = Promise.resolve();
  /** A readableWebStream() is open on this handle (node allows one at a time). */
  private webStreamOpen = false;

  constructor(
    private readonly host: HandleHost,
    private readonly main: Volume,
    readonly ino: number,
    readonly name: string,
    private readonly mode: OpenMode,
  ) {}

  /** True for a handle opened with O_DIRECT (`direct: true`). */
  get direct(): boolean {
    return this.mode.direct;
  }

  private live(where: string): void {
    if (this.closing !== null) throw new DioreadError('EBADF', `${where}: file ${JSON.stringify(this.name)} is closed`);
  }

  private canRead(where: string): void {
    this.live(where);
    if (!this.mode.read) throw new DioreadError('EBADF', `${where}: file ${JSON.stringify(this.name)} was opened ${describeMode(this.mode)}, not for reading`);
  }

  private canWrite(where: string): void {
    this.live(where);
    if (!this.mode.write) throw new DioreadError('EBADF', `${where}: file ${JSON.stringify(this.name)} was opened ${describeMode(this.mode)}, not for writing`);
  }

  /** Run `op` after every earlier call that uses the file position. */
  private atFilePos<T>(op: () => Promise<T>): Promise<T> {
    const p = this.posChain.then(op);
    this.posChain = p.catch(() => undefined);
    return p;
  }

  /**
   * read(buffer, offset?, length?, position?), read(buffer, { offset, length, position }),
   * read({ buffer, offset, length, position }) or read(): { bytesRead, buffer }, short only at end
   * of file. Position null or -1 reads at the file position and advances it.
   */
  async read<T extends NodeJS.ArrayBufferView = Buffer>(buffer?: T | ({ buffer?: T } & ReadOptions), offsetOrOptions?: number | ReadOptions | null, length?: number | null, position?: number | bigint | null): Promise<ReadResult<T>> {
    this.canRead('read');
    const a = parseReadArgs('read', buffer, offsetOrOptions, length, position);
    const given = (ArrayBuffer.isView(buffer) ? buffer : ((buffer as { buffer?: T } | undefined)?.buffer ?? a.buffer)) as T;
    if (a.position !== null) return { bytesRead: await this.readAt(a.buffer, a.offset, a.length, a.position), buffer: given };
    return this.atFilePos(async () => {
      const n = await this.readAt(a.buffer, a.offset, a.length, this.filePos);
      this.filePos += n;
      return { bytesRead: n, buffer: given };
    });
  }

  private async readAt(buf: Uint8Array, off: number, len: number, position: number): Promise<number> {
    if (this.mode.direct) {
      // Many direct reads in flight from this thread (src/aio.ts); what it leaves goes to the pool.
      let r;
      try {
        r = await aioReadDirect(this.main, this.ino, buf, off, len, position);
      } catch (err) {
        throw this.main.callerError('read', err);
      }
      return r.complete ? r.bytes : r.bytes + (await this.readOnPool(buf, off + r.bytes, len - r.bytes, position + r.bytes));
    }
    const hit = this.readCachedHere(buf, off, len, position);
    if (hit >= 0) return hit;
    return this.readOnPool(buf, off, len, position);
  }

  private async readOnPool(buf: Uint8Array, off: number, len: number, position: number): Promise<number> {
    const data = await this.host.run<Uint8Array>({ op: 'read', ino: this.ino, position, length: len, direct: this.mode.direct });
    buf.set(data, off);
    return data.byteLength;
  }

  /**
   * dioread_nolock lets the main thread serve a read the cache holds whole, with no lock and no
   * thread hop. Returns -1 when any part misses (then a pool worker does the read).
   */
  private readCachedHere(buf: Uint8Array, off: number, len: number, position: number): number {
    try {
      return readCachedWhole(this.main, this.ino, buf, off, len, position);
    } catch (err) {
      throw this.main.callerError('read', err);
    }
  }

  /**
   * write(buffer, offset?, length?, position?), write(buffer, { offset, length, position }) or
   * write(string, position?, encoding?): { bytesWritten, buffer }, short only when the device fills.
   * Position null or -1 writes at the file position and advances it; in append mode ('a', 'a+')
   * every write goes to the end of the file, as O_APPEND does.
   */
  async write<T extends NodeJS.ArrayBufferView | string>(buffer: T, offsetOrOptions?: number | bigint | null | ReadOptions, length?: number | string | null, position?: number | bigint | null): Promise<WriteResult<T>> {
    this.canWrite('write');
    const a = parseWriteArgs('write', buffer, offsetOrOptions, length, position);
    // A private copy (transferred to the worker): the caller may reuse its buffer at once.
    const data = new Uint8Array(a.buffer.subarray(a.offset, a.offset + a.length));
    if (a.position !== null) {
      // pwrite: the file position stays where it is. In append mode the data still goes to the end
      // of the file (Linux's pwrite on an O_APPEND descriptor, which node:fs shows).
      if (!this.mode.append) checkEnd('write', a.position, data.byteLength);
      return { bytesWritten: (await this.writeAt(data, a.position))[0], buffer };
    }
    return this.atFilePos(async () => {
      checkEnd('write', this.filePos, data.byteLength);
      const [n, at] = await this.writeAt(data, this.filePos);
      this.filePos = at + n;
      return { bytesWritten: n, buffer };
    });
  }

  /** One write task: [bytesWritten, position written at] (an append learns its position there). */
  private async writeAt(data: Uint8Array, position: number): Promise<[number, number]> {
    const r = await this.host.run<[number, number]>(
      { op: 'write', ino: this.ino, position, data, direct: this.mode.direct, append: this.mode.append, sync: this.mode.sync },
      [data.buffer as ArrayBuffer],
    );
    return r;
  }

  /** readv(buffers, position?): one read, scattered. */
  async readv<T extends NodeJS.ArrayBufferView[]>(buffers: T, position?: number | bigint | null): Promise<{ bytesRead: number; buffers: T }> {
    this.canRead('readv');
    if (!Array.isArray(buffers)) throw new DioreadError('EINVAL', `readv: buffers must be an array of ArrayBufferViews, got ${typeof buffers}`);
    const views = buffers.map((b) => toBytes('readv', b));
    const total = views.reduce((s, b) => s + b.byteLength, 0);
    const whole = Buffer.alloc(total);
    const { bytesRead } = await this.read(whole, 0, total, position ?? null);
    let at = 0;
    for (const b of views) {
      if (at >= bytesRead) break;
      const n = Math.min(b.byteLength, bytesRead - at);
      b.set(whole.subarray(at, at + n));
      at += n;
    }
    return { bytesRead, buffers };
  }

  /** writev(buffers, position?): one write of the buffers joined (one i_mutex hold: atomic). */
  async writev<T extends NodeJS.ArrayBufferView[]>(buffers: T, position?: number | bigint | null): Promise<{ bytesWritten: number; buffers: T }> {
    this.canWrite('writev');
    if (!Array.isArray(buffers)) throw new DioreadError('EINVAL', `writev: buffers must be an array of ArrayBufferViews, got ${typeof buffers}`);
    const joined = Buffer.concat(buffers.map((b) => toBytes('writev', b)));
    const { bytesWritten } = await this.write(joined, 0, joined.byteLength, position ?? null);
    return { bytesWritten, buffers };
  }

  /** readFile(options?): from the file position to the end, as a Buffer (or a string with an encoding). */
  async readFile(options?: BufferEncoding | { encoding?: BufferEncoding | null; signal?: AbortSignal } | null): Promise<Buffer | string> {
    this.canRead('readFile');
    const encoding = typeof options === 'string' ? options : (options?.encoding ?? null);
    const signal = typeof options === 'object' && options !== null ? options.signal : undefined;
    const chunks: Buffer[] = [];
    for (;;) {
      signal?.throwIfAborted();
      const chunk = Buffer.allocUnsafe(4 * DEFAULT_READ_BYTES);
      const { bytesRead } = await this.read(chunk, 0, chunk.byteLength, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
    }
    const all = Buffer.concat(chunks);
    return encoding ? all.toString(encoding) : all;
  }

  /** writeFile(data, options?): writes at the file position (as node's FileHandle.writeFile does; it does not truncate). */
  async writeFile(data: string | NodeJS.ArrayBufferView | Iterable<string | NodeJS.ArrayBufferView> | AsyncIterable<string | NodeJS.ArrayBufferView>, options?: BufferEncoding | { encoding?: BufferEncoding | null; signal?: AbortSignal } | null): Promise<void> {
    this.canWrite('writeFile');
    const encoding = (typeof options === 'string' ? options : options?.encoding) ?? 'utf8';
    const signal = typeof options === 'object' && options !== null ? options.signal : undefined;
    const one = async (chunk: string | NodeJS.ArrayBufferView) => {
      signal?.throwIfAborted();
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : toBytes('writeFile', chunk);
      let at = 0;
      while (at < bytes.byteLength) {
        const { bytesWritten } = await this.write(bytes, at, bytes.byteLength - at, null);
        if (bytesWritten === 0) throw new DioreadError('ENOSPC', `writeFile of ${JSON.stringify(this.name)}: nothing could be written at byte ${at} of ${bytes.byteLength}`);
        at += bytesWritten;
      }
    };
    if (typeof data === 'string' || ArrayBuffer.isView(data)) return one(data);
    if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
      for await (const chunk of data as AsyncIterable<string | NodeJS.ArrayBufferView>) await one(chunk);
      return;
    }
    throw new DioreadError('EINVAL', `writeFile: data must be a string, a Buffer/TypedArray or an iterable of them, got ${typeof data}`);
  }

  /** appendFile: as node's FileHandle.appendFile, an alias of writeFile (the open flags decide appending). */
  appendFile(data: Parameters<FileHandle['writeFile']>[0], options?: Parameters<FileHandle['writeFile']>[1]): Promise<void> {
    return this.writeFile(data, options);
  }

  /**
   * createReadStream({ start, end, highWaterMark, encoding, autoClose, emitClose, signal }): a
   * node Readable over this handle, as node:fs/promises' (file-streams.ts: end inclusive; no
   * start: from the file position; autoClose closes this handle when the stream ends).
   */
  createReadStream(options?: ReadStreamOptions): FileReadStream {
    this.canRead('createReadStream');
    return new FileReadStream(this, options);
  }

  /** createWriteStream({ start, highWaterMark, encoding, autoClose, emitClose, flush, signal }): a node Writable over this handle. */
  createWriteStream(options?: WriteStreamOptions): FileWriteStream {
    this.canWrite('createWriteStream');
    return new FileWriteStream(this, options);
  }

  /**
   * readableWebStream(): a WHATWG ReadableStream of bytes from the file position (BYOB readers
   * work); it does not close the handle. One at a time per handle, as in node (EBUSY otherwise).
   */
  readableWebStream(options?: { type?: 'bytes' }): ReadableStream<Uint8Array> {
    this.canRead('readableWebStream');
    const o = checkOptions('readableWebStream', options, ['type']);
    if (o.type !== undefined && o.type !== 'bytes') throw new DioreadError('EINVAL', `readableWebStream: type must be 'bytes' or omitted, got ${showValue(o.type)}`);
    if (this.webStreamOpen) throw new DioreadError('EBUSY', `readableWebStream: file ${JSON.stringify(this.name)} already has an open web stream`);
    this.webStreamOpen = true;
    return readableWebStream(this, () => (this.webStreamOpen = false));
  }

  /** fsync: returns when every earlier write of this file is on disk, converted and committed. */
  async sync(): Promise<void> {
    this.live('sync');
    await this.host.run({ op: 'sync', ino: this.ino });
  }

  /** fdatasync: the same as sync() here (the size and extents are the metadata the data needs). */
  async datasync(): Promise<void> {
    this.live('datasync');
    await this.host.run({ op: 'sync', ino: this.ino });
  }

  async truncate(len?: number): Promise<void> {
    this.canWrite('truncate');
    const length = parseLength('truncate', len);
    await this.host.run({ op: 'truncate', ino: this.ino, length });
  }

  /**
   * fallocate(2): preallocate [offset, offset+length) as UNWRITTEN extents (they read as zeros and
   * a write into them converts as any write does); `keepSize` leaves the size alone; `punchHole`
   * frees the range's blocks (it reads as zeros; the size stays); `zeroRange` makes the range read
   * as zeros with its blocks allocated, without writing them.
   */
  async allocate(offset: number, length: number, options?: { keepSize?: boolean; punchHole?: boolean; zeroRange?: boolean }): Promise<void> {
    this.canWrite('allocate');
    const args = parseAllocateArgs('allocate', offset, length, options);
    await this.host.run({ op: 'allocate', ino: this.ino, args });
  }

  /** FileHandle.utimes(atime, mtime): seconds since the epoch (fractions allowed), numeric strings or Dates. */
  async utimes(atime: number | string | Date, mtime: number | string | Date): Promise<void> {
    this.live('utimes');
    const change = { atimeMs: parseTime('utimes', 'atime', atime), mtimeMs: parseTime('utimes', 'mtime', mtime) };
    await this.host.run({ op: 'setAttrs', ino: this.ino, change });
  }

  /** FileHandle.chmod(mode): the permission bits (0..0o7777). */
  async chmod(mode: number): Promise<void> {
    this.live('chmod');
    await this.host.run({ op: 'setAttrs', ino: this.ino, change: { perm: parseMode('chmod', mode) } });
  }

  /** fstat: node:fs Stats (size, blocks in 512-byte units, blksize, ino, mode, nlink, times). */
  async stat(): Promise<Stats> {
    this.live('stat');
    const a = await this.host.run<InodeAttrs>({ op: 'stat', ino: this.ino });
    return new Stats(a);
  }

  /** The engine's cache and conversion state of this file (dirty and cached pages, queued io_ends). */
  async cacheState(): Promise<CacheState> {
    this.live('cacheState');
    return this.host.run({ op: 'cacheState', ino: this.ino });
  }

  /** Close after every call on the file position has finished; a second close resolves, as node's does. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = (async () => {
      await this.posChain;
      this.host.forget(this);
      if (this.host.isClosed) return; // the engine's close released everything
      await this.host.run({ op: 'release', ino: this.ino });
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
