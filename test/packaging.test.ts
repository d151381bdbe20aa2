// Guards issue 12's packaging points, the way a new user meets the package: `npm pack` -> install
// the tarball into a fresh app (offline) -> ESM import, CommonJS require (works through require(esm),
// or fails saying to use import()), strict TypeScript compile of examples/embed.ts against the
// installed types (ESM and CJS), the example run, the `dioread` bin run. And the tarball itself:
// a LICENSE, no source map (or map reference) to a file it does not ship, markdown links that
// resolve, no test-only switch reachable, every shipped module importing only node builtins, its
// own files and declared dependencies.
//
// The install is offline and deterministic: the app gets a lockfile made of the repository's own
// (its production entries, whose tarballs `npm ci` put in the npm cache) plus the packed tarball,
// and `npm ci --offline` installs from the cache. (`npm install --offline <tgz>` cannot work:
// it needs the registry's package metadata, which `npm ci` never fetches.)
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tmpDir } from './helpers/image.js';

const REPO = new URL('../../', import.meta.url).pathname;
const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');
const TYPE_ROOTS = path.join(REPO, 'node_modules/@types');
const NPM_TIMEOUT_MS = 120_000;
/** What an embedder's node_modules may weigh (issue 12), in bytes of file content. */
const EMBEDDER_BUDGET_BYTES = 5 * 1024 * 1024;

