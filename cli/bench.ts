// dioread bench: the read-scaling benchmark (the main job, `npm start`). This file only parses the
// command line (commander) and writes the outputs; the benchmark itself is in bench/.
// fio counterpart: fio's command line and its --output/--output-format=json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseSize } from './args.js';
import { BASELINES, DEFAULT_IODEPTHS, DEFAULT_THREADS, LOCK_STATS_CHOICES, MODES, MODE_ALIASES, WORKLOADS, checkOptions, type BenchOptions, type Mode } from '../bench/options.js';

/** "a,b" → ['a', 'b'], every item one of `allowed` (duplicates dropped, order kept). */
function choiceList<T extends string>(allowed: readonly T[], what: string): (text: string) => T[] {
  return (text) => {
    const items = text.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
    for (const t of items) if (!allowed.includes(t as T)) throw new InvalidArgumentError(`unknown ${what} ${JSON.stringify(t)} (choose from ${allowed.join(', ')})`);
    return [...new Set(items as T[])];
  };
}

/** "exclusive,shared,none" → modes; the old names lock and nolock are taken as exclusive and none. */
export function modeList(text: string): Mode[] {
  const items = text.split(',').map((t) => t.trim()).filter((t) => t.length > 0).map((t) => MODE_ALIASES[t] ?? t);
  return choiceList(MODES, 'mode')(items.join(','));
}

function countList(min: number, max: number): (text: string) => number[] {
  return (text) => {
    const items = text.split(',').map((t) => t.trim());
    const out = items.map((t) => {
      const n = Number(t);
      if (t === '' || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`not an integer in ${min}..${max}: ${JSON.stringify(t)}`);
      return n;
    });
    return [...new Set(out)].sort((a, b) => a - b);
  };
}

function seconds(min: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > 3600) throw new InvalidArgumentError(`not a number of seconds (${min}..3600): ${JSON.stringify(text)}`);
    return n;
  };
}

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`not a positive integer: ${JSON.stringify(text)}`);
  return n;
}

interface BenchCliOptions {
  workload: BenchOptions['workloads'];
  threads?: number[];
  iodepth: number[];
  modes: BenchOptions['modes'];
  writers: number[];
  seconds: number;
  rampSeconds: number;
  warmupSeconds: number;
  repeat: number;
  fileMib: number;
  blockSize: number;
  baselines: BenchOptions['baselines'];
  lockStats: BenchOptions['lockStats'];
  lockStatsCost?: boolean;
  dir: string;
  image?: string;
  json: string;
  svg: string;
  quiet?: boolean;
  via: 'engine' | 'mount';
}

/**
 * The defaults keep `npm start` (every cell of both workloads in three modes, every peer) under
 * about two minutes on 2 cores: 3 repeats of 0.4 s windows after a 0.1 s ramp.
 */
const DEFAULT_SECONDS = 0.4;
const DEFAULT_RAMP_SECONDS = 0.1;
const DEFAULT_WARMUP_SECONDS = 2;
const DEFAULT_REPEAT = 3;

/** An option whose default shows in --help as it is typed ("lock,nolock"), not as JSON. */
function listOption<T>(flags: string, description: string, parse: (text: string) => T, text: string): Option {
  return new Option(flags, description).argParser(parse).default(parse(text), text);
}

