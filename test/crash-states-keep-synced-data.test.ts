// Guards DESIGN.md invariant 8 (after a crash at any point: the image opens and checks clean, data
// a sync covered is intact, other ranges read old, new or zeros, never stale) and invariants 2 and
// 12, through the device seam: a metadata-heavy workload runs with every device write and flush
// recorded; then every prefix of the writes (a process that died there), and for every flush epoch
// states where the unflushed writes are dropped or torn at a sector (power loss), are rebuilt and
// mounted offline with the engine's own reader; a sample is opened by a real engine and fsck'd.
// Issue 7's bug 2 (torn metadata made every later open fail) is among these states.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import { DEVICE_SEAM, UNSAFE_EARLY_REUSE, UNSAFE_NO_JOURNAL } from '../src/testing-symbols.js';
import { VersionModel, crashWorkload, judgeCrashState as judgeState } from './helpers/crash-model.js';
import { cleanup, freshImage, fsck, readWhole } from './helpers/files.js';
import { rng } from './helpers/image.js';
import { SK_FLUSH, SK_MARK, SK_WRITE, SK_WRITE_META, applyWrite, createSeam, mark, readLog, setLogging, type LogEntry } from './helpers/seam.js';

const BLOCKS = 1024;
const FORMAT = { maxFiles: 8 };
const DEADLINE_MS = Number(process.env.DIOREAD_CRASH_DEADLINE_MS ?? 60_000);

