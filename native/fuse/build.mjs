// Build the optional FUSE addon (native/fuse/dioread_fuse.c) with node-gyp, against libfuse3.
// libfuse counterpart: none (it is the `meson`/`cc $(pkg-config fuse3 --cflags --libs)` step).
//
// `node native/fuse/build.mjs` (npm run build:fuse) fails loudly; with --optional (npm's install
// step) a missing libfuse3 or compiler prints what to install and exits 0, so `npm ci` works on a
// machine without FUSE and `dioread mount` says what is missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const optional = process.argv.includes('--optional');
const INSTALL_HINT = 'apt-get install -y fuse3 libfuse3-dev';

function giveUp(why) {
  if (!optional) {
    console.error(`dioread: cannot build the FUSE addon: ${why}`);
    process.exit(1);
  }
  console.error(`dioread: the FUSE addon (dioread mount) was not built: ${why}. The rest of dioread works; to add mount: ${INSTALL_HINT} && npm run build:fuse`);
  process.exit(0);
}

/** npm gives its own node-gyp to scripts; outside npm, the copy bundled with npm. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return fromNpm;
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return fs.existsSync(bundled) ? bundled : null;
}

const pc = spawnSync('pkg-config', ['--exists', 'fuse3']);
if (pc.error || pc.status !== 0) giveUp(`libfuse3's development files are missing (pkg-config fuse3 failed)`);
const gyp = nodeGyp();
if (gyp === null) giveUp('node-gyp was not found (it comes with npm)');
const args = [gyp, 'rebuild'];
// The headers of this node when they are installed beside it (distribution packages): no download.
const prefix = path.join(path.dirname(process.execPath), '..');
if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${path.resolve(prefix)}`);
const r = spawnSync(process.execPath, args, { cwd: here, stdio: optional ? ['ignore', 'ignore', 'pipe'] : 'inherit', encoding: 'utf8' });
if (r.status !== 0) {
  if (optional && r.stderr) console.error(r.stderr.split('\n').filter((l) => /error/i.test(l)).slice(0, 8).join('\n'));
  giveUp(`node-gyp exited with ${r.status ?? r.signal} (a C compiler, make and python3 are needed too)`);
}
if (!optional) console.error(`built ${path.join(here, 'build', 'Release', 'dioread_fuse.node')}`);
