// Guards DESIGN.md's Contract section (no numbered invariant: "Options are validated; a bad one
// throws a DioreadError", errors carry an errno-style code and a message that names the bad value)
// for every public entry: Engine.mkfs, Engine.open, engine.open, the FileHandle methods, attach and
// its SyncFileHandle; and that nothing stored is damaged by the rejected calls (the file's bytes,
// size, and a clean fsck afterwards).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { DioreadError, Engine, attach, type DioreadErrorCode } from '../src/index.js';
import { attachUnchecked } from '../src/attach.js';
import { tmpDir } from './helpers/image.js';
import { PAGE, cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

/** Expect a DioreadError with `code` whose message contains every string of `names`. */
async function expectError(what: string, run: () => unknown, code: DioreadErrorCode, names: string[]) {
  let err: unknown;
  try {
    await run();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `${what}: did not throw`);
  assert.ok(err instanceof DioreadError, `${what}: threw ${String(err)} (not a DioreadError)`);
  assert.equal(err.code, code, `${what}: code ${err.code} (${err.message})`);
  assert.ok(err.message.startsWith(`${code}: `), `${what}: message starts with the code: ${err.message}`);
  for (const n of names) assert.ok(err.message.includes(n), `${what}: message ${JSON.stringify(err.message)} does not name ${JSON.stringify(n)}`);
}

test('Engine.mkfs and Engine.open reject bad options with EINVAL / ENOENT naming the value', async () => {
  const dir = tmpDir();
  const img = path.join(dir, 'img');
  await expectError('mkfs with an empty path', () => Engine.mkfs(''), 'EINVAL', ['""']);
  await expectError('mkfs, sizeBytes not a block multiple', () => Engine.mkfs(img, { sizeBytes: 5000 }), 'EINVAL', ['5000']);
  await expectError('mkfs, negative sizeBytes', () => Engine.mkfs(img, { sizeBytes: -4096 }), 'EINVAL', ['-4096']);
  await expectError('mkfs, unknown option', () => Engine.mkfs(img, { sizeBytez: 1 << 20 } as never), 'EINVAL', ['"sizeBytez"']);
  await expectError('mkfs, maxFiles 0', () => Engine.mkfs(img, { maxFiles: 0 }), 'EINVAL', ['maxFiles', '0']);
  await expectError('mkfs, too small for its metadata', () => Engine.mkfs(img, { sizeBytes: 8 * PAGE }), 'EINVAL', ['32768']);
  await expectError('mkfs, journal below two largest transactions', () => Engine.mkfs(img, { journalBlocks: 3 }), 'EINVAL', ['journalBlocks 3', 'at least']);
  await expectError('mkfs, fractional journalBlocks', () => Engine.mkfs(img, { journalBlocks: 64.5 }), 'EINVAL', ['journalBlocks', '64.5']);

  const cases: Array<[string, unknown, string[]]> = [
    ['options not an object', 42, ['42']],
    ['options an array', [], ['array(0)']],
    ['unknown option', { cahcePages: 16 }, ['"cahcePages"']],
    ['cachePages too small', { cachePages: 3 }, ['cachePages', '3']],
    ['cachePages not an integer', { cachePages: 16.5 }, ['16.5']],
    ['cachePages a string', { cachePages: '16' }, ['"16"']],
    ['cachePages NaN', { cachePages: NaN }, ['NaN']],
    ['dioreadNolock not a boolean', { dioreadNolock: 'yes' }, ['dioreadNolock', '"yes"']],
    ['deviceDirect unknown', { deviceDirect: 'maybe' }, ['deviceDirect', '"maybe"']],
    ['lockStats unknown', { lockStats: 'verbose' }, ['lockStats', '"verbose"']],
    ['sizeBytes not a block multiple', { sizeBytes: 12345 }, ['12345']],
    ['ioEnds 0', { ioEnds: 0 }, ['ioEnds', '0']],
    ['maxThreads too small', { maxThreads: 2 }, ['maxThreads', '2']],
    ['poolThreads negative', { poolThreads: -1 }, ['poolThreads', '-1']],
    ['create not a boolean', { create: 1 }, ['create', '1']],
    ['empty path', { path: '' }, ['""']],
    ['path not a string', { path: 7 }, ['7']],
  ];
  for (const [what, opts, names] of cases) await expectError(`Engine.open: ${what}`, () => Engine.open(opts as never), 'EINVAL', names);
  const missing = path.join(dir, 'no-such-image');
  await expectError('Engine.open of a missing image without create', () => Engine.open({ path: missing }), 'ENOENT', [missing]);
  cleanup(img);
});

test('engine.open, FileHandle and attach reject bad arguments; nothing stored is damaged', async (t) => {
  const image = await freshImage(16 << 20);
  const eng = await openImage(image, { cachePages: 16 });
  const keep = await eng.open('keep', { create: true });
  const data = pattern(1, 0, 5 * PAGE + 321);
  await keep.write(data, { position: 0 });
  await keep.sync();
  let rejected = 0;
  const expect = async (what: string, run: () => unknown, code: DioreadErrorCode, names: string[]) => {
    await expectError(what, run, code, names);
    rejected++;
  };

  // engine.open
  await expect('name empty', () => eng.open(''), 'EINVAL', ['""']);
  await expect('name not a string', () => eng.open(42 as never), 'EINVAL', ['42']);
  // A path whose directory does not exist: ENOENT, as open(2) and node:fs give it (this format has
  // one directory, so any name with a '/' inside names a missing one).
  await expect('path through a missing directory', () => eng.open('a/b', { create: true }), 'ENOENT', ['"a/b"']);
  await expect('name with a NUL', () => eng.open('a\0b', { create: true }), 'EINVAL', ['a']);
  await expect('a "." component', () => eng.open('./x', { create: true }), 'EINVAL', ['"./x"']);
  const long = 'n'.repeat(256);
  await expect('name of 256 bytes', () => eng.open(long, { create: true }), 'ENAMETOOLONG', [long, '256']);
  await expect('name of 256 UTF-8 bytes in fewer characters', () => eng.open('é'.repeat(128), { create: true }), 'ENAMETOOLONG', ['256']);
  const longest = 'é'.repeat(127) + 'n'; // 255 bytes: the longest name
  const lf = await eng.open(longest, { create: true });
  await lf.close();
  assert.ok((await eng.readdir()).includes(longest), 'a 255-byte name is listed');
  await eng.unlink(longest);
  await expect('missing file without create', () => eng.open('missing'), 'ENOENT', ['"missing"']);
  await expect('exclusive create of an existing file', () => eng.open('keep', { create: true, exclusive: true }), 'EEXIST', ['"keep"']);
  await expect('unknown open option', () => eng.open('keep', { craete: true } as never), 'EINVAL', ['"craete"']);
  await expect('open option not a boolean', () => eng.open('keep', { direct: 'yes' } as never), 'EINVAL', ['direct', '"yes"']);
  await expect('open options not an object', () => eng.open('keep', 'rw' as never), 'EINVAL', ['"rw"']);

  // FileHandle arguments
  const f = await eng.open('keep', 'r+');
  const b = Buffer.alloc(10);
  await expect('write of a number', () => f.write(42 as never, { position: 0 }), 'EINVAL', ['42']);
  await expect('write of an ArrayBuffer', () => f.write(new ArrayBuffer(8) as never, { position: 0 }), 'EINVAL', ['buffer']);
  await expect('write at -2', () => f.write(b, { position: -2 }), 'EINVAL', ['-2']);
  await expect('write with offset past the buffer', () => f.write(b, 11, 0, 0), 'EINVAL', ['offset', '11']);
  await expect('write with length past the buffer', () => f.write(b, 4, 7, 0), 'EINVAL', ['length', '7']);
  await expect('read with a negative offset', () => f.read(b, -1, 1, 0), 'EINVAL', ['offset', '-1']);
  await expect('read with an unknown option', () => f.read(b, { posiiton: 0 } as never), 'EINVAL', ['"posiiton"']);
  await expect('write with an unknown encoding', () => f.write('x', 0, 'klingon' as never), 'EINVAL', ['"klingon"']);
  await expect('open with unknown flags', () => eng.open('keep', 'rw+'), 'EINVAL', ['"rw+"']);
  await expect('open with O_* bits dioread does not know', () => eng.open('keep', 0x40000000), 'EINVAL', [String(0x40000000)]);
  await expect('options whose create contradicts the flags', () => eng.open('keep', { flags: 'r', create: true }), 'EINVAL', ['create', '"r"']);
  const ro = await eng.open('keep', 'r');
  await expect('write through a read-only handle', () => ro.write(b, 0, 1, 0), 'EBADF', ['"keep"', 'read-only']);
  await expect('truncate through a read-only handle', () => ro.truncate(0), 'EBADF', ['"keep"', 'read-only']);
  await ro.close();
  const wo = await eng.open('keep', 'a');
  await expect('read through a write-only handle', () => wo.read(b, 0, 1, 0), 'EBADF', ['"keep"', 'write-only']);
  await wo.close();
  await expect('write at 1.5', () => f.write(b, { position: 1.5 }), 'EINVAL', ['1.5']);
  await expect('write at NaN', () => f.write(b, { position: NaN }), 'EINVAL', ['NaN']);
  await expect('write at a string position', () => f.write(b, '0' as never), 'EINVAL', ['"0"']);
  await expect('write at 2^53', () => f.write(b, { position: 2 ** 53 }), 'EINVAL', [String(2 ** 53)]);
  await expect('write past the largest file', () => f.write(b, { position: 2 ** 31 * 4096 - 5 }), 'EINVAL', [String(2 ** 31 * 4096 - 5)]);
  await expect('read into null', () => f.read(null as never, { position: 0 }), 'EINVAL', ['null']);
  await expect('read at -4096', () => f.read(b, { position: -4096 }), 'EINVAL', ['-4096']);
  await expect('read at Infinity', () => f.read(b, { position: Infinity }), 'EINVAL', ['Infinity']);
  await expect('truncate to -1', () => f.truncate(-1), 'EINVAL', ['-1']);
  await expect('truncate to a string', () => f.truncate('10' as never), 'EINVAL', ['"10"']);
  await expect('setLockStatsLevel unknown', () => eng.setLockStatsLevel('loud' as never), 'EINVAL', ['"loud"']);

  // Closed handles
  await f.close();
  for (const [what, run] of [
    ['read', () => f.read(b, { position: 0 })],
    ['write', () => f.write(b, { position: 0 })],
    ['sync', () => f.sync()],
    ['truncate', () => f.truncate(0)],
    ['stat', () => f.stat()],
  ] as const) {
    await expect(`${what} on a closed handle`, run, 'EBADF', ['"keep"', 'closed']);
  }
  await f.close(); // a second close resolves, as node's FileHandle.close does

  // attach: refused on the main thread at once (a view may wait on a lock: that would block the
  // event loop). The checks below run through the internal route on this thread (nothing contended).
  await expect('attach on the main thread', () => attach(eng.share()), 'EINVAL', ['main thread', 'async']);
  await expect('attach of a non-descriptor', () => attachUnchecked({} as never), 'EINVAL', ['undefined']);
  const view = attachUnchecked(eng.share());
  await expect('openSync unknown option', () => view.openSync('keep', { bogus: true } as never), 'EINVAL', ['"bogus"']);
  await expect('openSync missing file', () => view.openSync('nope'), 'ENOENT', ['"nope"']);
  await expect('openSync exclusive', () => view.openSync('keep', { create: true, exclusive: true }), 'EEXIST', ['"keep"']);
  const fh = view.openSync('keep', 'r+');
  await expect('writeSync at -2', () => fh.writeSync(b, { position: -2 }), 'EINVAL', ['-2']);
  await expect('readSync of a number', () => fh.readSync(7 as never, { position: 0 }), 'EINVAL', ['7']);
  await expect('truncateSync to 0.5', () => fh.truncateSync(0.5), 'EINVAL', ['0.5']);
  fh.closeSync();
  await expect('readSync after closeSync', () => fh.readSync(b, { position: 0 }), 'EBADF', ['"keep"']);
  await expect('closeSync twice', () => fh.closeSync(), 'EBADF', ['"keep"']);
  const fh2 = view.openSync('keep');
  view.detach();
  await expect('readSync after detach', () => fh2.readSync(b, { position: 0 }), 'EBADF', ['"keep"', 'detached']);
  await expect('openSync after detach', () => view.openSync('keep'), 'EBADF', ['detached']);

  // Nothing stored was damaged: the bytes, the size, no file created by the failed opens.
  const g = await eng.open('keep', { direct: true });
  assert.equal((await g.stat()).size, data.length);
  assert.ok((await readWhole(g, data.length + PAGE)).equals(data), 'keep has its bytes');
  await g.close();
  await keep.close();
  const names = (await eng.list()).map((x) => x.name);
  assert.deepEqual(names, ['keep'], 'failed opens created nothing');
  t.diagnostic(`${rejected} rejected calls`);
  await eng.close();

  // A closed engine.
  await expectError('engine.open after close', () => eng.open('keep'), 'EBADF', ['closed']);
  await expectError('engine.share after close', () => eng.share(), 'EBADF', ['closed']);
  await expectError('read through a handle of a closed engine', async () => {
    const e2 = await openImage(image);
    const h = await e2.open('keep');
    await e2.close();
    await h.read(b, { position: 0 });
  }, 'EBADF', ['closed']);
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  assert.deepEqual(r.warnings, []);
  cleanup(image);
});
