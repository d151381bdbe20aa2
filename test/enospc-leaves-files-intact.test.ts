// Guards DESIGN.md invariants 1 and 7 on a full device (issue 2: "a full device gives ENOSPC, with
// nothing already stored damaged"): on a tiny device the write that fills it comes back short, the
// next one throws DioreadError ENOSPC and changes nothing, other files keep every byte (also after
// close and reopen), fsck finds no leaked block, and freed space is usable again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DioreadError, type FileHandle } from '../src/index.js';
import { PAGE, cleanup, firstDiff, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';

async function assertEnospc(p: Promise<unknown>, what: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DioreadError, `${what}: a DioreadError, got ${String(err)}`);
    assert.equal(err.code, 'ENOSPC', `${what}: ${err.message}`);
    assert.match(err.message, /position \d+/, `${what}: the message names the write`);
    return true;
  });
}

async function assertContents(f: FileHandle, want: Buffer, what: string) {
  const st = await f.stat();
  assert.equal(st.size, want.length, `${what}: size`);
  const d = firstDiff(await readWhole(f, want.length + PAGE), want);
  assert.equal(d, null, `${what}: ${d?.what}`);
}

for (const nolock of [true, false]) {
  test(`a full device: short write, then ENOSPC; other files intact (${nolock ? 'nolock' : 'inode-mutex'})`, async (t) => {
    const image = await freshImage(2 << 20, { maxFiles: 8 });
    const eng = await openImage(image, { cachePages: 32, dioreadNolock: nolock });
    const free0 = eng.counters().freeBlocks;
    const want = new Map<string, Buffer>();

    // a (buffered) and b (direct): sizes that are not whole blocks.
    const a = await eng.open('a', { create: true });
    want.set('a', pattern(1, 0, 100 * PAGE + 123));
    await a.write(want.get('a')!, { position: 0 });
    await a.sync();
    const b = await eng.open('b', { create: true, direct: true });
    want.set('b', pattern(2, 0, 50 * PAGE + 7));
    await b.write(want.get('b')!, { position: 0 });
    // Data may not take the blocks kept for extent-tree nodes (alloc.ts metaReserve).
    const reserved = eng.counters().reservedBlocks;
    assert.equal(eng.counters().freeBlocks, free0 - 101 - 51, 'a and b hold 152 blocks');
    const left = free0 - 101 - 51 - reserved;

    // c: asks for 5 blocks more than the device has left: a short write.
    const c = await eng.open('c', { create: true });
    const cWant = pattern(3, 0, (left + 5) * PAGE);
    const { bytesWritten } = await c.write(cWant, { position: 0 });
    t.diagnostic(`free blocks at start ${free0}, before c ${left}; c: asked ${cWant.length}, wrote ${bytesWritten}`);
    assert.equal(bytesWritten, left * PAGE, 'short: exactly the blocks left');
    assert.equal(eng.counters().freeBlocks, reserved, 'only the reserve is left');
    want.set('c', cWant.subarray(0, bytesWritten));
    assert.equal((await c.stat()).size, bytesWritten, 'size covers only what was written');

    // Nothing left: a write that needs a new block fails and changes nothing.
    await assertEnospc(c.write(pattern(4, bytesWritten, 10), { position: bytesWritten }), 'append to c');
    await assertEnospc(c.write(pattern(4, bytesWritten + 5 * PAGE, 10), { position: bytesWritten + 5 * PAGE }), 'write past the end of c');
    const d = await eng.open('d', { create: true });
    await assertEnospc(d.write(pattern(5, 0, 3 * PAGE), { position: 0 }), 'buffered write to an empty file');
    const dd = await eng.open('d', { direct: true });
    await assertEnospc(dd.write(pattern(5, 0, 3 * PAGE), { position: 0 }), 'direct write to an empty file');
    const dst = await d.stat();
    assert.equal(dst.size, 0, 'd unchanged by the failed writes');
    assert.equal(dst.blocks, 0);
    // Overwriting allocated blocks needs no space: it works on a full device.
    const over = pattern(6, 40 * PAGE + 11, 2 * PAGE);
    await a.write(over, { position: 40 * PAGE + 11 });
    over.copy(want.get('a')!, 40 * PAGE + 11);
    await assertContents(a, want.get('a')!, 'a on the full device');
    await assertContents(b, want.get('b')!, 'b on the full device');
    await assertContents(c, want.get('c')!, 'c on the full device');
    for (const f of [a, b, c, d, dd]) await f.sync();
    assert.equal(eng.counters().conversionErrors, 0);

    // Free 10 blocks; a direct write of 15 comes back short at 10, then ENOSPC again.
    await c.truncate(bytesWritten - 10 * PAGE);
    want.set('c', want.get('c')!.subarray(0, bytesWritten - 10 * PAGE));
    const dWant = pattern(7, 0, 15 * PAGE);
    const r2 = await dd.write(dWant, { position: 0 });
    assert.equal(r2.bytesWritten, 10 * PAGE, 'direct short write');
    want.set('d', dWant.subarray(0, 10 * PAGE));
    await assertEnospc(dd.write(dWant.subarray(10 * PAGE), { position: 10 * PAGE }), 'direct append to d');
    for (const f of [a, b, c, d, dd]) await f.close();
    await eng.close();

    const r = fsck(image);
    assert.ok(r.clean, r.summary);
    assert.deepEqual(r.warnings, [], 'no leaked blocks after the failed writes');
    assert.equal(r.freeBlocks, reserved, 'only the reserve is free');

    const eng2 = await openImage(image, { cachePages: 16, dioreadNolock: nolock });
    for (const [name, buf] of want) {
      for (const direct of [false, true]) {
        const h = await eng2.open(name, { direct });
        await assertContents(h, buf, `${name} after reopen (${direct ? 'direct' : 'buffered'})`);
        await h.close();
      }
    }
    // Space freed by truncate is usable again.
    const c2 = await eng2.open('c', 'r+');
    await c2.truncate(0);
    const e = await eng2.open('e', { create: true });
    const eWant = pattern(8, 0, (left - 10) * PAGE);
    assert.equal((await e.write(eWant, { position: 0 })).bytesWritten, eWant.length);
    await assertContents(e, eWant, 'e in the space c gave back');
    await e.close();
    await c2.close();
    await eng2.close();
    assert.ok(fsck(image).clean);
    cleanup(image);
  });
}
