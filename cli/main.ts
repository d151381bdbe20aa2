#!/usr/bin/env node
// The dioread command line: mkfs, put, cat, ls, stat, fsck, bench, profile (and demo).
// ext4 counterpart: the e2fsprogs tools and fio, for this engine. Commands live in cli/; the engine (src/) and the benchmark (bench/) never import them.
import { Command } from 'commander';
import { DioreadError } from '../src/errors.js';
import { register as registerFiles } from './files.js';
import { register as registerDemo } from './demo.js';
import { register as registerProfile } from './profile.js';
import { register as registerBench } from './bench.js';
import { register as registerMount } from './mount.js';

const program = new Command();
program
  .name('dioread')
  .description('the ext4 dioread_nolock design in user space: a storage engine for Node.js')
  .showHelpAfterError();
registerFiles(program);
registerDemo(program);
registerProfile(program);
registerBench(program);
registerMount(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof DioreadError) {
    console.error(`dioread: ${err.message}`);
    process.exit(2);
  }
  throw err;
});
