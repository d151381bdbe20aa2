// npm run model: verify the Promela models in model/ with spin, every check of docs/MODEL.md:
// dioread.pml (the dioread_nolock protocol), pagehash.pml (the page hash's lock-free probe),
// journal.pml (the journal's commit protocol, pending frees, crash and replay).
// ext4 counterpart: none (this is the runner of the models).
//
// For each check: in a fresh temp directory (never in the repository), `spin -a` with the check's
// -D switches, `gcc` of pan.c, and pan (exhaustive safety search, or with -a -f the LTL property
// under weak fairness). It parses pan's report (errors, states stored, depth reached, memory,
// elapsed time), prints a table, and for every check that found an error the first lines of the
// counterexample that `spin -t -p` replays. Exit status 1 when a safe check or the liveness check
// has an error or an incomplete search, when a negative control or a vacuity probe finds none, or
// when an open-bug check no longer reproduces (then the fix is in the model: delete the row). Plain
// Node ESM, no dependencies. Options: --only <substring> (run the checks whose name contains it),
// --jobs <n>, --trail-lines <n>, --verbose (print the commands).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL_DIR = path.join(ROOT, 'model');

/** pan's search depth bound (-m): every check must stay below it, or its search is incomplete. */
const DEPTH_MAX = 100_000;
/** pan's memory bound (-DMEMLIM, MB). */
const MEMLIM_MB = 4096;

// Instances (docs/MODEL.md, "Instances"): the processes and bounds of each small world.
const I = {
  writeRead: ['NW=2', 'WB0=1', 'NTRUNC=0', 'NO_FSYNC', 'NO_DREADER', 'NEVICT=1'],
  writeDirect: ['NW=2', 'WB0=1', 'NTRUNC=0', 'NO_FSYNC', 'NO_READER', 'NEVICT=1'],
  fsync: ['NW=2', 'WB0=1', 'NTRUNC=0', 'NO_EVICT', 'NO_READER', 'NO_DREADER'],
  truncRead: ['NW=1', 'WOPS=2', 'WB0=1', 'NTRUNC=1', 'TK=1', 'NO_FSYNC', 'NO_DREADER', 'NO_EVICT', 'RB=1'],
  truncDirect: ['NW=1', 'WOPS=2', 'WB0=1', 'NTRUNC=1', 'TK=1', 'NO_FSYNC', 'NO_READER', 'NO_EVICT', 'DB=1'],
  tiny: ['NIO=1', 'NF=1', 'NW=2', 'WB0=1', 'NTRUNC=0', 'NO_EVICT', 'NO_DREADER'],
  directRun: ['NW=1', 'WOPS=2', 'WSEQ=2', 'NTRUNC=1', 'TK=2', 'NO_FLUSHER', 'NO_WORKER', 'NO_READER', 'NEVICT=2', 'NO_MONITOR', 'DRUN', 'DB=0', 'FOREIGN_FILE'],
  foreignRead: ['NW=1', 'WOPS=2', 'WSEQ=2', 'NTRUNC=1', 'TK=2', 'NO_FLUSHER', 'NO_WORKER', 'NO_DREADER', 'NEVICT=2', 'NO_MONITOR', 'FOREIGN_FILE'],
  liveFsync: ['NW=2', 'WB0=1', 'NTRUNC=0', 'NO_READER', 'NO_DREADER', 'NO_EVICT', 'NO_MONITOR'],
  liveTrunc: ['NW=1', 'WOPS=2', 'NTRUNC=1', 'NO_FSYNC', 'NO_READER', 'NO_DREADER', 'NO_EVICT', 'NO_MONITOR'],
  // pagehash.pml: three frames, two buckets, three chain changes, the two walkers
  hash: ['NOPS=3'],
  // journal.pml: B writes twice; another thread commits (twice, or once); a log that never wraps
  // (asserted), logs that wrap (the reset as the engine does it since bug 3's fix), one data block
  // only (B can only have A's freed block: the ENOSPC commit-and-retry); jSmall is the instance of
  // the controls that need no wrap (so a wrap cannot be what refutes them); jWrap12 is the instance
  // where the unflushed reset (bug 3) shows
  jWrap: ['NDATA=2', 'BW2', 'NCOMMIT=1', 'NLOG=10'],
  jReuse: ['NDATA=1', 'BW2', 'NCOMMIT=2', 'NLOG=10'],
  jNoWrap: ['NDATA=2', 'BW2', 'NCOMMIT=2', 'NLOG=24', 'NO_RESET'],
  jSmall: ['NDATA=2', 'BW2', 'NCOMMIT=1', 'NLOG=24', 'NO_RESET'],
  jWrap12: ['NDATA=2', 'BW2', 'NCOMMIT=1', 'NLOG=12'],
  jReach: ['NDATA=2', 'BW2', 'NCOMMIT=1', 'NLOG=10', 'REACH'],
};

