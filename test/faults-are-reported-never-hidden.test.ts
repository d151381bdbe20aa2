// Guards DESIGN.md invariants 6 and 8 under I/O errors, against issue 7's bug 8 (faults reported
// wrongly): through the device seam, EIO (and ENOSPC) is injected at one device operation of a
// workload at a time — a data write, a metadata write, a flush, a read. Each failing call gets a
// DioreadError (no other error type); no success hides an earlier error (a sync that returns
// covered its data: after reopen its version is intact); the image reopens and checks clean. A
// persistent metadata error turns the engine read-only (EROFS for writes, EIO for syncs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DioreadError, Engine, type FileHandle } from '../src/index.js';
import { DEVICE_SEAM } from '../src/testing-symbols.js';
import { VersionModel } from './helpers/crash-model.js';
import { PAGE, cleanup, freshImage, fsck, pattern, readWhole } from './helpers/files.js';
import { rng, tmpDir } from './helpers/image.js';
import { SK_FLUSH, SK_READ, SK_READ_META, SK_WRITE, SK_WRITE_META, clearFault, countOps, createSeam, seamStats, setFault } from './helpers/seam.js';

const DEADLINE_MS = Number(process.env.DIOREAD_FAULT_DEADLINE_MS ?? 50_000);
const RUNS_PER_KIND = Number(process.env.DIOREAD_FAULT_RUNS ?? 12);
const BLOCKS = 1024;
const FORMAT = { maxFiles: 8 };

interface Outcome {
  errors: unknown[];
  /** Mark of the last sync that returned success, per the model. */
  lastMark: number;
}

/** A workload that keeps going after errors; only calls that returned update what is durable. */
async function faultWorkload(eng: Engine, model: VersionModel, seed: number): Promise<Outcome> {
  const rand = rng(seed);
  const errors: unknown[] = [];
  let lastMark = -1;
  const names = ['one', 'two', 'three'];
  const handles = new Map<string, FileHandle>();
  const attempt = async (run: () => Promise<unknown>): Promise<boolean> => {
    try {
      await run();
      return true;
    } catch (err) {
      errors.push(err);
      return false;
    }
  };
  /**
   * A call that changed a file failed: what it left is the engine's business (part of a write may
   * have landed in the cache). Read the file back and take that as its current version, so the
   * versions after it build on what is really there; if even that fails, the pushed guess stands.
   */
  const settle = async (name: string, f: FileHandle) => {
    try {
      const { size } = await f.stat();
      const now = Buffer.alloc(size);
      if (size > 0) await f.read(now, 0, size, 0);
      model.push(name, now);
    } catch (err) {
      errors.push(err);
    }
  };
  let tag = seed * 1000;
  for (let step = 0; step < 40; step++) {
    const name = names[Math.floor(rand() * names.length)];
    if (!handles.has(name)) {
      let h: FileHandle | undefined;
      if (!(await attempt(async () => (h = await eng.open(name, { create: true }))))) continue;
      handles.set(name, h!);
      if (!model.versions.has(name)) model.push(name, Buffer.alloc(0));
    }
    const f = handles.get(name)!;
    const cur = model.current(name);
    const r = rand();
    if (r < 0.45) {
      const pos = Math.floor(rand() * (cur.length + PAGE));
      const len = 1 + Math.floor(rand() * 4 * PAGE);
      const data = pattern(++tag, pos, len);
      const next = Buffer.alloc(Math.max(cur.length, pos + len));
      cur.copy(next);
      data.copy(next, pos);
      model.push(name, next);
      if (!(await attempt(() => f.write(data, 0, len, pos)))) await settle(name, f);
    } else if (r < 0.6) {
      const len = Math.floor(rand() * (cur.length + 1));
      model.push(name, Buffer.from(cur.subarray(0, len)));
      if (!(await attempt(() => f.truncate(len)))) await settle(name, f);
    } else if (r < 0.75) {
      await attempt(() => f.read(Buffer.alloc(2 * PAGE), 0, 2 * PAGE, 0));
    } else {
      if (await attempt(() => f.sync())) lastMark = model.synced_(name);
    }
  }
  for (const f of handles.values()) await attempt(() => f.close());
  return { errors, lastMark };
}

