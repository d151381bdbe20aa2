// Guards DESIGN.md's contract "one engine per image" (issue 7, bug 4): while an engine has an image
// open, a second Engine.open (this process or another) and Engine.mkfs get EBUSY and change nothing;
// the first engine's synced file survives; the lock goes with the engine's close and with its
// process's death (kill -9); read-only openers share the image with each other, not with a writer.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DioreadError, Engine } from '../src/index.js';
import { cleanup, freshImage, fsck, openImage, pattern, readWhole } from './helpers/files.js';
import { tmpDir } from './helpers/image.js';

const INDEX = new URL('../src/index.js', import.meta.url).href;

/**
 * A module file for a child process (not `-e`: the engine's worker threads inherit execArgv, and
 * `--input-type` is refused there).
 */
function script(src: string): string {
  const file = path.join(tmpDir('dioread-child-'), 'child.mjs');
  fs.writeFileSync(file, `import { Engine } from ${JSON.stringify(INDEX)};\n${src}`);
  return file;
}

/** Run `body` (async code with `Engine` in scope) in a fresh node process; its error code or OK. */
function inChild(body: string): { code: string; out: string } {
  const file = script(`try { ${body}; console.log('OK'); } catch (e) { console.log(e.code ?? e.message); }`);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return { code: r.stdout.trim().split('\n').pop() ?? '', out: r.stdout + r.stderr };
}

async function expectBusy(what: string, run: () => Promise<unknown>): Promise<DioreadError> {
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof DioreadError, `${what}: expected a DioreadError, got ${String(err)}`);
  assert.equal(err.code, 'EBUSY', `${what}: ${err.message}`);
  return err;
}

test('a second opener of an open image gets EBUSY, in this process and in another; mkfs too; nothing is lost', async () => {
  const image = await freshImage(8 << 20);
  const eng = await openImage(image, { cachePages: 16 });
  const data = pattern(7, 0, 3 * 4096 + 17);
  const f = await eng.open('kept', { create: true });
  await f.write(data, 0, data.length, 0);
  await f.sync();

  const same = await expectBusy('Engine.open in the same process', () => openImage(image));
  assert.match(same.message, /in this process/);
  assert.ok(same.message.includes(image), 'the message names the image');
  await expectBusy('Engine.open readOnly in the same process', () => openImage(image, { readOnly: true }));
  await expectBusy('Engine.mkfs of the open image', () => Engine.mkfs(image, { sizeBytes: 8 << 20 }));
  const child = inChild(`await Engine.open({ path: ${JSON.stringify(image)} })`);
  assert.equal(child.code, 'EBUSY', `Engine.open in another process: ${child.out}`);
  const childMkfs = inChild(`await Engine.mkfs(${JSON.stringify(image)}, { sizeBytes: ${8 << 20} })`);
  assert.equal(childMkfs.code, 'EBUSY', `Engine.mkfs in another process: ${childMkfs.out}`);

  // The first engine is unharmed: its file reads back, then after close the image checks clean.
  assert.ok((await readWhole(f, data.length + 10)).equals(data));
  await f.close();
  await eng.close();
  const r = fsck(image);
  assert.ok(r.clean, r.summary);
  assert.deepEqual(r.files.map((x) => [x.name, x.size]), [['kept', data.length]]);

  // Closed: the image opens again.
  const again = await openImage(image);
  const g = await again.open('kept');
  assert.ok((await readWhole(g, data.length)).equals(data), 'the synced file survived every refused opener');
  await again.close();
  cleanup(image);
});

test('the lock dies with its process: after kill -9 of an engine holder, the image opens', async () => {
  const image = await freshImage(8 << 20);
  const file = script(`const eng = await Engine.open({ path: ${JSON.stringify(image)} });
    console.log('READY'); setInterval(() => {}, 1000);`);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => (b.toString().includes('READY') ? resolve() : undefined));
    child.once('exit', (c) => reject(new Error(`child exited with ${c} before it was ready`)));
  });
  await expectBusy('Engine.open while the other process holds it', () => openImage(image));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  const eng = await openImage(image);
  await eng.close();
  cleanup(image);
});

test('read-only engines share an image with each other but not with a writer', async () => {
  const image = await freshImage(8 << 20);
  const w = await openImage(image);
  const f = await w.open('x', 'w');
  await f.write('hello', 0);
  await f.close();
  await w.close();
  const r1 = await openImage(image, { readOnly: true });
  const r2 = await openImage(image, { readOnly: true });
  await expectBusy('a writer while readers hold the image', () => openImage(image));
  const h = await r2.open('x');
  assert.equal((await h.readFile('utf8')), 'hello');
  await h.close();
  await r1.close();
  await r2.close();
  const w2 = await openImage(image);
  await w2.close();
  cleanup(image);
});
