// Guards issue 12's lifecycle points (and DESIGN.md's "no other error type reaches a caller"): a
// program that never closes its engine still exits when its own work is done (the engine's workers
// do not hold the event loop); a failure inside an engine worker reaches the caller as a
// DioreadError (EIO), never kills the host, and takes the engine read-only (errors=remount-ro), so
// nothing a bug touched is written; the image reopens with what was committed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { DioreadError, type Engine } from '../src/index.js';
import { attachUnchecked } from '../src/attach.js';
import { I_COMPLETED_HEAD, I_COMPLETED_TAIL, IO_COUNT, IO_INO, IO_LBLK, IO_NEXT, IO_PREV, inodeWord, ioEndWord } from '../src/shm/layout.js';
import { runChild } from './helpers/child.js';
import { PAGE, cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

/** Bound for a child that should exit at once; reaching it means the engine held the process. */
const EXIT_BOUND_MS = 30_000;

test('a program that never closes its engine exits when its work is done; the image reopens with its synced data', async () => {
  const image = await freshImage(8 << 20);
  for (const work of [
    '', // opened, nothing done
    `const f = await eng.open('synced', 'w');
await f.write(pattern(3, 0, 5 * 4096), 0, 5 * 4096, 0);
await f.sync();
const g = await eng.open('unsynced', 'w');
await g.write('lost, as with a process that never fsyncs', 0);`,
  ]) {
    const t0 = Date.now();
    const r = runChild(`const eng = await Engine.open({ path: ${JSON.stringify(image)} });\n${work}\nconsole.log('work done');`, EXIT_BOUND_MS);
    assert.equal(r.signal, null, `the child was killed after ${Date.now() - t0} ms: the engine kept it alive (${r.out})`);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /work done/);
  }
  const eng = await openImage(image);
  const f = await eng.open('synced', 'r');
  assert.ok((await readWhole(f, 5 * PAGE)).equals(pattern(3, 0, 5 * PAGE)), 'synced data survives the unclosed engine');
  await f.close();
  await eng.close();
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  cleanup(image);
});

/** Corrupt inode `ino`'s completed list in shared memory: an io_end whose next is itself (a loop). */
function loopCompletedList(eng: Engine, ino: number): void {
  const v = attachUnchecked(eng.share()).volume;
  const l = v.layout;
  const io = l.ioEnds - 1; // the last of the pool: free while nothing is being written back
  v.i32[ioEndWord(l, io, IO_INO)] = ino;
  v.i32[ioEndWord(l, io, IO_LBLK)] = 0;
  v.i32[ioEndWord(l, io, IO_COUNT)] = 1;
  v.i32[ioEndWord(l, io, IO_NEXT)] = io;
  v.i32[ioEndWord(l, io, IO_PREV)] = -1;
  v.i32[inodeWord(l, ino, I_COMPLETED_HEAD)] = io;
  v.i32[inodeWord(l, ino, I_COMPLETED_TAIL)] = io;
}

test('a broken invariant inside a pool worker reaches the caller as EIO, the host lives, the engine goes read-only', async () => {
  const image = await freshImage(8 << 20);
  let eng = await openImage(image, { poolThreads: 1 });
  const keep = await eng.open('keep', 'w+');
  await keep.write(pattern(4, 0, 3 * PAGE), 0, 3 * PAGE, 0);
  await keep.sync();
  const victim = await eng.open('victim', 'w+');
  await victim.write('x', 0);
  await victim.sync(); // nothing of its own in flight: the corrupted list is all the next sync meets
  loopCompletedList(eng, victim.ino);
  const err = await victim.sync().then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof DioreadError, `a DioreadError, not ${String(err)}`);
  assert.equal(err.code, 'EIO');
  assert.match(err.message, /internal failure.*read-only.*invariant violated/);
  assert.equal(eng.readOnly, true, 'the engine went read-only');
  await assert.rejects(keep.write('more', 0), (e: unknown) => e instanceof DioreadError && e.code === 'EROFS', 'writes are refused');
  assert.ok((await readWhole(keep, 3 * PAGE)).equals(pattern(4, 0, 3 * PAGE)), 'reads keep working');
  await assert.rejects(eng.close(), (e: unknown) => e instanceof DioreadError && e.code === 'EIO' && /internal failure/.test(e.message), 'close reports the failure');
  await eng.close(); // a second close resolves (the engine is closed), as node's FileHandle.close does
  eng = await openImage(image);
  const k = await eng.open('keep', 'r');
  assert.ok((await readWhole(k, 3 * PAGE)).equals(pattern(4, 0, 3 * PAGE)), 'what was committed is there after a reopen');
  await k.close();
  await eng.close();
  assert.ok(fsck(image).clean, fsck(image).summary);
  cleanup(image);
});

test('a conversion worker that dies makes the engine read-only with EIO at close; the host lives', async () => {
  const image = await freshImage(8 << 20);
  const eng = await openImage(image);
  const f = await eng.open('a', 'w+');
  await f.write(pattern(5, 0, 2 * PAGE), 0, 2 * PAGE, 0);
  await f.sync();
  await (eng as unknown as { convWorker: { terminate(): Promise<number> } }).convWorker.terminate();
  assert.equal(eng.readOnly, true, 'read-only once the conversion worker is gone');
  await assert.rejects(f.write('x', 0), (e: unknown) => e instanceof DioreadError && e.code === 'EROFS');
  assert.ok((await readWhole(f, 2 * PAGE)).equals(pattern(5, 0, 2 * PAGE)));
  await assert.rejects(eng.close(), (e: unknown) => e instanceof DioreadError && e.code === 'EIO' && /conversion worker/.test(e.message));
  const again = await openImage(image);
  const g = await again.open('a', 'r');
  assert.ok((await readWhole(g, 2 * PAGE)).equals(pattern(5, 0, 2 * PAGE)));
  await g.close();
  await again.close();
  cleanup(image);
});

test('a host run with node --input-type=module -e (or from stdin) can open an engine: its workers do not inherit the flag', async () => {
  const src = `import { Engine } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
const eng = await Engine.open({ sizeBytes: 8 << 20 });
const f = await eng.open('x', 'w+');
await f.write('hi', 0);
await f.sync();
await eng.close();
console.log('engine ok');`;
  const viaEval = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: EXIT_BOUND_MS });
  assert.match(viaEval.stdout, /engine ok/, `--input-type=module -e: ${viaEval.stderr.slice(0, 500)}`);
  const viaStdin = spawnSync(process.execPath, ['--input-type=module'], { input: src, encoding: 'utf8', timeout: EXIT_BOUND_MS });
  assert.match(viaStdin.stdout, /engine ok/, `stdin: ${viaStdin.stderr.slice(0, 500)}`);
});
