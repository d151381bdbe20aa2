// Guards issue 12's namespace points and DESIGN.md invariant 12 (a freed block is reused only once
// nothing can reach it): unlink, rename, readdir, stat, access/exists, statfs, mkdir and rmdir
// behave as POSIX and node:fs/promises do, on the Engine and on an attached view in a worker; a file unlinked while
// open stays readable and writable (nlink 0) until its last close, and only then are its blocks
// freed; everything persists across close and reopen; bad paths fail with the errno node:fs gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DioreadError, type Engine } from '../src/index.js';
import { PAGE, cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof DioreadError, `a DioreadError, not ${(err as Error).name}: ${(err as Error).message}`);
    return err.code;
  }
}

async function writeFile(eng: Engine, name: string, data: Buffer): Promise<void> {
  const f = await eng.open(name, 'w');
  await f.write(data, 0, data.length, 0);
  await f.close();
}

test('unlink of an open file: readable and writable with nlink 0 until the last close, then its blocks are free', async () => {
  const image = await freshImage(8 << 20);
  let eng = await openImage(image);
  const data = pattern(1, 0, 40 * PAGE);
  const f = await eng.open('victim', 'w+');
  await f.write(data, 0, data.length, 0);
  await f.sync();
  const before = await eng.statfs();
  assert.equal((await f.stat()).nlink, 1);
  await eng.unlink('victim');
  assert.equal(await eng.exists('victim'), false, 'the name is gone at once');
  assert.deepEqual(await eng.readdir(), []);
  assert.equal(await codeOf(eng.stat('victim')), 'ENOENT');
  assert.equal((await f.stat()).nlink, 0, 'the open file has no link left');
  assert.ok((await readWhole(f, data.length)).equals(data), 'still readable through the open handle');
  await f.write('after unlink', 0);
  const head = Buffer.alloc(12);
  await f.read(head, 0, 12, 0);
  assert.equal(head.toString(), 'after unlink', 'still writable through the open handle');
  const mid = await eng.statfs();
  assert.equal(mid.bfree, before.bfree, 'the blocks stay allocated while the file is open');
  assert.equal(mid.ffree, before.ffree, 'the inode stays in use while the file is open');
  // A new file of the same name is a different file.
  await writeFile(eng, 'victim', Buffer.from('new file'));
  assert.equal((await eng.stat('victim')).size, 8);
  await f.close();
  const kept = await eng.open('sync-point', 'w');
  await kept.sync(); // commits, so the pending frees of the eviction are released
  await kept.close();
  const after = await eng.statfs();
  assert.equal(after.bfree, before.bfree + 40 - 1, `the 40 blocks are free after the last close, less the new victim's one (bfree ${before.bfree} -> ${after.bfree})`);
  await eng.close();
  assert.equal(fsck(image).clean, true, fsck(image).summary);
  eng = await openImage(image);
  assert.deepEqual((await eng.readdir()).sort(), ['sync-point', 'victim']);
  const g = await eng.open('victim', 'r');
  assert.equal((await readWhole(g, 8)).toString(), 'new file');
  await g.close();
  await eng.close();
  cleanup(image);
});

