// npm test: run every compiled test file with Node's built-in runner. Node 20's `node --test`
// does not expand globs, so the files are listed here, explicitly, from dist/test.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = path.resolve('dist/test');
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => path.join('dist/test', f));
if (files.length === 0) {
  console.error('no compiled tests in dist/test (did tsc run?)');
  process.exit(1);
}
const only = process.argv.slice(2);
const chosen = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...chosen], { stdio: 'inherit' });
process.exit(r.status ?? 1);
