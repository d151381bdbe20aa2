// Guards DESIGN.md invariant 8 against a real process death: a child process runs the crash
// workload on an image file and is killed with SIGKILL at a random moment; the image then opens,
// checks clean (fsck, no errors), and every file holds its last synced version (or a mix of it and
// later versions where later steps began, zeros where their blocks were not yet converted) — never
// stale or foreign bytes. 20 rounds in npm test; `npm run soak` runs 1000.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { startChild } from './helpers/child.js';
import { VersionModel, planWorkload } from './helpers/crash-model.js';
import { cleanup, freshImage, fsck, readWhole } from './helpers/files.js';
import { rng } from './helpers/image.js';

const ROUNDS = Number(process.env.DIOREAD_KILL_ROUNDS ?? 20);
const DEADLINE_MS = Number(process.env.DIOREAD_KILL_DEADLINE_MS ?? 90_000);
const MODEL_URL = new URL('./helpers/crash-model.js', import.meta.url).href;
const STEPS = 300;

test(`kill -9 at a random moment of a metadata-heavy workload (${ROUNDS} rounds): the image opens clean with synced data intact`, async (t) => {
  const rand = rng(4242);
  const until = Date.now() + DEADLINE_MS;
  let rounds = 0;
  let totalSyncsSeen = 0;
  let replays = 0;
  for (; rounds < ROUNDS && Date.now() < until; rounds++) {
    const seed = 100 + rounds;
    const image = await freshImage(4 << 20, { maxFiles: 8 });
    const child = await startChild(
      `import { planWorkload, runWorkload, VersionModel } from ${JSON.stringify(MODEL_URL)};
       const eng = await Engine.open({ path: ${JSON.stringify(image)}, cachePages: 16, poolThreads: 1 });
       const ops = planWorkload(new VersionModel(), ${seed}, ${STEPS});
       console.log('READY');
       await runWorkload(eng, ops, (n) => console.log('SYNCED ' + n));
       console.log('DONE');
       setInterval(() => {}, 1000);`,
      'READY',
    );
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 600))); // the moment of death: random
    await child.kill();
    const out = child.out();
    const marks = [...out.matchAll(/SYNCED (\d+)/g)].map((m) => Number(m[1]));
    const lastMark = marks.length > 0 ? Math.max(...marks) : -1;
    totalSyncsSeen += marks.length;
    const model = new VersionModel();
    planWorkload(model, seed, STEPS);
    const r = fsck(image);
    assert.equal(r.errors.length, 0, `round ${rounds}: fsck after kill -9: ${r.summary}`);
    if (r.journalTransactions > 0) replays++;
    const eng = await Engine.open({ path: image });
    const listed = new Map((await eng.list()).map((x) => [x.name, x.size]));
    for (const name of model.versions.keys()) {
      let got: { size: number; bytes: Uint8Array } | null = null;
      if (listed.has(name)) {
        const f = await eng.open(name);
        got = { size: listed.get(name)!, bytes: await readWhole(f, listed.get(name)! + 1) };
        await f.close();
      }
      const problem = model.judge(name, got, lastMark);
      assert.equal(problem, null, `round ${rounds} (seed ${seed}, ${marks.length} syncs returned before the kill): ${problem}`);
    }
    await eng.close();
    assert.ok(fsck(image).clean, `round ${rounds}: fsck after reopen and close`);
    cleanup(image);
  }
  t.diagnostic(`${rounds} kill -9 rounds; ${totalSyncsSeen} syncs had returned before the kills; ${replays} images needed journal replay`);
  assert.ok(rounds >= Math.min(ROUNDS, 10), `only ${rounds} rounds before the deadline`);
});
