// Guards DESIGN.md invariant 11 (a direct read is coherent with dirty pages in the cache) against
// issue 7's bug 5: a direct read decides "not cached" from a lock-free walk of the page hash, which
// it trusts when the hash's change counter did not move. The counter must cover the whole chain
// change: a walk standing on a page that eviction unhooks (its next link cleared) missed the pages
// behind it, and the direct read returned the block's older bytes from the device while the newer
// ones sat in a dirty page. Here one block's newest bytes live only in a dirty page; churn evicts and
// inserts pages on the same hash chain; every direct read of the block must see the newest bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageHash } from '../src/cache.js';
import { PAGE, cleanup, freshImage, openImage, runWorkersWithWatchdog } from './helpers/files.js';

const WORKER = new URL('./workers/hash-churn-worker.js', import.meta.url);

test('direct reads of a block a writer keeps dirtying, under eviction churn on its hash chain, never go back a generation', async (t) => {
  const image = await freshImage(16 << 20);
  const cachePages = 8;
  const eng = await openImage(image, { cachePages });
  const f = await eng.open('f', 'w+');
  const fileBlocks = 512;
  await f.write(Buffer.alloc(fileBlocks * PAGE, 0), 0, fileBlocks * PAGE, 0); // generation 0, everywhere
  await f.sync();
  await eng.dropCaches();
  const target = 3;
  const ino = (await f.cacheState()).ino;
  // Churn blocks: on the target's hash chain (same bucket), so evictions unhook pages next to it.
  const mask = eng.layout.hashBuckets - 1;
  const bucket = pageHash(ino, target) & mask;
  const churn: number[] = [];
  for (let b = 0; b < fileBlocks && churn.length < 24; b++) if (b !== target && (pageHash(ino, b) & mask) === bucket) churn.push(b);
  assert.ok(churn.length >= cachePages, `found ${churn.length} blocks on the target's chain`);
  const desc = eng.share();
  const shared = new SharedArrayBuffer(8);
  const job = (role: string, blocks: number[]) => ({ desc, role, blocks, shared, deadlineMs: 5000, maxOps: 3_000_000 });
  const [probe, writer, ch] = await runWorkersWithWatchdog<{ ops: number; older: number; first: string }>(
    WORKER,
    [job('probe', [target]), job('writer', [target]), job('churn', churn)],
    60_000,
    'probe, writer and churn',
  );
  const c = eng.counters();
  t.diagnostic(`direct reads ${probe.ops}, older than the last returned write ${probe.older} ${probe.first}; writes ${writer.ops}; churn reads ${ch.ops}, evictions ${c.evictions}, writebacks ${c.writebacks}`);
  assert.ok(c.evictions > 1000, 'the churn evicted pages on the chain');
  assert.equal(probe.older, 0, `a direct read went back a generation: ${probe.first}`);
  await f.close();
  await eng.close();
  cleanup(image);
});