test('rename moves the file, replaces a target (the old target freed), and persists', async () => {
  const image = await freshImage(8 << 20);
  let eng = await openImage(image);
  const a = pattern(2, 0, 3 * PAGE + 5);
  const b = pattern(3, 0, 9 * PAGE);
  await writeFile(eng, 'a', a);
  await writeFile(eng, 'b', b);
  const inoA = (await eng.stat('a')).ino;
  await eng.rename('a', 'moved');
  assert.deepEqual((await eng.readdir()).sort(), ['b', 'moved']);
  assert.equal((await eng.stat('moved')).ino, inoA, 'the same inode under the new name');
  const free0 = (await eng.statfs()).bfree;
  await eng.rename('moved', 'b'); // replaces b: b's 9 blocks freed (after a commit)
  assert.deepEqual(await eng.readdir(), ['b']);
  const sp = await eng.open('b', 'r');
  assert.ok((await readWhole(sp, a.length)).equals(a), 'b holds what a held');
  await sp.sync();
  await sp.close();
  assert.equal((await eng.statfs()).bfree, free0 + 9, 'the replaced target is freed');
  await eng.rename('b', 'b'); // a rename onto itself changes nothing
  assert.deepEqual(await eng.readdir(), ['b']);
  assert.equal(await codeOf(eng.rename('nope', 'x')), 'ENOENT');
  const longest = 'ü'.repeat(127) + 'z'; // NAME_MAX: 255 bytes of UTF-8
  await writeFile(eng, 'c', b);
  await eng.rename('c', longest);
  await eng.close();
  assert.equal(fsck(image).clean, true, fsck(image).summary);
  eng = await openImage(image);
  assert.equal((await eng.stat(longest)).size, b.length, 'a 255-byte name persists');
  await eng.unlink(longest);
  const typed = await eng.readdir('/', { withFileTypes: true });
  assert.deepEqual(typed.map((d) => [d.name, d.isFile(), d.isDirectory()]), [['b', true, false]]);
  const st = await eng.stat('/b');
  assert.equal(st.size, a.length);
  assert.equal(st.blocks, 4 * 8, 'blocks in 512-byte units');
  assert.ok(st.isFile());
  await eng.close();
  cleanup(image);
});

test('paths and errors follow node:fs: root is a directory, ENOENT, ENOTDIR, EISDIR, EINVAL, EROFS for W_OK on a read-only engine', async () => {
  const image = await freshImage(8 << 20);
  let eng = await openImage(image);
  await writeFile(eng, 'file', Buffer.from('x'));
  const root = await eng.stat('/');
  assert.ok(root.isDirectory() && !root.isFile());
  assert.equal(await codeOf(eng.stat('missing')), 'ENOENT');
  assert.equal(await codeOf(eng.access('missing')), 'ENOENT');
  assert.equal(await codeOf(eng.stat('file/inner')), 'ENOTDIR');
  assert.equal(await codeOf(eng.stat('dir/inner')), 'ENOENT');
  assert.equal(await codeOf(eng.unlink('/')), 'EISDIR');
  assert.equal(await codeOf(eng.rename('/', 'x')), 'EBUSY');
  assert.equal(await codeOf(eng.rename('file', '/')), 'EISDIR');
  assert.equal(await codeOf(eng.readdir('file')), 'ENOTDIR');
  assert.equal(await codeOf(eng.open('/', 'r')), 'EISDIR');
  for (const bad of ['', 'a\0b', './file', 'a/../file', 'x'.repeat(300)]) {
    const code = await codeOf(eng.unlink(bad));
    assert.ok(code === 'EINVAL' || code === 'ENAMETOOLONG', `unlink(${JSON.stringify(bad.slice(0, 20))}): ${code}`);
  }
  assert.equal(await codeOf(eng.unlink(42 as never)), 'EINVAL');
  assert.equal(await codeOf(eng.access('file', 0o7777)), 'EINVAL');
  assert.equal(await eng.exists('file'), true);
  assert.equal(await codeOf(eng.access('file')), 'ok');
  assert.deepEqual(await eng.readdir(), ['file'], 'nothing the bad calls touched changed');
  await eng.close();
  eng = await openImage(image, { readOnly: true });
  assert.equal(await codeOf(eng.access('file', 2 /* W_OK */)), 'EROFS');
  assert.equal(await codeOf(eng.access('file', 4 /* R_OK */)), 'ok');
  assert.equal(await codeOf(eng.unlink('file')), 'EROFS');
  assert.equal(await codeOf(eng.rename('file', 'y')), 'EROFS');
  await eng.close();
  cleanup(image);
});