/** One run with a fault at operation `at` of `kinds`; returns a problem or null, and what happened. */
async function faultRun(template: string, kinds: number, at: number, errno: 'EIO' | 'ENOSPC', persist: boolean, seed: number): Promise<{ problem: string | null; errors: number; injected: number; readOnly: boolean }> {
  const dir = tmpDir('dioread-fault-');
  const image = path.join(dir, 'img');
  fs.copyFileSync(template, image);
  const seam = createSeam(16, 1 << 16);
  const model = new VersionModel();
  try {
    const eng = await Engine.open({ path: image, cachePages: 16, poolThreads: 1, [DEVICE_SEAM]: seam } as never);
    setFault(seam, { at, kinds, errno, persist });
    const out = await faultWorkload(eng, model, seed);
    const readOnly = eng.readOnly;
    if (readOnly) {
      // A journal that aborted makes every later write EROFS and every sync EIO, never a success.
      const probe = await eng.open('probe-after-abort', { create: true }).then(() => 'opened', (e: unknown) => (e as DioreadError).code);
      if (probe !== 'EROFS') return { problem: `after the engine went read-only, creating a file gave ${probe}`, errors: out.errors.length, injected: 0, readOnly };
    }
    await eng.close().catch((e: unknown) => out.errors.push(e));
    const injected = seamStats(seam).failed;
    clearFault(seam);
    const foreign = out.errors.find((e) => !(e instanceof DioreadError));
    if (foreign !== undefined) return { problem: `a call failed with a non-DioreadError: ${String((foreign as Error)?.stack ?? foreign)}`, errors: out.errors.length, injected, readOnly };
    // Reopen without faults: the image opens, synced data is intact, everything else is allowed.
    const eng2 = await Engine.open({ path: image, poolThreads: 1 }).catch((e: unknown) => e);
    if (!(eng2 instanceof Engine)) return { problem: `the image does not reopen: ${String(eng2)}`, errors: out.errors.length, injected, readOnly };
    try {
      const listed = new Map((await eng2.list()).map((x) => [x.name, x.size]));
      for (const name of model.versions.keys()) {
        let got: { size: number; bytes: Uint8Array } | null = null;
        if (listed.has(name)) {
          const h = await eng2.open(name);
          got = { size: listed.get(name)!, bytes: await readWhole(h, listed.get(name)! + 1) };
          await h.close();
        }
        const problem = model.judge(name, got, out.lastMark);
        if (problem !== null) return { problem: `after reopen: ${problem}`, errors: out.errors.length, injected, readOnly };
      }
    } finally {
      await eng2.close();
    }
    const r = fsck(image);
    if (!r.clean) return { problem: `fsck: ${r.summary}`, errors: out.errors.length, injected, readOnly };
    return { problem: null, errors: out.errors.length, injected, readOnly };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const GROUPS: Array<[string, number, 'EIO' | 'ENOSPC', boolean]> = [
  ['data write EIO', SK_WRITE, 'EIO', false],
  ['data write ENOSPC (a full host)', SK_WRITE, 'ENOSPC', false],
  ['metadata write EIO', SK_WRITE_META, 'EIO', false],
  ['flush EIO', SK_FLUSH, 'EIO', false],
  ['read EIO', SK_READ | SK_READ_META, 'EIO', false],
  ['persistent metadata write EIO', SK_WRITE_META, 'EIO', true],
];

test('one fault at a time at device operations of a workload: reported as a DioreadError, never hidden, the image reopens clean', async (t) => {
  const template = await freshImage(BLOCKS * 4096, FORMAT);
  const until = Date.now() + DEADLINE_MS;
  let runs = 0;
  let withErrors = 0;
  let wentReadOnly = 0;
  for (const [what, kinds, errno, persist] of GROUPS) {
    // Count the operations of these kinds the workload does, then spread the runs over them.
    const dir = tmpDir('dioread-fault-count-');
    const image = path.join(dir, 'img');
    fs.copyFileSync(template, image);
    const seam = createSeam(16, 1 << 16);
    const eng = await Engine.open({ path: image, cachePages: 16, poolThreads: 1, [DEVICE_SEAM]: seam } as never);
    countOps(seam, kinds);
    const base = await faultWorkload(eng, new VersionModel(), 3);
    await eng.close();
    const total = seamStats(seam).ops;
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(base.errors.length, 0, `${what}: the workload without faults ran clean`);
    const step = Math.max(1, Math.ceil(total / RUNS_PER_KIND));
    let groupRuns = 0;
    for (let at = 0; at < total && Date.now() < until; at += step) {
      const r = await faultRun(template, kinds, at, errno, persist, 3);
      assert.equal(r.problem, null, `${what} at operation ${at} of ${total}: ${r.problem}`);
      runs++;
      groupRuns++;
      if (r.errors > 0) withErrors++;
      if (r.readOnly) wentReadOnly++;
    }
    t.diagnostic(`${what}: ${total} operations, ${groupRuns} runs (one fault each, every ${step}th operation)`);
  }
  t.diagnostic(`${runs} runs, ${withErrors} with calls that failed, ${wentReadOnly} ended read-only (journal aborted)`);
  assert.ok(withErrors > runs / 3, 'the faults did reach callers');
  cleanup(template);
});
