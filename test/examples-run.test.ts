// Guards issue 12's documentation point "examples/ ... the test suite type-checks (tsc --strict
// --noEmit) and runs": every TypeScript program in examples/ compiles strictly on its own (as a
// user compiles it, against the package's published types through its own name, 'dioread') and
// runs to a clean end, leaving no temporary files. packaging.test.ts does the same against the
// installed tarball.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tmpDir } from './helpers/image.js';

const REPO = new URL('../../', import.meta.url).pathname;
const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');
const examples = fs.readdirSync(path.join(REPO, 'examples')).filter((f) => f.endsWith('.ts'));

test('examples/ holds TypeScript programs', () => {
  assert.ok(examples.includes('embed.ts'), `examples: ${examples.join(', ')}`);
});

for (const file of examples) {
  test(`examples/${file} type-checks with tsc --strict --noEmit and runs cleanly`, () => {
    const check = spawnSync(process.execPath, [TSC, '--ignoreConfig', '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--types', 'node', path.join('examples', file)], { cwd: REPO, encoding: 'utf8' });
    assert.equal(check.status, 0, `tsc --strict:\n${check.stdout}${check.stderr}`);
    // The build (tsconfig.json includes examples/) compiled it to dist/examples.
    const tmp = tmpDir('dioread-example-run-');
    try {
      const r = spawnSync(process.execPath, [path.join(REPO, 'dist/examples', file.replace(/\.ts$/, '.js'))], { cwd: REPO, encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, timeout: 60_000 });
      assert.equal(r.status, 0, `the example failed:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /closed cleanly/);
      assert.deepEqual(fs.readdirSync(tmp), [], 'the example removed its temporary image');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
