// Guards issue 12's streams on FileHandle (DESIGN.md contract: createReadStream, createWriteStream,
// readableWebStream): large files come back byte for byte, start/end and the file position mean
// what they mean in node:fs/promises (compared with node:fs on a real file), and a slow consumer
// (or a producer that waits for 'drain') bounds what a stream reads ahead or buffers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { DioreadError, Engine, type FileHandle } from '../src/index.js';
import { tmpDir } from './helpers/image.js';
import { firstDiff, pattern } from './helpers/files.js';

const BIG_BYTES = 8 * 1024 * 1024 + 12345; // past the 4 MiB cache: eviction and writeback run

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

async function withEngine(fn: (eng: Engine) => Promise<void>): Promise<void> {
  const eng = await Engine.open({ sizeBytes: 64 << 20 });
  try {
    await fn(eng);
  } finally {
    await eng.close();
  }
}

/** Count the bytes a handle's read() and write() calls move, and the writes in flight at once. */
function instrument(f: FileHandle) {
  const m = { readBytes: 0, readsStarted: 0, readsInFlight: 0, writesInFlight: 0, maxWritesInFlight: 0, writes: 0, lastRead: Promise.resolve() as Promise<unknown> };
  const read = f.read.bind(f);
  const write = f.write.bind(f);
  (f as { read: unknown }).read = (...args: Parameters<FileHandle['read']>) => {
    m.readsStarted++;
    m.readsInFlight++;
    const p = read(...args).then((r) => {
      m.readsInFlight--;
      m.readBytes += r.bytesRead;
      return r;
    });
    m.lastRead = p;
    return p;
  };
  (f as { write: unknown }).write = async (...args: Parameters<FileHandle['write']>) => {
    m.writes++;
    m.writesInFlight++;
    m.maxWritesInFlight = Math.max(m.maxWritesInFlight, m.writesInFlight);
    try {
      return await write(...args);
    } finally {
      m.writesInFlight--;
    }
  };
  return m;
}

/**
 * Let the stream do whatever it would do unprompted: wait until no handle read is in flight and a
 * whole event-loop turn started none. A stream that ignores backpressure keeps reading until end
 * of file before this returns; one that respects it stops once its buffer holds highWaterMark.
 */
async function quiesce(m: ReturnType<typeof instrument>): Promise<void> {
  for (;;) {
    while (m.readsInFlight > 0) await m.lastRead;
    const started = m.readsStarted;
    await new Promise((r) => setImmediate(r));
    if (m.readsInFlight === 0 && m.readsStarted === started) return;
  }
}

test('a large file written through createWriteStream reads back whole through createReadStream and readableWebStream', async () => {
  await withEngine(async (eng) => {
    const want = pattern(7, 0, BIG_BYTES);
    const w = await eng.open('big', 'w+');
    // Source chunks of odd sizes, so stream chunks never line up with pages.
    const pieces = function* () {
      for (let at = 0; at < want.length; ) {
        const n = Math.min(want.length - at, 1 + ((at * 7919) % 100_003));
        yield want.subarray(at, at + n);
        at += n;
      }
    };
    const ws = w.createWriteStream({ flush: true });
    await pipeline(Readable.from(pieces()), ws);
    assert.equal(ws.bytesWritten, want.length);
    await assert.rejects(w.stat(), (e: unknown) => e instanceof DioreadError && e.code === 'EBADF', 'autoClose closed the handle after finish');

    const r = await eng.open('big', 'r');
    const rs = r.createReadStream({ highWaterMark: 100_000 });
    const got = await collect(rs);
    assert.equal(firstDiff(got, want), null, `createReadStream: ${firstDiff(got, want)?.what}`);
    assert.equal(rs.bytesRead, want.length);

    const r2 = await eng.open('big', 'r');
    const parts: Uint8Array[] = [];
    for await (const c of r2.readableWebStream()) parts.push(c as Uint8Array);
    const web = Buffer.concat(parts);
    assert.equal(firstDiff(web, want), null, `readableWebStream: ${firstDiff(web, want)?.what}`);
    assert.ok(parts.every((p) => p.byteLength <= 16384), 'web stream chunks of at most 16 KiB');
    // The web stream does not close its handle (as node's): a BYOB reader reads from the file position.
    await r2.read(Buffer.alloc(1), 0, 1, 0); // still open
    const r3 = await eng.open('big', 'r');
    await r3.read(Buffer.alloc(100), 0, 100, null); // file position 100
    const byob = r3.readableWebStream().getReader({ mode: 'byob' });
    const { value } = await byob.read(new Uint8Array(5000));
    assert.ok(value !== undefined && value.byteLength > 0);
    assert.deepEqual(Buffer.from(value), want.subarray(100, 100 + value.byteLength));
    assert.throws(() => r3.readableWebStream(), (e: unknown) => e instanceof DioreadError && e.code === 'EBUSY', 'one web stream at a time');
    await byob.cancel();
    r3.readableWebStream().cancel(); // after cancel a new one may open
    await Promise.all([r2.close(), r3.close()]);
  });
});

