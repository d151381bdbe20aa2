// Guards DESIGN.md invariant 12 and the contract's EFSCORRUPTED against issue 7's bug 9 (damage not
// detected): a zeroed inode table, one cleared bitmap bit under a file's block, an image cut short,
// a superblock with a valid checksum and absurd geometry, a file with a negative (huge) size; and,
// since directories, a file whose parent is a file and directories that are each other's parent. Each
// must be refused at open with EFSCORRUPTED naming the problem, and reported by fsck (exit 4),
// with memory bounded by the image's real size; nothing is written to the image.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { DioreadError, Engine } from '../src/index.js';
import { fsckImage } from '../src/fsck.js';
import { DI_PARENT, DI_ROOT, DI_SIZE_HI, SB_BLOCK_COUNT, SB_MAX_FILES, SB_RESERVED_5, setU32, u32 } from '../src/ondisk.js';
import { cleanup, freshImage, openImage, pattern } from './helpers/files.js';
import { blockOf, inodeRecord, resealBlock, resealInode, resealSuper, superOf } from './helpers/image-edit.js';

async function goodImage(): Promise<string> {
  const image = await freshImage(4 << 20, { maxFiles: 8 });
  const eng = await openImage(image);
  for (const name of ['a', 'b']) {
    const f = await eng.open(name, 'w+');
    const d = pattern(name.charCodeAt(0), 0, 5 * 4096 + 9);
    await f.write(d, 0, d.length, 0);
    await f.close();
  }
  await eng.close();
  return image;
}

async function expectRefused(image: string, what: string, mustName: RegExp): Promise<void> {
  const before = fs.readFileSync(image);
  const rss0 = process.memoryUsage().rss;
  const err = await Engine.open({ path: image }).then(async (e) => { await e.close(); return null; }, (e: unknown) => e);
  assert.ok(err instanceof DioreadError, `${what}: Engine.open gave ${String(err)}`);
  assert.equal(err.code, 'EFSCORRUPTED', `${what}: ${err.message}`);
  assert.match(err.message, mustName, `${what}: the message names the problem`);
  const r = fsckImage(image);
  assert.equal(r.exitCode, 4, `${what}: fsck exit code (errors ${r.errors.slice(0, 3)})`);
  assert.ok(r.errors.length > 0 && r.errors.length <= 1001);
  assert.ok(process.memoryUsage().rss - rss0 < 256 << 20, `${what}: open and fsck stayed within memory`);
  assert.ok(fs.readFileSync(image).equals(before), `${what}: nothing was written to the image`);
}

test('a zeroed inode table is refused: EFSCORRUPTED, not an image with no files', async () => {
  const image = await goodImage();
  const img = new Uint8Array(fs.readFileSync(image));
  const sb = superOf(img);
  for (let b = 0; b < sb.inodeBlocks; b++) blockOf(img, sb.inodeTable + b).fill(0);
  fs.writeFileSync(image, img);
  await expectRefused(image, 'zeroed inode table', /inode table: block \d+ has magic 0x0/);
  cleanup(image);
});

test("one cleared bitmap bit under a file's block (checksum fixed) is refused: no file may overwrite another's block", async () => {
  const image = await goodImage();
  const img = new Uint8Array(fs.readFileSync(image));
  const sb = superOf(img);
  const rec = inodeRecord(img, sb, 0);
  assert.equal(u32(rec, 0), 1);
  const pblk = u32(rec, DI_ROOT + 4 + 2); // the root's first extent's pblk (a small file: the root is its leaf)
  const bm = blockOf(img, sb.bitmap);
  bm[16 + (pblk >>> 3)] &= ~(1 << (pblk & 7));
  resealBlock(img, sb.bitmap);
  fs.writeFileSync(image, img);
  await expectRefused(image, 'cleared bitmap bit', new RegExp(`block ${pblk} of inode 0 is marked free`));
  cleanup(image);
});

test('an image cut short (to its metadata, or by one block) is refused', async () => {
  for (const keep of ['metadata', 'one block less'] as const) {
    const image = await goodImage();
    const img = fs.readFileSync(image);
    const sb = superOf(new Uint8Array(img));
    const bytes = keep === 'metadata' ? sb.firstDataBlock * 4096 : img.length - 4096;
    fs.truncateSync(image, bytes);
    await expectRefused(image, `cut to ${keep}`, /cut short/);
    cleanup(image);
  }
});

test('a superblock with a valid checksum and huge geometry is refused without allocating it', async () => {
  for (const [field, value] of [
    [SB_BLOCK_COUNT, 0x7fffffff],
    [SB_MAX_FILES, 65536],
    [SB_RESERVED_5, 4096],
    [SB_BLOCK_COUNT, 0xffffffff],
  ] as const) {
    const image = await goodImage();
    const img = new Uint8Array(fs.readFileSync(image));
    setU32(blockOf(img, 0), field, value);
    resealSuper(img);
    fs.writeFileSync(image, img);
    await expectRefused(image, `superblock word ${field} = ${value}`, /block count|blocks|maxFiles|reserved|geometry|journal/);
    cleanup(image);
  }
});

test('a file with a negative (huge) size, checksums fixed, is refused', async () => {
  const image = await goodImage();
  const img = new Uint8Array(fs.readFileSync(image));
  const sb = superOf(img);
  setU32(inodeRecord(img, sb, 1), DI_SIZE_HI, 0xffffffff);
  resealInode(img, sb, 1);
  fs.writeFileSync(image, img);
  await expectRefused(image, 'size -1', /inode 1: size \d+ over the largest file size/);
  cleanup(image);
});

test('a file whose parent directory is a file, checksums fixed, is refused', async () => {
  const image = await goodImage();
  const img = new Uint8Array(fs.readFileSync(image));
  const sb = superOf(img);
  setU32(inodeRecord(img, sb, 1), DI_PARENT, 0 + 1); // 'b' inside 'a', a file
  resealInode(img, sb, 1);
  fs.writeFileSync(image, img);
  await expectRefused(image, 'parent is a file', /inode 1: its parent, inode 0, is not a directory/);
  cleanup(image);
});

test('two directories that are each other\'s parent (a cycle no path reaches), checksums fixed, are refused', async () => {
  const image = await freshImage(4 << 20, { maxFiles: 8 });
  const eng = await openImage(image);
  await eng.mkdir('d0');
  await eng.mkdir('d1');
  await eng.close();
  const img = new Uint8Array(fs.readFileSync(image));
  const sb = superOf(img);
  setU32(inodeRecord(img, sb, 0), DI_PARENT, 1 + 1);
  setU32(inodeRecord(img, sb, 1), DI_PARENT, 0 + 1);
  resealInode(img, sb, 0);
  resealInode(img, sb, 1);
  fs.writeFileSync(image, img);
  await expectRefused(image, 'parent cycle', /parent directories form a cycle/);
  cleanup(image);
});