test('an attached view in a worker has the same namespace calls, synchronously', async () => {
  const image = await freshImage(8 << 20);
  const eng = await openImage(image);
  await writeFile(eng, 'from-main', Buffer.from('main bytes'));
  const w = new Worker(new URL('./workers/namespace-view-worker.js', import.meta.url), { workerData: { desc: eng.share() } });
  const exited = new Promise((resolve) => w.once('exit', resolve));
  const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await exited;
  assert.deepEqual(result.firstList, ['from-main']);
  assert.deepEqual(result.afterCreate, ['from-main', 'from-worker']);
  assert.equal(result.renamed, 'worker bytes');
  assert.deepEqual(result.afterRename, ['from-main', 'renamed']);
  assert.equal(result.nlinkAfterUnlink, 0);
  assert.equal(result.readAfterUnlink, 'main bytes');
  assert.equal(result.existsAfterUnlink, false);
  assert.equal(result.statMissing, 'DioreadError:ENOENT');
  assert.equal(result.rootIsDir, true);
  assert.equal(result.mkdir, 'd1');
  assert.deepEqual(result.nested, ['f']);
  assert.deepEqual(result.afterRmdir, []);
  assert.deepEqual(result.times, [8000, 9000, 10000, 0o100604]);
  assert.ok((result.statfs as { bsize: number }).bsize === PAGE);
  assert.deepEqual((await eng.readdir()).sort(), ['d1', 'renamed'], 'the main thread sees what the worker did');
  await eng.close();
  assert.equal(fsck(image).clean, true, fsck(image).summary);
  cleanup(image);
});

test('directories: mkdir (-p), nested files, readdir of each level, rename across and of directories, rmdir; they persist and check clean', async () => {
  const image = await freshImage(8 << 20);
  let eng = await openImage(image);
  assert.equal(await eng.mkdir('/a/b/c', { recursive: true }), '/a', 'recursive mkdir returns the first directory it made');
  assert.equal(await eng.mkdir('a/b', { recursive: true }), undefined, 'nothing made: undefined');
  assert.equal(await codeOf(eng.mkdir('a')), 'EEXIST');
  assert.equal(await codeOf(eng.mkdir('x/y')), 'ENOENT', 'a missing parent without recursive');
  assert.equal(await codeOf(eng.mkdir('x', { recursive: 'yes' } as never)), 'EINVAL');
  assert.equal(await codeOf(eng.mkdir('x', -1)), 'EINVAL');
  assert.equal(await codeOf(eng.mkdir('x', { mode: 0o755, parents: true } as never)), 'EINVAL', 'an unknown option');
  assert.equal(await eng.exists('x'), false, 'refused calls made nothing');
  await writeFile(eng, 'a/b/c/deep', Buffer.from('deep bytes'));
  await writeFile(eng, 'a/top', Buffer.from('top'));
  assert.equal(await codeOf(eng.mkdir('a/top/sub', { recursive: true })), 'ENOTDIR', 'a file in the way');
  assert.equal(await codeOf(eng.mkdir('a/top')), 'EEXIST');
  assert.deepEqual(await eng.readdir('/'), ['a']);
  assert.deepEqual((await eng.readdir('a')).sort(), ['b', 'top']);
  assert.deepEqual((await eng.readdir('a', { withFileTypes: true })).map((d) => [d.name, d.isDirectory()]).sort(), [['b', true], ['top', false]]);
  const st = await eng.stat('a/b');
  assert.ok(st.isDirectory() && !st.isFile() && st.nlink === 2);
  assert.equal(await codeOf(eng.open('a/b', 'r')), 'EISDIR');
  assert.equal(await codeOf(eng.unlink('a/b')), 'EISDIR');
  assert.equal(await codeOf(eng.rmdir('a/b')), 'ENOTEMPTY');
  assert.equal(await codeOf(eng.rmdir('a/top')), 'ENOTDIR');
  assert.equal(await codeOf(eng.rmdir('/')), 'EBUSY');
  assert.equal(await codeOf(eng.readdir('a/top')), 'ENOTDIR');
  assert.equal(await codeOf(eng.rename('a', 'a/b/inside')), 'EINVAL', 'a directory never moves below itself');
  // An open file moves between directories and keeps working.
  const held = await eng.open('a/b/c/deep', 'r+');
  await eng.rename('a/b/c/deep', 'moved');
  assert.deepEqual(await eng.readdir('a/b/c'), []);
  assert.equal((await readWhole(held, 10)).toString(), 'deep bytes');
  await held.close();
  await eng.rmdir('a/b/c');
  await eng.rename('a/b', 'b-moved'); // a directory changes parent and name in one record
  await eng.mkdir('empty');
  assert.equal(await codeOf(eng.rename('moved', 'empty')), 'EISDIR', 'a file never replaces a directory');
  assert.equal(await codeOf(eng.rename('empty', 'moved')), 'ENOTDIR', 'a directory never replaces a file');
  await eng.rename('b-moved', 'empty'); // replaces the empty directory
  assert.deepEqual((await eng.readdir('/')).sort(), ['a', 'empty', 'moved']);
  assert.deepEqual((await eng.list()).map((x) => x.name).sort(), ['a/top', 'moved'], 'list() gives files by path');
  await eng.close();
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  eng = await openImage(image);
  assert.deepEqual((await eng.readdir('/')).sort(), ['a', 'empty', 'moved']);
  assert.deepEqual(await eng.readdir('a'), ['top']);
  assert.ok((await eng.stat('empty')).isDirectory());
  const f = await eng.open('a/top', 'r');
  assert.equal((await readWhole(f, 3)).toString(), 'top');
  await f.close();
  await eng.close();
  cleanup(image);
});

