// Guards issue 8's layering rules (docs/ARCHITECTURE.md): no import cycle; the engine (src/) never
// imports the benchmark or the command line; worker entry points and thread-side modules never
// import the main-thread Engine; nothing shipped imports tests. dependency-cruiser checks the
// compiled dist/ (the runtime import graph) against .dependency-cruiser.cjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

test('the import graph has no cycle and crosses no layer the wrong way', () => {
  const root = path.resolve('.');
  // The package exports neither its bin nor its package.json: it sits in node_modules as installed.
  const bin = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const r = spawnSync(process.execPath, [bin, 'dist/src', 'dist/workers', 'dist/bench', 'dist/cli', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `dependency-cruiser found violations:\n${r.stdout}${r.stderr}`);
});
