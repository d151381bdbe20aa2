// Guards DESIGN.md invariants 11 and 12 against the two races the protocol model found
// (docs/MODEL.md, bugs 1 and 2): a truncate that threw dirty data away before unmapping let a
// lock-free reader return an older generation from the device; a direct read that, when the extents
// changed under it, compared only its first block's mapping could return another file's bytes from a
// block truncated away and reused during its read. Bounded stress runs (the model is the proof).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanup, freshImage, openImage, runWorkersWithWatchdog } from './helpers/files.js';

const WORKER = new URL('./workers/truncate-race-worker.js', import.meta.url);
const SECONDS = Number(process.env.DIOREAD_RACE_SECONDS ?? 5);

type Result = { ops: number; bad: number; first: string };

test('a truncate racing lock-free readers never lets them read an older generation', async (t) => {
  const image = await freshImage(16 << 20);
  const eng = await openImage(image, { cachePages: 8 });
  await (await eng.open('g', 'w')).close(); // exists before the readers open it
  const shared = new SharedArrayBuffer(8);
  const desc = eng.share();
  const roles = ['generations', 'reader', 'direct-reader'];
  const rs = await runWorkersWithWatchdog<Result>(WORKER, roles.map((role) => ({ desc, role, shared, deadlineMs: SECONDS * 1000 })), 120_000, 'truncate race');
  t.diagnostic(roles.map((r, i) => `${r}: ${rs[i].ops} ops, ${rs[i].bad} bad ${rs[i].first}`).join('; '));
  assert.ok(rs[0].ops > 50, 'enough truncates');
  for (const [i, r] of rs.entries()) assert.equal(r.bad, 0, `${roles[i]}: ${r.first}`);
  await eng.close();
  cleanup(image);
});

test("a direct read never returns another file's bytes from a block truncated away and reused during it", async (t) => {
  const image = await freshImage(16 << 20);
  const eng = await openImage(image, { cachePages: 8 });
  for (const name of ['r', 'x']) await (await eng.open(name, 'w')).close();
  const shared = new SharedArrayBuffer(8);
  const desc = eng.share();
  const roles = ['shrinker', 'foreign', 'run-reader', 'run-reader'];
  const rs = await runWorkersWithWatchdog<Result>(WORKER, roles.map((role) => ({ desc, role, shared, deadlineMs: SECONDS * 1000 })), 120_000, 'reuse race');
  t.diagnostic(roles.map((r, i) => `${r}: ${rs[i].ops} ops, ${rs[i].bad} bad ${rs[i].first}`).join('; '));
  for (const [i, r] of rs.entries()) assert.equal(r.bad, 0, `${roles[i]}: ${r.first}`);
  await eng.close();
  cleanup(image);
});