/** The bench command: its options (with --help's defaults as typed) and its action. */
export function register(program: Command): void {
  program
    .command('bench')
    .description('read-scaling benchmark: random reads from N threads (or N in flight from one event loop) with readers locking exclusive, shared or not at all, against sab-memcpy, node-fs, lmdb, node-fs-direct, node:fs/promises and fio (docs/BENCHMARKS.md)')
    .addOption(listOption('--workload <list>', 'cached (page-cache hits), direct (O_DIRECT reads from reader threads), async (O_DIRECT reads, --iodepth of them in flight from one event loop); npm start runs cached,direct', choiceList(WORKLOADS, 'workload'), 'cached,direct'))
    .option('--threads <list>', `reader thread counts for every workload (default: ${DEFAULT_THREADS.cached.join(',')} for cached, ${DEFAULT_THREADS.direct.join(',')} for direct)`, countList(1, 256))
    .addOption(listOption('--iodepth <list>', 'workload async: reads in flight from the main thread, one cell per depth (peers fio io_uring and node:fs/promises at the same depth)', countList(1, 1024), DEFAULT_IODEPTHS.join(',')))
    .addOption(listOption('--modes <list>', 'readLocking of the engine: exclusive (readers take the inode mutex), shared (the inode rwsem shared), none (dioread_nolock); lock and nolock are aliases of exclusive and none', modeList, MODES.join(',')))
    .addOption(listOption('--writers <list>', 'writer threads doing buffered writes to other blocks of the file', countList(0, 16), '0,1'))
    .option('--seconds <n>', 'measured seconds per cell (per repeat)', seconds(0.001), DEFAULT_SECONDS)
    .option('--ramp-seconds <n>', 'unmeasured warm-up per cell (fio ramp_time)', seconds(0), DEFAULT_RAMP_SECONDS)
    .option('--warmup-seconds <n>', 'before the first round, unmeasured, at the largest thread count: each engine mode for this long (cached: half), each pool peer for at most 0.5 s (the JIT warm-up of every reader thread; the JSON keeps the rates)', seconds(0), DEFAULT_WARMUP_SECONDS)
    .option('--repeat <n>', 'run every cell this many times, the repeats interleaved across the cells; the tables show the median and the spread', positiveInt, DEFAULT_REPEAT)
    .option('--file-mib <n>', 'size of the region the readers read, MiB', positiveInt, 16)
    .option('--block-size <bytes>', 'bytes per read (a power of two, 512 to 1M)', parseSize, 4096)
    .addOption(listOption('--baselines <list>', "peers to run, or 'none'", (t: string) => (t.trim() === 'none' ? [] : choiceList(BASELINES, 'baseline')(t)), BASELINES.join(',')))
    .addOption(
      new Option('--lock-stats <level>', "lock statistics; auto: 'timing' for direct, 'counters' for cached (timing's clock reads would slow cached lock-mode reads)")
        .choices(LOCK_STATS_CHOICES)
        .default('auto'),
    )
    .option('--lock-stats-cost', 'also run the cached cells (no writer) at lock-statistics levels off, counters and timing, and report what each costs')
    .option('--dir <dir>', 'where to make the temporary image (use a disk filesystem for direct)', os.tmpdir())
    .option('--image <file>', "use and keep this image (formatted if missing; its file 'bench' is rewritten), e.g. to rerun fio by hand")
    .option('--json <file>', 'JSON output (fio-shaped)', path.join('bench-results', 'dioread-bench.json'))
    .option('--svg <file>', 'SVG chart', path.join('bench-results', 'dioread-bench.svg'))
    .option('--quiet', 'no progress bar and no notes while running (the table and the paths are still printed)')
    .addOption(new Option('--via <target>', 'engine: reader threads call the engine; mount: fio through a dioread mount per read-locking mode, beside fio on a host file (bench/via-mount.ts)').choices(['engine', 'mount']).default('engine'))
    .action(runBenchCommand);
}

/** The benchmark's options from the command line's (one --threads list serves both workloads). */
function benchOptions(o: BenchCliOptions): BenchOptions {
  return {
    workloads: o.workload,
    threads: { cached: o.threads ?? DEFAULT_THREADS.cached, direct: o.threads ?? DEFAULT_THREADS.direct },
    iodepths: o.iodepth,
    modes: o.modes,
    writers: o.writers,
    seconds: o.seconds,
    rampSeconds: o.rampSeconds,
    warmupSeconds: o.warmupSeconds,
    repeat: o.repeat,
    fileMib: o.fileMib,
    blockSize: o.blockSize,
    baselines: o.baselines,
    lockStats: o.lockStats,
    lockStatsCost: !!o.lockStatsCost,
    dir: o.dir,
    image: o.image,
    jsonPath: o.json,
    svgPath: o.svg,
    quiet: !!o.quiet,
  };
}

/** The bench command's action: check the options, run the benchmark, print the table, write the JSON and the SVG. */
async function runBenchCommand(o: BenchCliOptions, cmd: Command): Promise<void> {
  if (o.via === 'mount') return runViaMount(o, cmd);
  // Loaded only when a benchmark runs (its chart library is heavy): the benchmark's own entry.
  const { runBench, makeProgress, formatReport, evaluateTargets, renderSvg, chartMissing } = await import('../bench/index.js');
  const options = benchOptions(o);
  try {
    checkOptions(options);
  } catch (err) {
    cmd.error(`error: ${(err as Error).message}`);
  }
  const ui = makeProgress(options.quiet);
  let report;
  try {
    report = await runBench(options, ui);
  } finally {
    ui.stop();
  }
  const targets = evaluateTargets(report);
  console.log(formatReport(report, targets));
  const jsonPath = path.resolve(o.json);
  const svgPath = path.resolve(o.svg);
  fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
  fs.writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const noChart = await chartMissing();
  if (noChart) {
    console.log(`\nJSON: ${jsonPath}\nSVG:  not drawn: ${noChart}`);
    return;
  }
  fs.mkdirSync(path.dirname(svgPath), { recursive: true });
  fs.writeFileSync(svgPath, await renderSvg(report));
  console.log(`\nJSON: ${jsonPath}\nSVG:  ${svgPath}`);
}

/** --via mount (issue 11): its own runner, table, JSON and chart (bench-results/dioread-bench-mount.*). */
async function runViaMount(o: BenchCliOptions, cmd: Command): Promise<void> {
  const { runViaMountCommand, VIA_MOUNT_JOBS, VIA_MOUNT_MODES } = await import('../bench/via-mount.js');
  const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  const jsonPath = given('json') ? o.json : path.join('bench-results', 'dioread-bench-mount.json');
  const svgPath = given('svg') ? o.svg : path.join('bench-results', 'dioread-bench-mount.svg');
  const options = { dir: o.dir, fileMib: o.fileMib, blockSize: o.blockSize, jobs: o.threads ?? VIA_MOUNT_JOBS, modes: VIA_MOUNT_MODES, seconds: o.seconds, rampSeconds: o.rampSeconds };
  await runViaMountCommand(options, jsonPath, svgPath, !!o.quiet);
}