/**
 * kind: safe (0 errors), ltl (0 errors, -a -f), control (>= 1 error), reach (a vacuity probe: >= 1
 * error, the scenario is reachable), bug (open bug: >= 1 error). model: the file in model/ (dioread.pml
 * when not given).
 */
const CHECKS = [
  { name: 'safe/write-read', kind: 'safe', defs: [...I.writeRead] },
  { name: 'safe/write-direct', kind: 'safe', heavy: true, defs: [...I.writeDirect] },
  { name: 'safe/fsync', kind: 'safe', defs: [...I.fsync] },
  { name: 'safe/truncate-read', kind: 'safe', defs: [...I.truncRead] },
  { name: 'safe/truncate-direct', kind: 'safe', defs: [...I.truncDirect] },
  { name: 'safe/tiny-pool-cache', kind: 'safe', heavy: true, defs: [...I.tiny] },
  { name: 'safe/foreign-read', kind: 'safe', defs: [...I.foreignRead] },
  { name: 'safe/foreign-direct-run', kind: 'safe', heavy: true, defs: [...I.directRun] },
  { name: 'safe/pagehash', model: 'pagehash.pml', kind: 'safe', defs: [...I.hash] },
  { name: 'safe/journal-no-wrap', model: 'journal.pml', kind: 'safe', heavy: true, defs: [...I.jNoWrap] },
  { name: 'safe/journal-wrap', model: 'journal.pml', kind: 'safe', defs: [...I.jWrap] },
  { name: 'safe/journal-reuse', model: 'journal.pml', kind: 'safe', defs: [...I.jReuse] },
  { name: 'reach/journal-reset-reuse', model: 'journal.pml', kind: 'reach', defs: [...I.jReach] },
  { name: 'ltl/converted-fsync', kind: 'ltl', heavy: true, defs: [...I.liveFsync, 'LTL_CONVERTED'] },
  { name: 'ltl/converted-truncate', kind: 'ltl', defs: [...I.liveTrunc, 'LTL_CONVERTED'] },
  { name: 'control/UNSAFE_EARLY_WRITTEN', kind: 'control', defs: [...I.writeRead, 'UNSAFE_EARLY_WRITTEN'] },
  { name: 'control/UNSAFE_UNPIN_AT_WRITEBACK', kind: 'control', defs: [...I.writeRead, 'UNSAFE_UNPIN_AT_WRITEBACK'] },
  { name: 'control/UNSAFE_HOLD_SPINLOCK_ACROSS_CONVERT', kind: 'control', defs: [...I.writeRead, 'UNSAFE_HOLD_SPINLOCK_ACROSS_CONVERT'] },
  { name: 'control/UNSAFE_NO_UNLINK_UNDER_LOCK', kind: 'control', defs: [...I.writeRead, 'UNSAFE_NO_UNLINK_UNDER_LOCK'] },
  { name: 'control/ltl/UNSAFE_LOST_WAKEUP', kind: 'control', ltl: true, defs: [...I.liveTrunc, 'LTL_CONVERTED', 'UNSAFE_LOST_WAKEUP'] },
  { name: 'control/UNSAFE_TRUNCATE_DROP_BEFORE_UNMAP', kind: 'control', defs: [...I.truncRead, 'UNSAFE_TRUNCATE_DROP_BEFORE_UNMAP'] },
  { name: 'control/UNSAFE_DIRECT_COMPARE_MAPPING', kind: 'control', defs: [...I.directRun, 'UNSAFE_DIRECT_COMPARE_MAPPING'] },
  { name: 'control/UNSAFE_UNMAP_SEQ_NOT_BUMPED', kind: 'control', defs: [...I.directRun, 'UNSAFE_UNMAP_SEQ_NOT_BUMPED'] },
  { name: 'reach/written-read-outlives-seq', kind: 'reach', defs: [...I.directRun, 'REACH_WRITTEN_READ_OUTLIVES_SEQ'] },
  { name: 'control/pagehash/UNSAFE_HASH_SEQ_BEFORE_ONLY', model: 'pagehash.pml', kind: 'control', defs: [...I.hash, 'UNSAFE_HASH_SEQ_BEFORE_ONLY'] },
  { name: 'control/journal/UNSAFE_NO_JOURNAL', model: 'journal.pml', kind: 'control', defs: [...I.jSmall, 'UNSAFE_NO_JOURNAL'] },
  { name: 'control/journal/UNSAFE_EARLY_REUSE', model: 'journal.pml', kind: 'control', defs: [...I.jSmall, 'UNSAFE_EARLY_REUSE'] },
  { name: 'control/journal/UNSAFE_COMMIT_BEFORE_DATA_FLUSH', model: 'journal.pml', kind: 'control', defs: [...I.jSmall, 'UNSAFE_COMMIT_BEFORE_DATA_FLUSH'] },
  { name: 'control/journal/UNSAFE_HANDLE_NO_RECHECK', model: 'journal.pml', kind: 'control', defs: [...I.jSmall, 'UNSAFE_HANDLE_NO_RECHECK'] },
  { name: 'safe/journal-wrap-12', model: 'journal.pml', kind: 'safe', defs: [...I.jWrap12] },
  { name: 'control/journal/UNSAFE_RESET_SUPER_UNFLUSHED', model: 'journal.pml', kind: 'control', defs: [...I.jWrap12, 'UNSAFE_RESET_SUPER_UNFLUSHED'] },
];

