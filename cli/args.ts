// Shared helpers of the dioread command line: argument parsers that validate every number (NaN,
// negative, fractional, absurd), the error type and exit codes of a user error, output-path checks,
// temporary directories that never outlive the command, and progress that also works off a
// terminal. Every command (cli/*.ts) uses these. No ext4 counterpart (e2fsprogs' parse_num_blocks
// and com_err play this part there).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { CommanderError, InvalidArgumentError } from 'commander';
import { DioreadError } from '../src/errors.js';

/** Exit codes of every command (fsck keeps e2fsck's own). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * A user error: printed as one line (`dioread: message`), no stack trace, and the process exits
 * with `exitCode` (EXIT_USAGE for bad arguments, EXIT_FAILURE for a command that could not do its job).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "64M", "1g", "4096", "2GiB" -> bytes (a whole number, at most 2^53 - 1). */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`not a size: ${JSON.stringify(text)} (use e.g. 4096, 64M, 1G)`);
  const n = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`size ${JSON.stringify(text)} is absurdly large`);
  return n;
}

/** A size parser with bounds: sizeIn(4096, 1 << 40)('64M'). */
export function sizeIn(minBytes: number, maxBytes: number): (text: string) => number {
  return (text) => {
    const n = parseSize(text);
    if (n < minBytes || n > maxBytes) throw new InvalidArgumentError(`size ${JSON.stringify(text)} is out of range: from ${minBytes} to ${maxBytes} bytes`);
    return n;
  };
}

/** An integer parser with bounds: intIn(1, 65536)('64'); refuses "", "1.5", "1e3", "-1", "NaN". */
export function intIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const t = text.trim();
    const n = /^-?\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`not an integer from ${min} to ${max}: ${JSON.stringify(text)}`);
    return n;
  };
}

/** A number parser with bounds (fractions allowed), e.g. seconds: numberIn(0.1, 3600)('2.5'). */
export function numberIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const t = text.trim();
    const n = t === '' ? NaN : Number(t);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`not a number from ${min} to ${max}: ${JSON.stringify(text)}`);
    return n;
  };
}

export function parsePositiveInt(text: string): number {
  return intIn(1, Number.MAX_SAFE_INTEGER)(text);
}

export function parseIntList(text: string): number[] {
  return text.split(',').map((t) => parsePositiveInt(t.trim()));
}

/**
 * An output file named on the command line, checked before any work starts: '-' (stdout) or a path
 * whose directory exists and is writable and which is not itself a directory. Throws a usage error.
 */
export function checkOutputPath(option: string, file: string): void {
  if (file === '-') return;
  if (file === '') throw new CliError(`${option}: an empty file name`, EXIT_USAGE);
  const dir = path.dirname(path.resolve(file));
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch {
    // a new file: its directory must exist and take it
  }
  if (st?.isDirectory()) throw new CliError(`${option}: ${file} is a directory`, EXIT_USAGE);
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    fs.accessSync(st ? file : dir, fs.constants.W_OK);
  } catch {
    throw new CliError(`${option}: cannot write ${file} (${st ? 'not writable' : `no writable directory ${dir}`})`, EXIT_USAGE);
  }
}

/**
 * Run `fn` with a fresh temporary directory that is removed when it ends, fails, or the user
 * interrupts the command (SIGINT, SIGTERM): no debris either way.
 */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  // 'exit' also runs on process.exit() (a signal below, a closed stdout in main.ts): rmSync is sync.
  const onSignal = (signal: NodeJS.Signals) => process.exit(128 + (os.constants.signals[signal] ?? 1));
  process.on('exit', remove);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(dir);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', remove);
    remove();
  }
}

export interface Progress {
  /** `done` of `total` units are finished. */
  update(done: number): void;
  stop(): void;
}

/**
 * Progress of a long step on stderr: a bar on a terminal; otherwise (a pipe, a CI log) one line per
 * tenth of the work, so a log shows that the command is alive. `quiet` prints nothing.
 */
export function progress(label: string, total: number, unit: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || total <= 0) return { update() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({ stream, format: ` ${label} {bar} {value}/{total} ${unit} | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
    bar.start(total, 0);
    return { update: (done) => bar.update(Math.min(done, total)), stop: () => bar.stop() };
  }
  let shownTenths = 0;
  return {
    update(done) {
      const tenths = Math.min(10, Math.floor((10 * done) / total));
      if (tenths <= shownTenths) return;
      shownTenths = tenths;
      stream.write(`${label}: ${tenths * 10}% (${Math.min(done, total)} of ${total} ${unit})\n`);
    },
    stop() {},
  };
}

const USAGE_CODES = new Set(['EINVAL', 'ENAMETOOLONG']);

/**
 * The exit code for an error that ended a command, after printing it: one line for a user error
 * (a CliError, a DioreadError, a system error such as ENOENT on a named file), the stack for
 * anything else (a bug: it should be reported). Commander's own errors are already printed.
 */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end with exitCode 0; everything else commander refuses is usage.
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (err instanceof CliError) {
    console.error(`dioread: ${err.message}`);
    return err.exitCode;
  }
  if (err instanceof DioreadError) {
    console.error(`dioread: ${err.message}`);
    return USAGE_CODES.has(err.code) ? EXIT_USAGE : EXIT_FAILURE;
  }
  const sys = err as NodeJS.ErrnoException;
  if (sys instanceof Error && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    console.error(`dioread: ${sys.message}`);
    return EXIT_FAILURE;
  }
  console.error('dioread: internal error (please report it, with the command line):');
  console.error(err);
  return EXIT_FAILURE;
}