test('utimes and chmod (by path, on a handle, on a view) set what node:fs sets; ctime moves; they persist', async () => {
  const image = await freshImage(8 << 20);
  let eng = await openImage(image);
  await writeFile(eng, 'f', Buffer.from('x'));
  await eng.mkdir('d');
  const before = await eng.stat('f');
  await eng.utimes('f', 1_000_000, new Date(2_000_000_500));
  await eng.chmod('f', 0o600);
  await eng.utimes('d', '3000000', 3_000_000.25);
  let st = await eng.stat('f');
  assert.equal(st.atimeMs, 1_000_000_000, 'numbers are seconds, as node:fs takes them');
  assert.equal(st.mtimeMs, 2_000_000_500);
  assert.equal(st.mode, 0o100600, 'chmod keeps the file type');
  assert.ok(st.ctimeMs >= before.ctimeMs, 'ctime moved');
  assert.equal((await eng.stat('d')).mtimeMs, 3_000_000_250);
  const h = await eng.open('f', 'r');
  await h.utimes(5, 6);
  await h.chmod(0o640);
  st = await h.stat();
  assert.deepEqual([st.atimeMs, st.mtimeMs, st.mode], [5000, 6000, 0o100640]);
  await h.close();
  assert.equal(await codeOf(eng.utimes('f', 'soon', 1)), 'EINVAL');
  assert.equal(await codeOf(eng.utimes('f', -1, 1)), 'EINVAL');
  assert.equal(await codeOf(eng.chmod('f', 0o10000)), 'EINVAL');
  assert.equal(await codeOf(eng.chmod('missing', 0o600)), 'ENOENT');
  assert.equal((await eng.stat('f')).mode, 0o100640, 'refused calls changed nothing');
  await eng.close();
  assert.ok(fsck(image).clean, fsck(image).summary);
  eng = await openImage(image);
  st = await eng.stat('f');
  assert.deepEqual([st.atimeMs, st.mtimeMs, st.mode], [5000, 6000, 0o100640], 'persisted');
  await eng.close();
  eng = await openImage(image, { readOnly: true });
  assert.equal(await codeOf(eng.utimes('f', 1, 1)), 'EROFS');
  await eng.close();
  cleanup(image);
});
