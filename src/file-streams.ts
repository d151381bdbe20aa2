// Streams over a FileHandle, shaped like node:fs/promises' FileHandle.createReadStream,
// createWriteStream and readableWebStream: Node Readable/Writable streams (and a WHATWG byte
// stream) whose I/O goes through the handle's own read/write calls.
// ext4 counterpart: none (the kernel has read_iter/write_iter; streaming is user space). The shapes
// are node's lib/internal/fs/streams.js (ReadStream, WriteStream) and lib/internal/fs/promises.js
// (readableWebStream).
//
// Backpressure: a ReadStream reads one chunk (at most highWaterMark bytes) per _read call, and
// node's Readable calls _read only while its buffer holds less than highWaterMark bytes, so a slow
// consumer bounds what is read ahead (< 2 x highWaterMark). A WriteStream has one handle write in
// flight at a time (node's Writable calls _write/_writev again only after the callback), so a
// producer that waits for 'drain' bounds what is buffered.
//
// start/end follow node:fs: `end` is inclusive; with no `start` the stream reads (writes) at the
// handle's file position and advances it; with `start` it reads at its own position and leaves the
// file position alone (pread/pwrite).

import { Readable, Writable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { DioreadError, showValue } from './errors.js';
import { MAX_FILE_BYTES, checkBool, checkOptions } from './validate.js';

/** What a stream needs of its FileHandle (file-handle.ts's FileHandle has these calls). */
export interface StreamHandle {
  readonly name: string;
  read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** node:fs's defaults: 64 KiB for a ReadStream, 16 KiB for a WriteStream and a web stream's chunks. */
export const READ_STREAM_HWM_BYTES = 64 * 1024;
export const WRITE_STREAM_HWM_BYTES = 16 * 1024;
export const WEB_STREAM_CHUNK_BYTES = 16 * 1024;
/** The largest highWaterMark a stream takes (node's Readable refuses more than 1 GiB too). */
const MAX_HWM_BYTES = 1 << 30;

export interface ReadStreamOptions {
  /** First byte to read (default: the handle's file position, which the stream then advances). */
  start?: number;
  /** Last byte to read, inclusive (default Infinity: to the end of the file). */
  end?: number;
  /** Bytes read per chunk and buffered ahead at most (default 64 KiB). */
  highWaterMark?: number;
  /** Emit strings in this encoding instead of Buffers. */
  encoding?: BufferEncoding | null;
  /** Close the handle when the stream ends or fails (default true). */
  autoClose?: boolean;
  /** Emit 'close' after the stream is destroyed (default true). */
  emitClose?: boolean;
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

export interface WriteStreamOptions {
  /** Byte to start writing at (default: the handle's file position, which the stream advances). */
  start?: number;
  /** Bytes buffered before write() returns false (default 16 KiB). */
  highWaterMark?: number;
  /** Encoding of string chunks (default 'utf8'). */
  encoding?: BufferEncoding | null;
  /** Close the handle when the stream finishes or fails (default true). */
  autoClose?: boolean;
  /** Emit 'close' after the stream is destroyed (default true). */
  emitClose?: boolean;
  /** sync() the file before closing it (default false). */
  flush?: boolean;
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

const READ_KEYS = ['start', 'end', 'highWaterMark', 'encoding', 'autoClose', 'emitClose', 'signal'] as const;
const WRITE_KEYS = ['start', 'highWaterMark', 'encoding', 'autoClose', 'emitClose', 'flush', 'signal'] as const;

function checkByte(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_FILE_BYTES) {
    throw new DioreadError('EINVAL', `${where}: ${name} must be an integer from 0 to ${MAX_FILE_BYTES}, got ${showValue(value)}`);
  }
  return value;
}

function checkHwm(where: string, value: unknown, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_HWM_BYTES) {
    throw new DioreadError('EINVAL', `${where}: highWaterMark must be an integer from 1 to ${MAX_HWM_BYTES}, got ${showValue(value)}`);
  }
  return value;
}

function checkEncoding(where: string, value: unknown): BufferEncoding | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !Buffer.isEncoding(value)) throw new DioreadError('EINVAL', `${where}: unknown encoding ${showValue(value)}`);
  return value;
}

function checkSignal(where: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new DioreadError('EINVAL', `${where}: signal must be an AbortSignal, got ${showValue(value)}`);
  return value;
}

/** Close the handle after a stream ends, keeping the stream's own error first. */
function closeAfter(fh: StreamHandle, autoClose: boolean, err: Error | null, cb: (err: Error | null) => void): void {
  if (!autoClose) return cb(err);
  fh.close().then(
    () => cb(err),
    (closeErr: unknown) => cb(err ?? (closeErr as Error)),
  );
}

/** FileHandle.createReadStream's stream: node's fs.ReadStream fields (bytesRead, start, end, pending). */
export class FileReadStream extends Readable {
  /** Bytes this stream has read from the file. */
  bytesRead = 0;
  readonly start: number | undefined;
  readonly end: number;
  /** Where the next chunk is read (undefined: at the handle's file position). */
  private pos: number | undefined;
  private readonly autoClose: boolean;

