#!/usr/bin/env node
// The dioread command line: mkfs, put, cat, ls, stat, fsck, bench, profile, mount, umount (and demo).
// ext4 counterpart: the e2fsprogs tools and fio, for this engine. Commands live in cli/; the engine (src/) and the benchmark (bench/) never import them.
// Exit codes: 0 ok, 1 the command failed, 2 a usage error (fsck keeps e2fsck's codes); a user
// error prints one line, never a stack trace (cli/args.ts reportError).
import fs from 'node:fs';
import { Command } from 'commander';
import { reportError } from './args.js';
import { register as registerFiles } from './files.js';
import { register as registerDemo } from './demo.js';
import { register as registerProfile } from './profile.js';
import { register as registerBench } from './bench.js';
import { register as registerMount } from './mount.js';

/** The package's version, from the package.json two levels above dist/cli/main.js. */
function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

const program = new Command();
program
  .name('dioread')
  .description('the ext4 dioread_nolock design in user space: a storage engine for Node.js')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError('(add --help for usage)')
  // Commander's own errors (unknown option, bad number) throw instead of exiting, so that every
  // error leaves through reportError with the exit codes above. Subcommands inherit this.
  .exitOverride();
registerFiles(program);
registerDemo(program);
registerProfile(program);
registerBench(program);
registerMount(program);

// The reader of our output went away (`dioread ls img | head -1`): stop quietly, as a command
// killed by SIGPIPE would, instead of an unhandled 'error' event's stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

program.parseAsync(process.argv).catch((err: unknown) => {
  process.exit(reportError(err));
});