interface Pkg {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const PKG = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Pkg;

let work = '';
let app = '';
let tarball = '';
let installed = '';

function run(cmd: string, args: string[], cwd: string, extra: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...extra.env }, timeout: extra.timeoutMs ?? 60_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const node = (args: string[], cwd = app, env?: NodeJS.ProcessEnv) => run(process.execPath, args, cwd, { env });
const tsc = (args: string[]) => run(process.execPath, [TSC, '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--types', 'node', '--typeRoots', TYPE_ROOTS, ...args], app);

/** The app's lockfile: the packed tarball plus the repository lockfile's production entries. */
function writeAppLock(tgzName: string): void {
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(path.join(work, tgzName))).digest('base64')}`;
  const deps = { [PKG.name]: `file:../${tgzName}` };
  const packages: Record<string, unknown> = {
    '': { name: 'app', version: '1.0.0', dependencies: deps },
    [`node_modules/${PKG.name}`]: {
      version: PKG.version,
      resolved: `file:../${tgzName}`,
      integrity,
      license: PKG.license,
      dependencies: PKG.dependencies,
      optionalDependencies: PKG.optionalDependencies ?? {},
      bin: PKG.bin,
      engines: PKG.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) if (key !== '' && !entry.dev) packages[key] = entry;
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module', dependencies: deps }, null, 2));
  fs.writeFileSync(path.join(app, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
}

before(() => {
  work = tmpDir('dioread-pack-');
  app = path.join(work, 'app');
  fs.mkdirSync(app);
  // --ignore-scripts: dist/ is already built (npm test's pretest); `prepare` would delete and
  // rebuild it under the running tests.
  const out = ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO, { timeoutMs: NPM_TIMEOUT_MS }), 'npm pack');
  const packed = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string }>;
  tarball = path.join(work, packed[0]!.filename);
  writeAppLock(packed[0]!.filename);
  ok(run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app, { timeoutMs: NPM_TIMEOUT_MS }), 'npm ci --offline of the packed tarball');
  installed = path.join(app, 'node_modules', PKG.name);
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Every file of the installed package, relative to its root. */
function packageFiles(): string[] {
  return (fs.readdirSync(installed, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(installed, f)).isFile()).sort();
}

test('the tarball ships a LICENSE and the CommonJS entry, no tests, and no source map or map reference to a file it lacks', () => {
  assert.ok(fs.existsSync(tarball));
  const files = packageFiles();
  assert.ok(files.includes('LICENSE') && /MIT License/.test(fs.readFileSync(path.join(installed, 'LICENSE'), 'utf8')), 'an MIT LICENSE');
  assert.ok(files.includes('cjs/index.cjs'), 'the CommonJS entry');
  assert.equal(files.filter((f) => f.startsWith('dist/test/')).length, 0, 'no compiled tests');
  // The build writes no maps (tsconfig sourceMap false: the 5 MB budget, see package.json files);
  // should one ship again, it and the sources it names must be in the package.
  for (const f of files.filter((x) => /\.(c|m)?js$/.test(x))) {
    const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(path.join(installed, f), 'utf8'));
    if (ref) assert.ok(files.includes(path.normalize(path.join(path.dirname(f), ref[1]!))), `${f} names the map ${ref[1]}, which the package does not ship`);
  }
  for (const m of files.filter((f) => f.endsWith('.map'))) {
    const map = JSON.parse(fs.readFileSync(path.join(installed, m), 'utf8')) as { sources: string[] };
    for (const s of map.sources) {
      const target = path.normalize(path.join(path.dirname(m), s));
      assert.ok(files.includes(target), `${m} points at ${target}, which the package does not ship`);
    }
  }
});

test("every relative link in the shipped markdown (README, docs/) points at a shipped file", () => {
  const files = packageFiles();
  let links = 0;
  for (const md of files.filter((f) => f.endsWith('.md'))) {
    for (const m of fs.readFileSync(path.join(installed, md), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      links++;
      const file = path.normalize(path.join(path.dirname(md), target.split('#')[0]!));
      assert.ok(files.includes(file), `${md} links ${target}, which the package does not ship`);
    }
  }
  assert.ok(links >= 5, `links checked: ${links}`);
});

test('every shipped module imports only node builtins, its own files and declared dependencies', () => {
  // Optional peers (peerDependenciesMeta optional: not installed for an embedder) are declared too:
  // the benchmark's chart (vega, vega-lite) and its lmdb peer load them when present and say so when not.
  const optionalPeers = Object.keys(PKG.peerDependencies ?? {}).filter((n) => PKG.peerDependenciesMeta?.[n]?.optional === true);
  const declared = new Set([...Object.keys(PKG.dependencies), ...Object.keys(PKG.optionalDependencies ?? {}), ...optionalPeers]);
  const builtins = new Set(builtinModules);
  const code = packageFiles().filter((f) => /\.(c|m)?js$/.test(f));
  // Static imports and re-exports, dynamic import('x'), require('x') and createRequire(...)('x'),
  // outside comment lines.
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|\brequire\s*\(\s*|\bcreateRequire\([^)]*\)\s*\(\s*)(['"])([^'"\n]+)\1/gm;
  let checked = 0;
  for (const f of code) {
    const lines = fs.readFileSync(path.join(installed, f), 'utf8').split('\n');
    const text = lines.filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l)).join('\n');
    for (const m of text.matchAll(specifier)) {
      const spec = m[2]!;
      checked++;
      if (spec.startsWith('.')) {
        assert.ok(fs.existsSync(path.join(installed, path.dirname(f), spec)), `${f} imports ${spec}, which the package does not ship`);
        continue;
      }
      if (spec.startsWith('node:') || builtins.has(spec) || spec === PKG.name) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      assert.ok(declared.has(name), `${f} imports ${spec}: ${name} is not a dependency of the package`);
    }
  }
  assert.ok(checked > 50, `the scan found the imports (${checked})`);
});

test('the test-only switches are not reachable from the installed package', () => {
  const r = node(['--input-type=module', '-e', "await import('dioread/dist/src/testing-symbols.js')"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
  // Their keys are unique symbols, not registered names another module could spell.
  const src = fs.readFileSync(path.join(installed, 'dist/src/testing-symbols.js'), 'utf8');
  assert.doesNotMatch(src, /Symbol\.for\('dioread/);
  assert.match(src, /Symbol\('dioread\.test\./);
});

const ESM_SCRIPT = `
    import { Engine, DioreadError } from 'dioread';
    const eng = await Engine.open({ sizeBytes: 8 << 20 });
    const f = await eng.open('a', 'w+');
    await f.write('packaged', 0);
    const b = Buffer.alloc(8);
    await f.read(b, 0, 8, 0);
    await f.close();
    await eng.close();
    console.log(b.toString(), typeof DioreadError);`;

test('import works (ESM), and an engine opens, writes, reads and closes', () => {
  fs.writeFileSync(path.join(app, 'esm.mjs'), ESM_SCRIPT);
  assert.equal(ok(node(['esm.mjs']), 'ESM import').trim(), 'packaged function');
});

test('the engine also works in `node --input-type=module -e` (its workers do not inherit --input-type)', () => {
  assert.equal(ok(node(['--input-type=module', '-e', ESM_SCRIPT]), 'ESM import from --eval').trim(), 'packaged function');
});

test('require works through require(esm) where Node has it, and otherwise says to use import()', () => {
  fs.writeFileSync(path.join(app, 'req.cjs'), "const d = require('dioread'); console.log(typeof d.Engine, typeof d.attach, typeof d.DioreadError);\n");
  const hasRequireEsm = (process.features as { require_module?: boolean }).require_module;
  if (hasRequireEsm === true) assert.equal(ok(node(['req.cjs']), 'require').trim(), 'function function function');
  if (hasRequireEsm !== undefined) {
    // Node 20.19+ / 22.12+ with require(esm) turned off: the state of Node 20.15-20.18.
    const r = node(['--no-experimental-require-module', 'req.cjs']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /dioread is an ES module/);
    assert.match(r.stderr, /await import\('dioread'\)/);
  } else {
    const r = node(['req.cjs']);
    assert.match(r.stderr, /await import\('dioread'\)/);
  }
});

test('examples/embed.ts compiles with tsc --strict against the installed types (ESM and CommonJS) and runs', () => {
  fs.copyFileSync(path.join(REPO, 'examples/embed.ts'), path.join(app, 'embed.ts'));
  fs.writeFileSync(path.join(app, 'types.cts'), "import dioread = require('dioread');\nconst opened: Promise<dioread.Engine> = dioread.Engine.open({});\nvoid opened;\n");
  ok(tsc(['--noEmit', 'types.cts']), 'strict compile of a CommonJS user');
  ok(tsc(['--outDir', 'out', 'embed.ts']), 'strict compile of the example');
  const out = ok(node(['out/embed.js']), 'the example');
  assert.match(out, /a worker thread read "hello, dioread\\n"/);
  assert.match(out, /closed cleanly/);
});

test('the dioread bin runs with the installed dependencies', () => {
  const bin = path.join(app, 'node_modules/.bin/dioread');
  assert.equal(ok(run(bin, ['--version'], app), 'dioread --version').trim(), PKG.version);
  ok(run(bin, ['mkfs', 'x.img', '--size', '16M'], app), 'dioread mkfs');
  const put = spawnSync(bin, ['put', 'x.img', 'f'], { cwd: app, input: 'from the bin', encoding: 'utf8' });
  assert.equal(put.status, 0, put.stderr);
  assert.equal(ok(run(bin, ['cat', 'x.img', 'f'], app), 'dioread cat'), 'from the bin');
  ok(run(bin, ['bench', '--help'], app), 'dioread bench --help (loads the benchmark modules)');
});

test('an embedder installs at most 5 MB of node_modules', () => {
  let bytes = 0;
  const big = new Map<string, number>();
  for (const f of fs.readdirSync(path.join(app, 'node_modules'), { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(app, 'node_modules', f));
    if (!st.isFile()) continue;
    bytes += st.size;
    const top = f.split(path.sep).slice(0, f.startsWith('@') ? 2 : 1).join('/');
    big.set(top, (big.get(top) ?? 0) + st.size);
  }
  const heaviest = [...big].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, b]) => `${n} ${(b / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(bytes <= EMBEDDER_BUDGET_BYTES, `node_modules holds ${(bytes / 2 ** 20).toFixed(1)} MiB (budget 5 MiB); heaviest: ${heaviest.join(', ')}`);
});
