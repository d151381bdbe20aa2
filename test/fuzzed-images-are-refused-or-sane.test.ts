// Guards the contract (EFSCORRUPTED, "no other error type reaches a caller") and DESIGN.md
// invariant 12 against damaged images, the issue-7 fuzzer: images mutated field by field (with their
// checksums fixed so the damage gets past them) or blindly (bytes flipped, blocks zeroed or swapped,
// the image cut short), from a cleanly closed base and from a crash state whose journal needs
// replay. Each image is refused with a DioreadError, or opens and works and leaves fsck clean;
// never another error, a crash, a hang or unbounded memory. `npm run fuzz` runs 10,000.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { DEVICE_SEAM } from '../src/testing-symbols.js';
import { freshImage, pattern } from './helpers/files.js';
import { judgeImage, randomMutation, superOfImage } from './helpers/fuzz.js';
import { rng, tmpDir } from './helpers/image.js';
import { SK_MARK, SK_WRITE, SK_WRITE_META, applyWrite, createSeam, mark, readLog, setLogging } from './helpers/seam.js';

const IMAGES = Number(process.env.DIOREAD_FUZZ_IMAGES ?? 500);
const DEADLINE_MS = Number(process.env.DIOREAD_FUZZ_DEADLINE_MS ?? 150_000);

/** A closed image with a few files (one fragmented), and a crash state whose journal needs replay. */
async function bases(): Promise<Array<{ name: string; img: Uint8Array }>> {
  const image = await freshImage(4 << 20, { maxFiles: 8 });
  const initial = new Uint8Array(fs.readFileSync(image));
  const seam = createSeam(1 << 14, 32 << 20);
  setLogging(seam, true);
  const eng = await Engine.open({ path: image, cachePages: 16, poolThreads: 1, [DEVICE_SEAM]: seam } as never);
  const a = await eng.open('a', 'w+');
  await a.write(pattern(1, 0, 9 * 4096 + 5), 0, 9 * 4096 + 5, 0);
  const b = await eng.open('b', 'w+');
  for (let i = 0; i < 12; i += 2) await b.write(pattern(2, i * 4096, 4096), 0, 4096, i * 4096); // holes: several extents
  await a.sync();
  await b.sync();
  mark(seam, 1);
  await a.write(pattern(3, 0, 3 * 4096), 0, 3 * 4096, 20 * 4096);
  await a.truncate(5 * 4096);
  await a.close();
  await b.close();
  await eng.close();
  const closed = new Uint8Array(fs.readFileSync(image));
  const log = readLog(seam);
  const crash = initial.slice();
  for (const e of log) {
    if (e.kind === SK_MARK) break;
    if (e.kind === SK_WRITE || e.kind === SK_WRITE_META) applyWrite(crash, e);
  }
  fs.rmSync(path.dirname(image), { recursive: true, force: true });
  return [
    { name: 'closed', img: closed },
    { name: 'crashed after a sync (journal to replay)', img: crash },
  ];
}

test(`fuzzed images (${IMAGES}): refused with a DioreadError, or opened, usable and fsck-clean after use`, async (t) => {
  const all = await bases();
  const dir = tmpDir('dioread-fuzz-');
  const file = path.join(dir, 'img');
  const rand = rng(2026);
  const until = Date.now() + DEADLINE_MS;
  const rss0 = process.memoryUsage().rss;
  let maxRss = rss0;
  const outcomes = { refused: 0, opened: 0 };
  for (const base of all) {
    const o = await judgeImage(base.img.slice(), file);
    assert.equal(o, 'opened', `the undamaged base "${base.name}" opens`);
  }
  let n = 0;
  for (; n < IMAGES && Date.now() < until; n++) {
    const base = all[n % all.length];
    const sb = superOfImage(base.img);
    let img: Uint8Array = base.img.slice();
    // A cut goes last: the other mutations address blocks of the whole image.
    const muts = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomMutation(rand, sb)).sort((x, y) => Number(x.what.includes(' cut ')) - Number(y.what.includes(' cut ')));
    for (const m of muts) img = m.apply(img);
    const what = `image ${n} (base ${base.name}): ${muts.map((m) => m.what).join('; ')}`;
    let watchdog: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      judgeImage(img, file),
      new Promise<never>((_, reject) => (watchdog = setTimeout(() => reject(new Error(`${what}: no answer within 20 s (a hang)`)), 20_000))),
    ]).catch((err: Error) => {
      throw new Error(`${what}: ${err.message}`);
    }).finally(() => clearTimeout(watchdog));
    outcomes[outcome]++;
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  t.diagnostic(`${n} fuzzed images: ${outcomes.refused} refused (DioreadError), ${outcomes.opened} opened and stayed fsck-clean after use; RSS ${Math.round(rss0 / 2 ** 20)} → at most ${Math.round(maxRss / 2 ** 20)} MiB`);
  assert.ok(n >= Math.min(IMAGES, 200), `only ${n} images in the time allowed`);
  assert.ok(maxRss - rss0 < 512 << 20, 'memory stayed bounded');
});
