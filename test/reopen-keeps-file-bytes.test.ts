// Guards DESIGN.md invariants 6-7 across a clean close (issue 2's "close and reopen keeps every
// file's bytes"): several files of sizes that are not multiples of 4096, written through buffered
// and direct handles, overwritten, truncated and extended, read back identical after each reopen,
// with both read modes and both device modes; the image checks clean.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Engine, FileHandle } from '../src/index.js';
import { rng } from './helpers/image.js';
import { PAGE, cleanup, firstDiff, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

/** The expected contents of each file: a growable buffer per name. */
class Model {
  readonly files = new Map<string, Buffer>();
  write(name: string, data: Buffer, pos: number) {
    const cur = this.files.get(name) ?? Buffer.alloc(0);
    const next = pos + data.length > cur.length ? Buffer.concat([cur, Buffer.alloc(pos + data.length - cur.length)]) : cur;
    data.copy(next, pos);
    this.files.set(name, next);
  }
  truncate(name: string, len: number) {
    const cur = this.files.get(name) ?? Buffer.alloc(0);
    this.files.set(name, len <= cur.length ? Buffer.from(cur.subarray(0, len)) : Buffer.concat([cur, Buffer.alloc(len - cur.length)]));
  }
}

async function verifyAll(eng: Engine, model: Model, when: string) {
  const listed = new Map((await eng.list()).map((x) => [x.name, x.size]));
  for (const [name, want] of model.files) {
    assert.equal(listed.get(name), want.length, `${when}: ${name} listed with its size`);
    for (const direct of [false, true]) {
      const h = await eng.open(name, { direct });
      const diff = firstDiff(await readWhole(h, want.length + 100), want);
      assert.equal(diff, null, `${when}: ${name} through a ${direct ? 'direct' : 'buffered'} handle: ${diff?.what}`);
      await h.close();
    }
  }
}

/** One session of writes on a few files: every size odd, a mix of handle kinds, some overwrites. */
async function session(eng: Engine, model: Model, seed: number) {
  const rand = rng(seed);
  const names = ['alpha', 'beta', 'gamma', 'delta', 'a file with a long name, spaces and ünïcödé'];
  const handles = new Map<string, { buffered: FileHandle; direct: FileHandle }>();
  for (const name of names) {
    handles.set(name, { buffered: await eng.open(name, { create: true }), direct: await eng.open(name, { create: true, direct: true }) });
  }
  let tag = seed * 1000;
  for (let op = 0; op < 60; op++) {
    const name = names[Math.floor(rand() * names.length)];
    const h = handles.get(name)!;
    const size = model.files.get(name)?.length ?? 0;
    const r = rand();
    if (r < 0.75) {
      // Overwrite inside, append, or write past the end leaving a hole; lengths rarely page-sized.
      const pos = Math.floor(rand() * (size + 3 * PAGE));
      const len = 1 + Math.floor(rand() * 5 * PAGE);
      const data = pattern(++tag, pos, len);
      const viaDirect = rand() < 0.4;
      const { bytesWritten } = await (viaDirect ? h.direct : h.buffered).write(data, { position: pos });
      assert.equal(bytesWritten, len);
      model.write(name, data, pos);
    } else if (r < 0.9) {
      const len = Math.floor(rand() * (size + PAGE));
      await h.buffered.truncate(len);
      model.truncate(name, len);
    } else {
      await h.buffered.sync();
    }
  }
  // Every file gets at least one byte and an odd size.
  for (const name of names) {
    const size = model.files.get(name)?.length ?? 0;
    const data = pattern(++tag, size, 4097 + (size % 7));
    await handles.get(name)!.buffered.write(data, { position: size });
    model.write(name, data, size);
  }
  for (const h of handles.values()) {
    await h.buffered.close();
    await h.direct.close();
  }
}

for (const nolock of [true, false]) {
  for (const deviceDirect of ['auto', false] as const) {
    test(`close and reopen keeps every file's bytes (${nolock ? 'nolock' : 'inode-mutex'} reads, deviceDirect ${deviceDirect})`, async (t) => {
      const image = await freshImage(32 << 20);
      const model = new Model();
      const opts = { dioreadNolock: nolock, deviceDirect, cachePages: 24 };
      for (let round = 0; round < 3; round++) {
        const eng = await openImage(image, { ...opts, cachePages: round === 1 ? 256 : 24 });
        if (round === 0) t.diagnostic(`device O_DIRECT: ${eng.deviceDirect}`);
        if (round > 0) await verifyAll(eng, model, `after reopen ${round}`);
        await session(eng, model, (nolock ? 11 : 22) + round + (deviceDirect === false ? 100 : 0));
        await verifyAll(eng, model, `round ${round} before close`);
        await eng.close();
        const r = fsck(image);
        assert.ok(r.clean, `round ${round}: ${r.summary}`);
        assert.deepEqual(r.warnings, [], `round ${round}: closed cleanly, no leaked blocks`);
        const sizes = Object.fromEntries(r.files.map((f) => [f.name, f.size]));
        for (const [name, buf] of model.files) {
          assert.equal(sizes[name], buf.length, `round ${round}: ${name}'s size on the image`);
          assert.notEqual(buf.length % PAGE, 0, `${name}'s size is not a multiple of 4096`);
        }
        for (const f of r.files) assert.equal(f.unwrittenBlocks, 0, `round ${round}: ${f.name} has no unwritten extent after close`);
      }
      const eng = await openImage(image, opts);
      await verifyAll(eng, model, 'final reopen');
      await eng.close();
      t.diagnostic(`files ${[...model.files].map(([n, b]) => `${n.slice(0, 8)}=${b.length}`).join(' ')}`);
      cleanup(image);
    });
  }
}
