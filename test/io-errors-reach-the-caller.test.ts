// Guards DESIGN.md invariants 6 and 8 against the cases of issue 7's bug 8, each on its own: a
// flush that fails is never followed by a sync that succeeds without the data (fsyncgate); a direct
// write the host rejects (ENOSPC) leaves the file as it was; while dirty pages cannot be written,
// reads of data already on disk still work; an EIO on a metadata write never leaves an image that
// will not open behind syncs that said success.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DioreadError, Engine } from '../src/index.js';
import { DEVICE_SEAM } from '../src/testing-symbols.js';
import { PAGE, cleanup, freshImage, fsck, pattern, readWhole } from './helpers/files.js';
import { SK_FLUSH, SK_WRITE, SK_WRITE_META, clearFault, createSeam, setFault } from './helpers/seam.js';

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (e instanceof DioreadError ? e.code : `not a DioreadError: ${String(e)}`),
  );
}

async function recorded(image: string, opts: Record<string, unknown> = {}) {
  const seam = createSeam(16, 1 << 16);
  const eng = await Engine.open({ path: image, cachePages: 16, poolThreads: 1, [DEVICE_SEAM]: seam, ...opts } as never);
  return { seam, eng };
}

test('a failed flush: that sync fails, and every later sync fails too (the engine is read-only), never a success without the data', async () => {
  const image = await freshImage(8 << 20);
  const { seam, eng } = await recorded(image);
  const f = await eng.open('f', 'w+');
  await f.write(pattern(1, 0, 3 * PAGE), 0, 3 * PAGE, 0);
  setFault(seam, { at: 0, kinds: SK_FLUSH });
  assert.equal(await code(f.sync()), 'EIO', 'the sync whose flush failed');
  clearFault(seam);
  assert.equal(await code(f.sync()), 'EIO', 'the next sync (the device works again): the data written before the failed flush is not known to be on disk');
  assert.equal(await code(f.write(Buffer.from('x'), 0, 1, 0)), 'EROFS', 'writes after the abort');
  assert.equal(eng.readOnly, true);
  assert.equal(await code(eng.close()), 'EIO', 'close says so too');
  const eng2 = await Engine.open({ path: image });
  await eng2.close();
  assert.ok(fsck(image).clean);
  cleanup(image);
});

test('a direct write the host rejects with ENOSPC leaves the file as it was', async () => {
  const image = await freshImage(8 << 20);
  const { seam, eng } = await recorded(image);
  const f = await eng.open('f', { create: true, direct: true });
  const before = pattern(2, 0, 2 * PAGE + 100);
  await f.write(before, 0, before.length, 0);
  await f.sync();
  setFault(seam, { at: 0, kinds: SK_WRITE, errno: 'ENOSPC' });
  assert.equal(await code(f.write(pattern(3, 0, 5 * PAGE), 0, 5 * PAGE, PAGE)), 'ENOSPC');
  clearFault(seam);
  assert.equal((await f.stat()).size, before.length, 'the size did not change');
  assert.ok((await readWhole(f, before.length + PAGE)).equals(before), 'the bytes did not change');
  await f.close();
  await eng.close();
  cleanup(image);
});

test('while dirty pages cannot be written back (host full), reads of synced data still work and sync reports the error', async () => {
  const image = await freshImage(8 << 20);
  const { seam, eng } = await recorded(image);
  const a = await eng.open('a', 'w+');
  const synced = pattern(4, 0, 24 * PAGE);
  await a.write(synced, 0, synced.length, 0);
  await a.sync();
  await eng.dropCaches();
  setFault(seam, { at: 0, kinds: SK_WRITE, errno: 'ENOSPC', persist: true });
  const b = await eng.open('b', 'w+');
  // Dirty the whole 16-page cache with b: none of it can be written back now.
  for (let i = 0; i < 16; i++) await code(b.write(pattern(5 + i, i * PAGE, PAGE), 0, PAGE, i * PAGE));
  const got = await readWhole(a, synced.length);
  assert.ok(got.equals(synced), "a's synced bytes read back while the cache is full of unwritable pages");
  assert.equal(await code(b.sync()), 'ENOSPC', "b's sync reports the host's error");
  clearFault(seam);
  assert.equal(await code(b.sync()), 'ok', 'once the host has room, the retry writes the still-dirty pages');
  const eng2Pending = eng.close();
  await eng2Pending;
  const eng2 = await Engine.open({ path: image });
  const b2 = await eng2.open('b');
  for (let i = 0; i < 16; i++) {
    const page = Buffer.alloc(PAGE);
    await b2.read(page, 0, PAGE, i * PAGE);
    assert.ok(page.equals(pattern(5 + i, i * PAGE, PAGE)), `b's page ${i} reached the disk on the retry`);
  }
  await eng2.close();
  cleanup(image);
});

test('an EIO on each metadata write of a sync: the sync fails, no later sync succeeds, the image reopens with what was committed', async (t) => {
  let cases = 0;
  for (let at = 0; at < 6; at++) {
    const image = await freshImage(8 << 20);
    const { seam, eng } = await recorded(image);
    const f = await eng.open('f', 'w+');
    const first = pattern(6, 0, 2 * PAGE);
    await f.write(first, 0, first.length, 0);
    await f.sync();
    await f.write(pattern(7, 0, 6 * PAGE), 0, 6 * PAGE, 0);
    setFault(seam, { at, kinds: SK_WRITE_META });
    const c1 = await code(f.sync());
    clearFault(seam);
    const c2 = await code(f.sync());
    if (c1 === 'ok') {
      assert.equal(c2, 'ok');
      await eng.close();
      cleanup(image);
      continue; // the sync had fewer metadata writes than `at`
    }
    cases++;
    assert.equal(c1, 'EIO', `metadata write ${at}: the sync`);
    assert.equal(c2, 'EIO', `metadata write ${at}: the sync after it`);
    await code(eng.close());
    const eng2 = await Engine.open({ path: image });
    const g = await eng2.open('f');
    const got = await readWhole(g, 6 * PAGE + 1);
    const second = pattern(7, 0, 6 * PAGE);
    assert.ok(got.length === first.length || got.length === second.length, `metadata write ${at}: size ${got.length} is one of the two versions'`);
    for (let i = 0; i * PAGE < got.length; i++) {
      const page = got.subarray(i * PAGE, (i + 1) * PAGE);
      const ok = page.equals(second.subarray(i * PAGE, i * PAGE + page.length)) || page.equals(first.subarray(i * PAGE, i * PAGE + page.length)) || page.every((x) => x === 0);
      assert.ok(ok, `metadata write ${at}: page ${i} is neither version's (nor zeros of an unconverted block)`);
    }
    await eng2.close();
    assert.ok(fsck(image).clean, `metadata write ${at}: fsck`);
    cleanup(image);
  }
  t.diagnostic(`${cases} metadata writes of the sync failed in turn`);
  assert.ok(cases >= 3);
});
