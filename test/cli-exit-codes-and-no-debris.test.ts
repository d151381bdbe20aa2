// Guards issue 12's CLI points: the command line run as a user runs it (a child process, a temp
// directory as the working directory and TMPDIR) answers --version, refuses every bad number with
// a one-line message and exit 2, reports a user error in one line with exit 1 (never a stack trace),
// leaves no debris when it fails or is interrupted (no half-made image, no temp directory), refuses
// to format over a dioread image without --force, copies bytes in and out exactly (put --no-sync
// too, stdin too), prints progress lines on stderr when it is not a terminal, and stops quietly
// when the reader of its output goes away.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { tmpDir } from './helpers/image.js';
import { pattern } from './helpers/files.js';

const CLI = new URL('../cli/main.js', import.meta.url).pathname;
const PKG = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

const sandboxes: string[] = [];
after(() => {
  for (const d of sandboxes) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh working directory and TMPDIR for one test, both checked for debris by the test. */
function sandbox(): { cwd: string; tmp: string; run: (args: string[], input?: Buffer | string) => Ran; runRaw: (args: string[], input?: Buffer | string) => { status: number | null; stdout: Buffer; stderr: string } } {
  const cwd = tmpDir('dioread-cli-');
  sandboxes.push(cwd);
  const tmp = path.join(cwd, '.tmp');
  fs.mkdirSync(tmp);
  const env = { ...process.env, TMPDIR: tmp };
  const runRaw = (args: string[], input?: Buffer | string) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, input: input ?? '', maxBuffer: 256 << 20 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
  };
  const run = (args: string[], input?: Buffer | string) => {
    const r = runRaw(args, input);
    return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
  };
  return { cwd, tmp, run, runRaw };
}

/** A user error: the exit code, one short message naming `mention`, and no stack trace. */
function assertUserError(r: Ran, exitCode: number, mention: string, what: string): void {
  assert.equal(r.status, exitCode, `${what}: exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, new RegExp(mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `${what}: the message names ${mention}`);
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `${what}: no stack trace`);
  assert.doesNotMatch(r.stderr, /internal error/, `${what}: not reported as a bug`);
}

const entries = (dir: string) => fs.readdirSync(dir).filter((n) => n !== '.tmp').sort();

test('--version prints the package version; no arguments or an unknown command is a usage error (exit 2)', () => {
  const { run } = sandbox();
  for (const flag of ['--version', '-V']) {
    const r = run([flag]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), PKG.version);
  }
  assert.equal(run(['--help']).status, 0);
  assertUserError(run([]), 2, 'Usage: dioread', 'no command');
  assertUserError(run(['frobnicate']), 2, "unknown command 'frobnicate'", 'unknown command');
  assertUserError(run(['ls', 'x.img', '--bogus']), 2, "unknown option '--bogus'", 'unknown option');
});

test('every number is validated: NaN, negative, fractional, absurd and empty values exit 2 naming the value, and create nothing', () => {
  const { cwd, tmp, run } = sandbox();
  const bad: Array<[string[], string]> = [
    [['mkfs', 'a.img', '--size', 'abc'], '"abc"'],
    [['mkfs', 'a.img', '--size', '-5M'], '"-5M"'],
    [['mkfs', 'a.img', '--size', '1.5G'], '"1.5G"'],
    [['mkfs', 'a.img', '--size', '99999999T'], '"99999999T"'],
    [['mkfs', 'a.img', '--size', '100'], '"100"'],
    [['mkfs', 'a.img', '--max-files', 'NaN'], '"NaN"'],
    [['mkfs', 'a.img', '--max-files', '-3'], '"-3"'],
    [['mkfs', 'a.img', '--max-files', '2.5'], '"2.5"'],
    [['mkfs', 'a.img', '--max-files', '1e3'], '"1e3"'],
    [['mkfs', 'a.img', '--max-files', ''], '""'],
    [['mkfs', 'a.img', '--max-files', '10000000'], '"10000000"'],
    [['mkfs', 'a.img', '--journal-blocks', '0'], '"0"'],
    [['mkfs', 'a.img', '--journal-blocks', 'Infinity'], '"Infinity"'],
    [['demo', '--mib', '0'], '"0"'],
    [['demo', '--mib', '1e9'], '"1e9"'],
  ];
  for (const [args, value] of bad) assertUserError(run(args), 2, value, args.join(' '));
  // A file no page cache can hold for the cached profile (the size once overflowed a 32-bit shift).
  assertUserError(run(['profile', '--file-mib', '100000']), 2, '--file-mib 100000', 'profile --file-mib 100000');
  // A size the engine refuses (the metadata does not fit) is a usage error too, and leaves no file.
  assertUserError(run(['mkfs', 'a.img', '--size', '1M', '--journal-blocks', '100000']), 2, 'too small', 'mkfs too small');
  assert.deepEqual(entries(cwd), [], 'no image file is left behind');
  assert.deepEqual(fs.readdirSync(tmp), [], 'no temporary directory is left behind');
});

test('user errors are one line with exit 1: missing image, missing or directory source, missing file, bad name (exit 2)', () => {
  const { cwd, run } = sandbox();
  assertUserError(run(['ls', 'nope.img']), 1, 'nope.img does not exist', 'ls missing image');
  assertUserError(run(['cat', 'nope.img', 'f']), 1, 'nope.img does not exist', 'cat missing image');
  assert.equal(run(['mkfs', 'a.img', '--size', '16M']).status, 0);
  assertUserError(run(['put', 'a.img', 'f', 'no-such-source']), 1, 'no-such-source does not exist', 'put missing source');
  assertUserError(run(['put', 'a.img', 'f', cwd]), 1, 'is a directory', 'put directory source');
  assertUserError(run(['cat', 'a.img', 'missing']), 1, 'missing', 'cat missing file');
  assertUserError(run(['stat', 'a.img', 'missing']), 1, 'missing', 'stat missing file');
  assertUserError(run(['put', 'a.img', '..', '-'], 'x'), 2, '".."', 'put bad name');
  assertUserError(run(['put', 'a.img', 'nodir/f', '-'], 'x'), 1, 'no directory nodir', 'put under a missing directory');
  assertUserError(run(['mkfs', cwd]), 2, 'not a regular file', 'mkfs on a directory');
  // Nothing was written into the image by the failed commands.
  assert.equal(run(['ls', 'a.img']).stdout, '');
});

test('mkfs refuses a file that holds a dioread image unless --force; a plain file is formatted', () => {
  const { cwd, run } = sandbox();
  assert.equal(run(['mkfs', 'a.img', '--size', '16M']).status, 0);
  assert.equal(run(['put', 'a.img', 'keep', '-'], 'precious').status, 0);
  const before = fs.readFileSync(path.join(cwd, 'a.img'));
  assertUserError(run(['mkfs', 'a.img', '--size', '16M']), 1, '--force', 'mkfs over an image');
  assert.ok(fs.readFileSync(path.join(cwd, 'a.img')).equals(before), 'the refused image is untouched');
  assert.equal(run(['cat', 'a.img', 'keep']).stdout, 'precious');
  const forced = run(['mkfs', 'a.img', '--size', '16M', '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal(run(['ls', 'a.img']).stdout, '', '--force formatted it: no files');
  fs.writeFileSync(path.join(cwd, 'plain.img'), 'not an image');
  assert.equal(run(['mkfs', 'plain.img', '--size', '16M']).status, 0, 'a file without a dioread superblock is formatted');
});

test('put and cat copy bytes exactly (a host file, stdin, --no-sync); put prints progress lines on a non-terminal stderr', () => {
  const { cwd, run, runRaw } = sandbox();
  assert.equal(run(['mkfs', 'a.img', '--size', '64M']).status, 0);
  const big = pattern(7, 0, (20 << 20) + 12345);
  fs.writeFileSync(path.join(cwd, 'big.bin'), big);
  const put = run(['put', 'a.img', 'big', 'big.bin']);
  assert.equal(put.status, 0, put.stderr);
  const lines = put.stderr.split('\n').filter((l) => l.startsWith('put big: '));
  assert.ok(lines.length >= 5 && lines.at(-1)!.startsWith('put big: 100%'), `progress lines on stderr, got: ${put.stderr}`);
  const out = runRaw(['cat', 'a.img', 'big']);
  assert.equal(out.status, 0, out.stderr);
  assert.ok(out.stdout.equals(big), 'cat returns the bytes put stored');
  assert.equal(run(['put', 'a.img', 'big', 'big.bin', '--quiet']).stderr.includes('%'), false, '--quiet: no progress');

  const small = pattern(9, 0, 5000);
  const noSync = runRaw(['put', 'a.img', 'small', '--no-sync'], small);
  assert.equal(noSync.status, 0, noSync.stderr);
  assert.match(noSync.stderr, /not synced/);
  assert.ok(runRaw(['cat', 'a.img', 'small']).stdout.equals(small), 'put --no-sync from stdin stored the bytes (close drains them)');
  assert.match(run(['ls', 'a.img']).stdout, /5000 {2}small/);

  // A put that fails (the image fills up) leaves the old file as it was and no partial one.
  const tooBig = path.join(cwd, 'too-big.bin');
  fs.writeFileSync(tooBig, pattern(11, 0, 80 << 20));
  assertUserError(run(['put', 'a.img', 'small', tooBig, '--quiet']), 1, 'ENOSPC', 'put into a full image');
  assert.ok(runRaw(['cat', 'a.img', 'small']).stdout.equals(small), 'the old file is intact');
  assert.deepEqual(run(['ls', 'a.img', '--json']).stdout.match(/"name": "[^"]+"/g)?.sort(), ['"name": "big"', '"name": "small"'], 'no partial file is left');
});

test('a reader that goes away (cat | head) ends the command quietly with exit 0', () => {
  const { cwd, run } = sandbox();
  assert.equal(run(['mkfs', 'a.img', '--size', '32M']).status, 0);
  fs.writeFileSync(path.join(cwd, 'big.bin'), pattern(3, 0, 8 << 20));
  assert.equal(run(['put', 'a.img', 'big', 'big.bin']).status, 0);
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" cat a.img big | head -c 10 > /dev/null; echo "status=\${PIPESTATUS[0]}" >&2`], { cwd, encoding: 'utf8' });
  assert.match(r.stderr, /status=0/, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|^\s+at /m, r.stderr);
});

test('demo leaves no temporary directory, whether it finishes or is interrupted (SIGINT)', async () => {
  const { tmp, run } = sandbox();
  const done = run(['demo', '--mib', '1']);
  assert.equal(done.status, 0, done.stderr);
  assert.match(done.stdout, /0 mismatches/);
  assert.deepEqual(fs.readdirSync(tmp), [], 'a finished demo removed its image');

  const child = spawn(process.execPath, [CLI, 'demo', '--mib', '48'], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  // Interrupt once the demo has its image (its first line), while it writes.
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) resolve();
    });
  });
  assert.equal(fs.readdirSync(tmp).length, 1, 'the running demo has its temporary directory');
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 130, 'interrupted: exit 128 + SIGINT');
  assert.deepEqual(fs.readdirSync(tmp), [], 'an interrupted demo removed its image');
});