/** Open the state with a real engine (journal replay and all), read every file through it, fsck. */
async function judgeWithEngine(model: VersionModel, image: Uint8Array, lastMark: number, where: string): Promise<string | null> {
  const dir = fs.mkdtempSync(path.join(path.dirname(where), 'state-'));
  const file = path.join(dir, 'img');
  fs.writeFileSync(file, image);
  try {
    const eng = await Engine.open({ path: file, poolThreads: 1 });
    const seen = new Map<string, { size: number; bytes: Uint8Array }>();
    for (const { name, size } of await eng.list()) {
      const f = await eng.open(name, { direct: seen.size % 2 === 1 });
      seen.set(name, { size, bytes: await readWhole(f, size + 1) });
      await f.close();
    }
    await eng.close();
    for (const name of model.versions.keys()) {
      const problem = model.judge(name, seen.get(name) ?? null, lastMark);
      if (problem !== null) return `engine: ${problem}`;
    }
    const r = fsck(file);
    if (!r.clean) return `fsck after the engine's close: ${r.summary}`;
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface CrashRun {
  problem: string | null;
  prefixes: number;
  powerLoss: number;
  engineChecks: number;
  epochs: number;
  entries: number;
  writes: number;
  flushes: number;
  syncs: number;
  versions: number;
}

/**
 * Run the workload on a recorded engine (with the test-only `controls` switched on, if any), then
 * judge its crash states until the first problem, the deadline, or the end.
 */
async function crashStates(controls: Record<symbol, boolean>, seed: number, steps: number, engineSample: boolean): Promise<CrashRun> {
  const image = await freshImage(BLOCKS * 4096, FORMAT);
  const initial = new Uint8Array(fs.readFileSync(image));
  const seam = createSeam(1 << 15, 64 << 20);
  setLogging(seam, true);
  const model = new VersionModel();
  const eng = await Engine.open({ path: image, cachePages: 16, poolThreads: 1, [DEVICE_SEAM]: seam, ...controls } as never);
  await crashWorkload(eng, model, seed, steps, (m) => mark(seam, m));
  await eng.close();
  mark(seam, model.syncedAll());
  const log = readLog(seam);
  const run: CrashRun = {
    problem: null,
    prefixes: 0,
    powerLoss: 0,
    engineChecks: 0,
    epochs: 0,
    entries: log.length,
    writes: log.filter((e) => e.kind === SK_WRITE || e.kind === SK_WRITE_META).length,
    flushes: log.filter((e) => e.kind === SK_FLUSH).length,
    syncs: model.marks.length,
    versions: [...model.versions.values()].reduce((n, v) => n + v.length, 0),
  };
  assert.ok(fs.readFileSync(image).equals(applyAll(initial, log)), 'the log rebuilds the final image byte for byte');
  const until = Date.now() + DEADLINE_MS;
  const rand = rng(seed * 13);
  // Process death: every prefix of the writes.
  const img = initial.slice();
  let lastMark = -1;
  const epochs: Array<{ base: Uint8Array; pending: LogEntry[]; lastMark: number }> = [];
  let pending: LogEntry[] = [];
  let epochBase = initial.slice();
  for (let k = 0; k <= log.length && Date.now() < until; k++) {
    if (k > 0) {
      const e = log[k - 1];
      if (e.kind === SK_MARK) lastMark = e.pos;
      else if (e.kind === SK_FLUSH) {
        if (pending.length > 0) epochs.push({ base: epochBase, pending, lastMark });
        pending = [];
        epochBase = img.slice();
      } else {
        applyWrite(img, e);
        pending.push(e);
      }
      if (e.kind === SK_MARK || e.kind === SK_FLUSH) continue; // the same device state as before
    }
    const problem = judgeState(model, img, lastMark);
    run.prefixes++;
    if (problem !== null) {
      run.problem = `process death after ${k} of ${log.length} log entries (last sync mark ${lastMark}): ${problem}`;
      break;
    }
    if (engineSample && (k % 40 === 0 || log[k - 1]?.kind === SK_WRITE_META) && run.engineChecks < 40) {
      const p2 = await judgeWithEngine(model, img, lastMark, image);
      run.engineChecks++;
      if (p2 !== null) {
        run.problem = `process death after ${k} entries, opened by an engine: ${p2}`;
        break;
      }
    }
  }
  // Power loss: from each flush, the writes after it land in part (a random subset, one torn).
  run.epochs = epochs.length;
  for (const ep of epochs) {
    if (run.problem !== null || Date.now() > until) break;
    for (let variant = 0; variant < 3; variant++) {
      const state = ep.base.slice();
      const kept = ep.pending.filter(() => variant !== 0 && rand() < 0.5);
      for (const e of kept) applyWrite(state, e);
      if (variant === 2 && ep.pending.length > 0) {
        const e = ep.pending[Math.floor(rand() * ep.pending.length)];
        applyWrite(state, e, 512 * Math.floor(rand() * (e.data.length / 512))); // torn at a sector
      }
      const problem = judgeState(model, state, ep.lastMark);
      run.powerLoss++;
      if (problem !== null) {
        run.problem = `power loss (variant ${variant}, ${kept.length} of ${ep.pending.length} unflushed writes landed): ${problem}`;
        break;
      }
    }
  }
  cleanup(image);
  return run;
}

test('every crash state of a metadata-heavy workload opens, checks clean and keeps synced data (process death and power loss)', async (t) => {
  const seeds = Number(process.env.DIOREAD_CRASH_SEEDS ?? 2);
  for (let seed = 7; seed < 7 + seeds; seed++) {
    const r = await crashStates({}, seed, 70, true);
    t.diagnostic(`seed ${seed}: ${r.entries} log entries (${r.writes} writes, ${r.flushes} flushes, ${r.syncs} syncs, ${r.versions} file versions); checked ${r.prefixes} prefixes (process death), ${r.powerLoss} power-loss states over ${r.epochs} flush epochs, ${r.engineChecks} opened by an engine and fsck'd`);
    assert.equal(r.problem, null, `seed ${seed}: ${r.problem}`);
    assert.ok(r.prefixes >= r.writes / 2, 'the deadline left most prefixes checked');
  }
});

for (const [what, control] of [
  ['commits written in place without the journal (bug 2)', UNSAFE_NO_JOURNAL],
  ['freed blocks reused before their free commits (bug 3)', UNSAFE_EARLY_REUSE],
] as const) {
  test(`negative control: ${what} leave a crash state the checker rejects`, async (t) => {
    let found: string | null = null;
    let seeds = 0;
    for (const seed of [7, 8, 9, 10, 11, 12]) {
      seeds++;
      const r = await crashStates({ [control]: true }, seed, 70, false);
      found = r.problem;
      if (found !== null) break;
    }
    t.diagnostic(`after ${seeds} workload(s): ${found}`);
    assert.notEqual(found, null, 'the broken mode left no bad crash state: the checker would miss the bug');
  });
}

function applyAll(initial: Uint8Array, log: LogEntry[]): Uint8Array {
  const img = initial.slice();
  for (const e of log) if (e.kind === SK_WRITE || e.kind === SK_WRITE_META) applyWrite(img, e);
  return img;
}