/** The ranges node's own streams are asked for: start/end in every relation to each other and the size. */
const SIZE = 3 * 4096 + 77;
const RANGES: Array<{ start?: number; end?: number; skip?: number }> = [
  {},
  { start: 0 },
  { start: 1000 },
  { end: 0 },
  { end: 4095 },
  { start: 4095, end: 4096 },
  { start: 5000, end: 5000 },
  { start: 10, end: SIZE + 1000 },
  { start: SIZE },
  { start: SIZE + 10, end: SIZE + 20 },
  { skip: 300 }, // a read at the file position first: the stream starts there
  { skip: 300, end: 1000 }, // node: end counts bytes from where the stream starts (end - bytesRead + 1)
  { skip: 300, start: 50, end: 60 },
];

test('createReadStream start/end and the file position read what node:fs reads', async () => {
  const dir = tmpDir();
  const real = path.join(dir, 'real');
  const data = pattern(3, 0, SIZE);
  fs.writeFileSync(real, data);
  try {
    await withEngine(async (eng) => {
      const w = await eng.open('f', 'w');
      await w.writeFile(data);
      await w.close();
      for (const r of RANGES) {
        const opts = { ...(r.start !== undefined ? { start: r.start } : {}), ...(r.end !== undefined ? { end: r.end } : {}), highWaterMark: 1000 };
        const nf = await fsp.open(real, 'r');
        const df = await eng.open('f', 'r');
        if (r.skip) {
          await nf.read(Buffer.alloc(r.skip), 0, r.skip, null);
          await df.read(Buffer.alloc(r.skip), 0, r.skip, null);
        }
        const want = await collect(nf.createReadStream(opts));
        const ds = df.createReadStream(opts);
        const got = await collect(ds);
        assert.equal(firstDiff(got, want), null, `${JSON.stringify(r)}: ${firstDiff(got, want)?.what}`);
        assert.equal(ds.bytesRead, want.length, `${JSON.stringify(r)}: bytesRead`);
      }
      // start past end is refused, as node refuses it (ERR_OUT_OF_RANGE there, EINVAL here).
      assert.throws(() => fs.createReadStream(real, { start: 10, end: 5 }), { code: 'ERR_OUT_OF_RANGE' });
      const df = await eng.open('f', 'r');
      for (const bad of [{ start: 10, end: 5 }, { start: -1 }, { start: 1.5 }, { end: NaN }, { highWaterMark: 0 }, { bogus: 1 }] as object[]) {
        assert.throws(() => df.createReadStream(bad), (e: unknown) => e instanceof DioreadError && e.code === 'EINVAL', JSON.stringify(bad));
      }
      await df.close();
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('createWriteStream start and the file position write where node:fs writes', async () => {
  const dir = tmpDir();
  try {
    await withEngine(async (eng) => {
      const base = pattern(5, 0, 10_000);
      const cases: Array<{ flags: string; start?: number; skip?: number }> = [
        { flags: 'r+' },
        { flags: 'r+', start: 0 },
        { flags: 'r+', start: 4000 },
        { flags: 'r+', start: 12_000 }, // past the end: a hole, then the data
        { flags: 'r+', skip: 2500 }, // the file position after a read
        { flags: 'r+', skip: 2500, start: 100 },
        { flags: 'a', start: 100 }, // append mode: always at the end, as O_APPEND
        { flags: 'w' },
      ];
      for (const [i, c] of cases.entries()) {
        const real = path.join(dir, `w${i}`);
        fs.writeFileSync(real, base);
        const w = await eng.open(`w${i}`, 'w');
        await w.writeFile(base);
        await w.close();
        const nf = await fsp.open(real, c.flags);
        const df = await eng.open(`w${i}`, c.flags);
        if (c.skip) {
          await nf.read(Buffer.alloc(c.skip), 0, c.skip, null);
          await df.read(Buffer.alloc(c.skip), 0, c.skip, null);
        }
        const chunks = [pattern(11, 0, 3000), Buffer.from('hello'), pattern(12, 0, 5000)];
        const opts = c.start !== undefined ? { start: c.start } : {};
        await pipeline(Readable.from(chunks), nf.createWriteStream(opts));
        const ds = df.createWriteStream(opts);
        await pipeline(Readable.from(chunks), ds);
        assert.equal(ds.bytesWritten, 8005);
        const want = fs.readFileSync(real);
        const check = await eng.open(`w${i}`, 'r');
        const got = (await check.readFile()) as Buffer;
        await check.close();
        assert.equal(firstDiff(got, want), null, `${JSON.stringify(c)}: ${firstDiff(got, want)?.what}`);
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a slow consumer bounds what createReadStream reads ahead', async () => {
  await withEngine(async (eng) => {
    const hwm = 16 * 1024;
    const size = 2 << 20;
    const want = pattern(9, 0, size);
    const w = await eng.open('slow', 'w');
    await w.writeFile(want);
    await w.close();
    const f = await eng.open('slow', 'r');
    const m = instrument(f);
    const rs = f.createReadStream({ highWaterMark: hwm });
    const got: Buffer[] = [];
    let consumed = 0;
    let maxAhead = 0;
    let maxBuffered = 0;
    for (;;) {
      await quiesce(m); // the stream does everything it would do while nobody reads
      maxAhead = Math.max(maxAhead, m.readBytes - consumed);
      maxBuffered = Math.max(maxBuffered, rs.readableLength);
      const c = rs.read(4096) as Buffer | null; // a consumer that takes 4 KiB per turn
      if (c === null) {
        if (rs.readableEnded || consumed === size) break;
        await new Promise<void>((r) => rs.once('readable', () => r()));
        continue;
      }
      got.push(c);
      consumed += c.length;
    }
    assert.equal(firstDiff(Buffer.concat(got), want), null);
    assert.ok(maxBuffered <= 2 * hwm, `stream buffer held ${maxBuffered} bytes (highWaterMark ${hwm})`);
    assert.ok(maxAhead <= 2 * hwm, `read ${maxAhead} bytes ahead of the consumer (highWaterMark ${hwm})`);
  });
});

test('createWriteStream keeps one handle write in flight and bounds what it buffers', async () => {
  await withEngine(async (eng) => {
    const hwm = 16 * 1024;
    const chunk = 6000;
    const total = 1 << 20;
    const f = await eng.open('producer', 'w+');
    const m = instrument(f);
    const ws = f.createWriteStream({ highWaterMark: hwm, autoClose: false });
    let maxBuffered = 0;
    let drains = 0;
    for (let at = 0, i = 0; at < total; at += chunk, i++) {
      const ok = ws.write(pattern(i, 0, Math.min(chunk, total - at)));
      maxBuffered = Math.max(maxBuffered, ws.writableLength);
      if (!ok) {
        drains++;
        await new Promise<void>((r) => ws.once('drain', () => r()));
      }
    }
    await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
    assert.ok(drains > 0, 'the producer was held back at least once');
    assert.equal(m.maxWritesInFlight, 1, 'one handle write at a time');
    assert.ok(maxBuffered < hwm + chunk, `stream buffered ${maxBuffered} bytes (highWaterMark ${hwm})`);
    assert.equal(ws.bytesWritten, total);
    assert.equal((await f.stat()).size, total, 'autoClose: false left the handle open');
    await f.close();
  });
});

test('stream options: encoding, autoClose false, abort, errors and refused handles', async () => {
  await withEngine(async (eng) => {
    const w = await eng.open('t', 'w');
    await w.writeFile('héllo wörld');
    await w.close();
    const f = await eng.open('t', 'r');
    const text: string[] = [];
    for await (const s of f.createReadStream({ encoding: 'utf8', start: 0, autoClose: false, highWaterMark: 3 })) text.push(s as string);
    assert.equal(text.join(''), 'héllo wörld', 'multi-byte characters split across chunks decode whole');
    assert.equal((await f.stat()).size, 13, 'autoClose: false: the handle is still open');
    const ac = new AbortController();
    const rs = f.createReadStream({ signal: ac.signal, start: 0 });
    ac.abort();
    await assert.rejects(collect(rs), { name: 'AbortError' });
    await assert.rejects(f.stat(), (e: unknown) => e instanceof DioreadError && e.code === 'EBADF', 'autoClose closed the handle after the abort');

    const ro = await eng.open('t', 'r');
    assert.throws(() => ro.createWriteStream(), (e: unknown) => e instanceof DioreadError && e.code === 'EBADF');
    const wo = await eng.open('t', 'a');
    assert.throws(() => wo.createReadStream(), (e: unknown) => e instanceof DioreadError && e.code === 'EBADF');
    await Promise.all([ro.close(), wo.close()]);

    // A write the engine refuses reaches the stream as its error (here: the engine closed under it).
    const eng2 = await Engine.open({ sizeBytes: 16 << 20 });
    const h = await eng2.open('x', { create: true });
    const ws = h.createWriteStream();
    await eng2.close();
    ws.end(Buffer.from('late'));
    await assert.rejects(new Promise((resolve, reject) => ws.on('error', reject).on('finish', resolve)), (e: unknown) => e instanceof DioreadError && e.code === 'EBADF');
  });
});