  constructor(
    readonly handle: StreamHandle,
    options: ReadStreamOptions = {},
  ) {
    const where = `createReadStream of ${JSON.stringify(handle.name)}`;
    const o = checkOptions(where, options, READ_KEYS);
    const start = o.start === undefined ? undefined : checkByte(where, 'start', o.start);
    const end = o.end === undefined || o.end === Infinity ? Infinity : checkByte(where, 'end', o.end);
    if (start !== undefined && start > end) throw new DioreadError('EINVAL', `${where}: start ${start} is past end ${end} (end is inclusive, as in node:fs)`);
    const autoClose = checkBool(where, 'autoClose', o.autoClose, true);
    super({
      highWaterMark: checkHwm(where, o.highWaterMark, READ_STREAM_HWM_BYTES),
      encoding: checkEncoding(where, o.encoding),
      emitClose: checkBool(where, 'emitClose', o.emitClose, true),
      autoDestroy: autoClose,
      signal: checkSignal(where, o.signal),
    });
    this.start = start;
    this.end = end;
    this.pos = start;
    this.autoClose = autoClose;
  }

  /** node's ReadStream.pending: true while the file is being opened; a handle's stream is open at once. */
  get pending(): boolean {
    return false;
  }

  override _read(sizeBytes: number): void {
    const left = this.pos !== undefined ? this.end - this.pos + 1 : this.end - this.bytesRead + 1;
    const n = Math.min(sizeBytes, left);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafeSlow(n);
    this.handle.read(buf, 0, n, this.pos ?? null).then(
      ({ bytesRead }) => {
        if (this.destroyed) return;
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        if (this.pos !== undefined) this.pos += bytesRead;
        this.bytesRead += bytesRead;
        this.push(bytesRead === n ? buf : buf.subarray(0, bytesRead));
      },
      (err: unknown) => this.destroy(err as Error),
    );
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    closeAfter(this.handle, this.autoClose, err, cb);
  }
}

/** FileHandle.createWriteStream's stream: node's fs.WriteStream fields (bytesWritten, start, pending). */
export class FileWriteStream extends Writable {
  /** Bytes this stream has written to the file. */
  bytesWritten = 0;
  readonly start: number | undefined;
  private pos: number | undefined;
  private readonly autoClose: boolean;
  private readonly flush: boolean;

  constructor(
    readonly handle: StreamHandle,
    options: WriteStreamOptions = {},
  ) {
    const where = `createWriteStream of ${JSON.stringify(handle.name)}`;
    const o = checkOptions(where, options, WRITE_KEYS);
    const start = o.start === undefined ? undefined : checkByte(where, 'start', o.start);
    const autoClose = checkBool(where, 'autoClose', o.autoClose, true);
    super({
      highWaterMark: checkHwm(where, o.highWaterMark, WRITE_STREAM_HWM_BYTES),
      defaultEncoding: checkEncoding(where, o.encoding) ?? 'utf8',
      decodeStrings: true,
      emitClose: checkBool(where, 'emitClose', o.emitClose, true),
      autoDestroy: autoClose,
      signal: checkSignal(where, o.signal),
    });
    this.start = start;
    this.pos = start;
    this.autoClose = autoClose;
    this.flush = checkBool(where, 'flush', o.flush, false);
  }

  /** node's WriteStream.pending: true while the file is being opened; a handle's stream is open at once. */
  get pending(): boolean {
    return false;
  }

  /** Write all of `data` (a short write only happens when the device fills: then ENOSPC). */
  private async writeAll(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, at, data.byteLength - at, this.pos ?? null);
      if (bytesWritten === 0) {
        throw new DioreadError('ENOSPC', `createWriteStream of ${JSON.stringify(this.handle.name)}: nothing could be written at byte ${this.bytesWritten}`);
      }
      if (this.pos !== undefined) this.pos += bytesWritten;
      this.bytesWritten += bytesWritten;
      at += bytesWritten;
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeAll(chunk).then(() => cb(), cb);
  }

  /** Several buffered chunks: one handle write of them joined (one i_mutex hold, as writev). */
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.writeAll(Buffer.concat(chunks.map((c) => c.chunk))).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.flush) return cb();
    this.handle.sync().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    closeAfter(this.handle, this.autoClose, err, cb);
  }
}

/**
 * FileHandle.readableWebStream's stream: a WHATWG byte stream ({ type: 'bytes' }, so BYOB readers
 * work) that reads from the handle's file position in chunks of 16 KiB, as node's does. It does not
 * close the handle; `onDone` runs once it ends or is cancelled.
 */
export function readableWebStream(fh: StreamHandle, onDone: () => void): ReadableStream<Uint8Array> {
  let done = false;
  const finish = () => {
    if (!done) onDone();
    done = true;
  };
  return new ReadableStream({
    type: 'bytes',
    autoAllocateChunkSize: WEB_STREAM_CHUNK_BYTES,
    async pull(controller) {
      const req = controller.byobRequest!; // never null: autoAllocateChunkSize makes one for every read
      const view = req.view as Uint8Array;
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(view, 0, view.byteLength, null));
      } catch (err) {
        finish();
        throw err;
      }
      if (bytesRead === 0) {
        finish();
        controller.close();
      }
      req.respond(bytesRead);
    },
    cancel() {
      finish();
    },
  });
}