const EXPECT = { safe: '0 errors', ltl: '0 errors', control: '>= 1 error', reach: '>= 1 error (probe)', bug: '>= 1 error (open)' };

function parseArgs(argv) {
  const o = { only: null, jobs: Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 4)), trailLines: 12, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') o.only = argv[++i];
    else if (a === '--jobs') o.jobs = Math.max(1, Number(argv[++i]) || 1);
    else if (a === '--trail-lines') o.trailLines = Math.max(1, Number(argv[++i]) || 14);
    else if (a === '--verbose') o.verbose = true;
    else {
      console.error(`model.mjs: unknown option ${a} (options: --only <substring>, --jobs <n>, --trail-lines <n>, --verbose)`);
      process.exit(2);
    }
  }
  return o;
}

function need(tool, why) {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`model.mjs: ${tool} is not installed (${why}).`);
    if (tool === 'spin') console.error('Install it with: apt-get update && apt-get install -y spin   (Debian package "spin")');
    process.exit(1);
  }
  return r.stdout.trim();
}

/** Run a command; resolve with { code, out } (stdout and stderr together). */
function run(cmd, args, cwd, verbose) {
  if (verbose) console.log(`  [${path.basename(cwd)}] ${cmd} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
    p.on('error', (err) => resolve({ code: -1, out: String(err) }));
  });
}

function num(re, text) {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
}

/** What pan printed: errors, states stored, depth reached, memory (MB), elapsed time (s). */
function parsePan(out) {
  return {
    errors: num(/errors: (\d+)/, out),
    states: num(/([\d.e+]+) states, stored/, out),
    depth: num(/depth reached (\d+)/, out),
    memoryMB: num(/([\d.]+)\s+total actual memory usage/, out),
    seconds: num(/pan: elapsed time ([\d.e+]+) seconds/, out),
    incomplete: /Search not completed/.test(out) || /max search depth too small/.test(out),
    depthTooSmall: /max search depth too small/.test(out),
    memoryOut: /reached -DMEMLIM bound|out of memory/.test(out),
    firstError: (/^pan:1: (.*)$/m.exec(out) || [])[1] || null,
  };
}

/** The comment on the model line spin names (what the failed assertion stands for). */
function assertionNote(trail, model) {
  const m = new RegExp(`${model.replace('.', '\\.')}:(\\d+), Error: (.*)`).exec(trail);
  if (!m) return null;
  const line = fs.readFileSync(path.join(MODEL_DIR, model), 'utf8').split('\n')[Number(m[1]) - 1] || '';
  const c = /\/\*\s*(.*?)\s*\*\//.exec(line);
  return { line: Number(m[1]), error: m[2].trim(), note: c ? c[1] : '' };
}

function modelOf(c) {
  return c.model ?? 'dioread.pml';
}

async function runCheck(c, opts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dioread-model-'));
  const d = c.defs.map((x) => `-D${x}`);
  const model = modelOf(c);
  const t0 = Date.now();
  try {
    fs.copyFileSync(path.join(MODEL_DIR, model), path.join(dir, model));
    const sp = await run('spin', ['-a', ...d, model], dir, opts.verbose);
    if (sp.code !== 0 || !fs.existsSync(path.join(dir, 'pan.c'))) return { c, fail: `spin -a failed:\n${sp.out}` };
    const cflags = ['-Og', '-w', `-DMEMLIM=${MEMLIM_MB}`, '-DCOLLAPSE', ...d];
    const ltl = c.kind === 'ltl' || c.ltl === true;
    if (ltl) cflags.push('-DNFAIR=4');
    else cflags.push('-DSAFETY');
    const cc = await run('gcc', [...cflags, '-o', 'pan', 'pan.c'], dir, opts.verbose);
    if (cc.code !== 0) return { c, fail: `gcc failed:\n${cc.out}` };
    const panArgs = [`-m${DEPTH_MAX}`, '-w24'];
    if (ltl) panArgs.push('-a', '-f');
    const pan = await run('./pan', panArgs, dir, opts.verbose);
    const r = parsePan(pan.out);
    let trail = null;
    if (r.errors > 0 && fs.existsSync(path.join(dir, `${model}.trail`))) {
      const t = await run('spin', ['-t', '-p', '-k', `${model}.trail`, ...d, model], dir, opts.verbose);
      trail = t.out;
    }
    return { c, r, trail, panOut: pan.out, wallSeconds: (Date.now() - t0) / 1000, cmd: `spin -a ${d.join(' ')} ${model} && gcc ${cflags.join(' ')} -o pan pan.c && ./pan ${panArgs.join(' ')}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Judge a result against its kind. Returns [ok, verdict]. */
function judge(res) {
  if (res.fail) return [false, 'FAILED TO RUN'];
  const { c, r } = res;
  if (r.errors === null) return [false, 'NO REPORT'];
  if (r.memoryOut) return [false, 'OUT OF MEMORY'];
  if (r.depthTooSmall) return [false, 'DEPTH BOUND HIT'];
  if (c.kind === 'safe' || c.kind === 'ltl') {
    if (r.errors > 0) return [false, 'ERRORS'];
    if (r.incomplete) return [false, 'INCOMPLETE'];
    return [true, 'verified'];
  }
  if (c.kind === 'control') return r.errors > 0 ? [true, 'counterexample'] : [false, 'NO COUNTEREXAMPLE'];
  if (c.kind === 'reach') return r.errors > 0 ? [true, 'reached'] : [false, 'NOT REACHED: the safe checks may be vacuous'];
  return r.errors > 0 ? [true, 'OPEN BUG reproduces'] : [false, 'NO LONGER REPRODUCES: delete the row'];
}

// Trail steps that are bookkeeping: loop counters, temporaries, resets, control flow.
const NOISE = [
  /\[(k|k2|tk|i|j|w|wk|t|n|m|ci|fx|cb|cn|cp|cm|cq|lc_\w+|ul_\w+|fp|cp|dp|gp_ok|dp_ok|hit|got|sampled|m2done|popped|qpush|fl_more|wb_go|wi_go|busy|requeued|rrun|fio|spare|go|ok|steps) = /,
  /\[\(\((k|k2|b|i|j|w|m|p|f|ci|fx|cb|cq|cp|tk|wk|n|t)\s*<=?/,
  /\[(tximg|img)\[.*\] = (s_img|mdur|tximg)/,
  /\[(s_img\[ci\]|dat\[p\]) = (0|ddur)/,
  /\[stayed\[.*\] = 0\]/,
  /\[\(\(n<\d+\)\)\]/,
  /\[\(\(t<\d+\)\)\]/,
  /\[(else|break|skip|\(1\)|\.\(goto\))\]/,
  /goto /,
  /\[\w+ = 0\]$/,
  /\[(b|slo\[k\]|szok\[k\]|rmask\[\d\]) = /,
];

/** The trail without init's setup and bookkeeping: its first and last steps, and the violation. */
function trailHead(trail, n) {
  const lines = trail.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean);
  const steps = lines.filter((l) => /^\d+: proc\s+\d+ \(.* \[/.test(l) && !/\(:init:/.test(l));
  const told = steps.filter((l) => !NOISE.some((re) => re.test(l))).map((l) => l.replace(/\S*\.pml:/, 'pml:').slice(0, 130));
  const err = lines.filter((l) => /Error:|text of failed assertion|acceptance cycle|violated/.test(l)).slice(0, 2);
  const first = told.slice(0, n);
  const last = told.length > n ? told.slice(Math.max(n, told.length - Math.ceil(n / 2))) : [];
  return { first, last, err, total: steps.length, shown: told.length };
}

function fmtStates(x) {
  if (x === null) return '-';
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : String(x);
}

function table(rows) {
  const head = ['check', 'expect', 'errors', 'states', 'depth', 'mem MB', 'pan s', 'verdict'];
  const data = rows.map((x) => [
    x.res.c.name,
    EXPECT[x.res.c.kind],
    x.res.r ? String(x.res.r.errors) : '-',
    x.res.r ? fmtStates(x.res.r.states) : '-',
    x.res.r?.depth != null ? String(x.res.r.depth) : '-',
    x.res.r?.memoryMB != null ? x.res.r.memoryMB.toFixed(0) : '-',
    x.res.r?.seconds != null ? x.res.r.seconds.toFixed(2) : '-',
    (x.ok ? '' : '✗ ') + x.verdict,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...data.map((d) => d[i].length)));
  const line = (cells) => '| ' + cells.map((s, i) => s.padEnd(w[i])).join(' | ') + ' |';
  return [line(head), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...data.map(line)].join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  need('spin', 'the model checker: it turns the models in model/ into pan.c');
  need('gcc', 'pan.c is compiled with gcc');
  const ver = spawnSync('spin', ['-V'], { encoding: 'utf8' }).stdout.trim();
  const checks = opts.only ? CHECKS.filter((c) => c.name.includes(opts.only)) : CHECKS;
  if (checks.length === 0) {
    console.error(`model.mjs: no check matches ${opts.only}`);
    process.exit(2);
  }
  const models = [...new Set(checks.map(modelOf))].map((m) => `model/${m}`).join(', ');
  console.log(`${ver}; ${models}; ${checks.length} checks, ${opts.jobs} at a time; pan -m${DEPTH_MAX}, -DCOLLAPSE, -DMEMLIM=${MEMLIM_MB}`);
  const t0 = Date.now();
  const results = new Array(checks.length);
  // The heavy checks start first (the jobs then finish close together); the table keeps the list's order.
  const queue = checks.map((c, i) => i).sort((a, b) => Number(checks[b].heavy === true) - Number(checks[a].heavy === true) || a - b);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(opts.jobs, checks.length) }, async () => {
      for (let q = next++; q < queue.length; q = next++) {
        const i = queue[q];
        results[i] = await runCheck(checks[i], opts);
        const [ok, verdict] = judge(results[i]);
        console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${checks[i].name}: ${verdict}${results[i].r ? ` (${fmtStates(results[i].r.states)} states, ${results[i].r.seconds}s)` : ''}`);
      }
    }),
  );
  const rows = results.map((res) => {
    const [ok, verdict] = judge(res);
    return { res, ok, verdict };
  });
  console.log('\n' + table(rows));
  const totalStates = rows.reduce((s, x) => s + (x.res.r?.states ?? 0), 0);
  console.log(`\n${rows.length} checks, ${fmtStates(totalStates)} states in all, ${((Date.now() - t0) / 1000).toFixed(1)} s wall time`);

  for (const x of rows) {
    if (x.res.fail) {
      console.log(`\n--- ${x.res.c.name}: ${x.res.fail}`);
      continue;
    }
    if (opts.verbose) console.log(`\n--- ${x.res.c.name}\n  ${x.res.cmd}`);
    if (!x.res.trail) {
      if (!x.ok) console.log(`\n--- ${x.res.c.name}: pan said\n${x.res.panOut.split('\n').slice(0, 30).join('\n')}`);
      continue;
    }
    const t = trailHead(x.res.trail, opts.trailLines);
    const note = assertionNote(x.res.trail, modelOf(x.res.c));
    console.log(`\n--- ${x.res.c.name}: ${x.res.r.firstError ?? 'error'}`);
    console.log(`  trail (spin -t -p): ${t.total} steps, ${t.shown} after dropping bookkeeping; the first ${t.first.length}${t.last.length ? ` and the last ${t.last.length}` : ''}:`);
    for (const l of t.first) console.log(`  ${l}`);
    if (t.last.length) {
      console.log('  ...');
      for (const l of t.last) console.log(`  ${l}`);
    }
    for (const l of t.err) console.log(`  ${l}`);
    if (note) console.log(`  (model line ${note.line}: ${note.note || note.error})`);
  }
  const bad = rows.filter((x) => !x.ok);
  if (bad.length > 0) {
    console.error(`\nnpm run model: ${bad.length} check(s) failed: ${bad.map((x) => `${x.res.c.name} (${x.verdict})`).join(', ')}`);
    process.exit(1);
  }
  const open = rows.filter((x) => x.res.c.kind === 'bug');
  console.log(`\nnpm run model: the safe models verified, every control refuted, every probe reached${open.length ? `; ${open.length} open protocol bug(s) reproduce (docs/MODEL.md, "Open bugs")` : ''}`);
}

await main();
