// Guards DESIGN.md's contract for readOnly (issue 7, "Read-only images open read-only"): a
// read-only engine reads every file, refuses every write with EROFS (open with write flags,
// write, truncate, create, writes from an attached view) and leaves the image byte for byte as it was.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DioreadError } from '../src/index.js';
import { cleanup, freshImage, openImage, pattern, readWhole } from './helpers/files.js';

async function expectErofs(what: string, run: () => unknown): Promise<void> {
  const err = await Promise.resolve()
    .then(run)
    .then(
      () => null,
      (e: unknown) => e,
    );
  assert.ok(err instanceof DioreadError, `${what}: expected a DioreadError, got ${String(err)}`);
  assert.equal(err.code, 'EROFS', `${what}: ${err.message}`);
}

test('a read-only engine reads, refuses every write with EROFS, and changes no byte of the image', async () => {
  const image = await freshImage(8 << 20);
  const data = pattern(3, 0, 2 * 4096 + 5);
  const w = await openImage(image);
  const f = await w.open('a', 'w+');
  await f.write(data, 0, data.length, 0);
  await f.close();
  await w.close();
  const before = fs.readFileSync(image);

  const eng = await openImage(image, { readOnly: true });
  assert.equal(eng.readOnly, true);
  const h = await eng.open('a');
  assert.ok((await readWhole(h, data.length + 1)).equals(data), 'reads see the file');
  await expectErofs('open with r+', () => eng.open('a', 'r+'));
  await expectErofs('open with w', () => eng.open('a', 'w'));
  await expectErofs('create a new file', () => eng.open('b', { create: true }));
  const rw = await eng.open('a', { direct: true }); // the options object opens; its writes fail
  await expectErofs('write through an options-object handle', () => rw.write(Buffer.from('x'), 0, 1, 0));
  await expectErofs('truncate', () => rw.truncate(0));
  await rw.sync(); // nothing to sync: resolves
  const viaWorker = await new Promise<string>((resolve, reject) => {
    const src = `const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(new URL('../src/index.js', import.meta.url).href)}).then(({ attach }) => {
        const v = attach(workerData);
        let code = 'none';
        try { v.openSync('a', 'r+'); } catch (e) { code = e.code; }
        let code2 = 'none';
        const fh = v.openSync('a', { direct: false });
        try { fh.writeSync(Buffer.from('x'), 0, 1, 0); } catch (e) { code2 = e.code; }
        fh.closeSync(); v.detach();
        parentPort.postMessage(code + ' ' + code2);
      });`;
    const wk = new Worker(src, { eval: true, workerData: eng.share() });
    wk.once('message', resolve);
    wk.once('error', reject);
  });
  assert.equal(viaWorker, 'EROFS EROFS', 'an attached view refuses writes too');
  await h.close();
  await rw.close();
  await eng.close();
  assert.ok(fs.readFileSync(image).equals(before), 'the image is byte for byte what it was');
  cleanup(image);
});
