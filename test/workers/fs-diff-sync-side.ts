// Worker for fs-differential.test.ts: runs one operation sequence through an attached view
// (node:fs's *Sync calls: openSync, readSync, writeSync, ftruncateSync, fstatSync, fsyncSync,
// closeSync) and posts every step's outcome and the files' final contents, which the test compares
// with node:fs's. Calls a SyncFileHandle does not have (readv, writev, readFile, writeFile,
// appendFile) are built here from readSync/writeSync at the file position, as node builds them.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type AttachedEngine, type SharedDescriptor, type SyncFileHandle } from '../../src/index.js';
import { Run, fileContents, type AnyHandle, type NamespaceApi, type Op, type Outcome, type Pos, type Side } from '../helpers/fs-diff.js';

type Fn = (...args: unknown[]) => unknown;

/** A sync call as a promise (the shared driver awaits every call). */
function wrap<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

function readAll(fh: SyncFileHandle): Buffer {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = Buffer.alloc(64 * 1024);
    const n = fh.readSync(chunk, 0, chunk.length, null);
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(chunk.subarray(0, n));
  }
}

function writeAll(fh: SyncFileHandle, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let at = 0; at < bytes.byteLength; ) at += fh.writeSync(bytes, at, bytes.byteLength - at, null);
}

/** A SyncFileHandle in the FileHandle shape the shared driver calls. */
function adapt(fh: SyncFileHandle): AnyHandle {
  let closed = false;
  const readSync = fh.readSync.bind(fh) as Fn;
  const writeSync = fh.writeSync.bind(fh) as Fn;
  const handle = {
    read: (a?: unknown, b?: unknown, c?: unknown, d?: unknown) =>
      wrap(() => {
        if (a === undefined) {
          const buffer = Buffer.alloc(16384); // node's read() with no buffer
          return { bytesRead: fh.readSync(buffer, 0, buffer.length, null), buffer };
        }
        if (!ArrayBuffer.isView(a)) {
          const o = a as { buffer: Buffer; offset: number; length: number; position: Pos };
          return { bytesRead: fh.readSync(o.buffer, { offset: o.offset, length: o.length, position: o.position }), buffer: o.buffer };
        }
        return { bytesRead: (typeof b === 'object' && b !== null ? readSync(a, b) : readSync(a, b, c, d)) as number, buffer: a };
      }),
    write: (a: unknown, b?: unknown, c?: unknown, d?: unknown) =>
      wrap(() => ({ bytesWritten: (typeof b === 'object' && b !== null ? writeSync(a, b) : writeSync(a, b, c, d)) as number, buffer: a })),
    readv: (bufs: Buffer[], pos: Pos) =>
      wrap(() => {
        const whole = Buffer.alloc(bufs.reduce((s, b) => s + b.length, 0));
        const bytesRead = fh.readSync(whole, 0, whole.length, pos);
        for (let at = 0, i = 0; at < bytesRead; i++) at += whole.copy(bufs[i]!, 0, at, bytesRead);
        return { bytesRead, buffers: bufs };
      }),
    writev: (bufs: Buffer[], pos: Pos) =>
      wrap(() => {
        const whole = Buffer.concat(bufs);
        return { bytesWritten: fh.writeSync(whole, 0, whole.length, pos), buffers: bufs };
      }),
    truncate: (len?: number) => wrap(() => fh.ftruncateSync(len)),
    stat: () => wrap(() => fh.fstatSync()),
    sync: () => wrap(() => fh.fsyncSync()),
    datasync: () => wrap(() => fh.fdatasyncSync()),
    readFile: (o?: { encoding?: BufferEncoding }) =>
      wrap(() => {
        const all = readAll(fh);
        return o?.encoding ? all.toString(o.encoding) : all;
      }),
    writeFile: (data: string | Uint8Array) => wrap(() => writeAll(fh, data)),
    appendFile: (data: string | Uint8Array) => wrap(() => writeAll(fh, data)),
    // node's FileHandle.close resolves when called again; closeSync runs once here.
    close: () =>
      wrap(() => {
        if (closed) return;
        closed = true;
        fh.closeSync();
      }),
  };
  return handle as unknown as AnyHandle;
}

function syncSide(v: AttachedEngine): Side {
  const view = v as unknown as Record<string, Fn>;
  const call = (name: string, ...args: unknown[]) => wrap(() => view[`${name}Sync`]!.apply(v, args));
  const ns = {
    unlink: (p: string) => call('unlink', p),
    rename: (a: string, b: string) => call('rename', a, b),
    readdir: (p = '/') => call('readdir', p),
    stat: (p: string) => call('stat', p),
    access: (p: string) => call('access', p),
    exists: (p: string) => call('exists', p),
    mkdir: (p: string, o?: unknown) => call('mkdir', p, o),
    rmdir: (p: string) => call('rmdir', p),
  } as unknown as NamespaceApi;
  return { kind: 'sync', open: (name, flags) => wrap(() => adapt(v.openSync(name, flags))), ns };
}

async function main(): Promise<void> {
  const { desc, ops } = workerData as { desc: SharedDescriptor; ops: Op[] };
  const v = attach(desc);
  const side = syncSide(v);
  const run = new Run([side]);
  try {
    const outcomes: Array<Outcome | undefined> = [];
    for (const op of ops) outcomes.push(await run.apply(0, op));
    await run.closeAll();
    const files = await fileContents(side);
    parentPort!.postMessage({ outcomes, files });
  } finally {
    v.detach();
  }
}

main().catch((err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
