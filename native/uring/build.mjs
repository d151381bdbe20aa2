// Build the optional io_uring addon (native/uring/uring.c) with node-gyp, against liburing.
// No kernel counterpart (it is the `cc uring.c -luring` step).
//
// `node native/uring/build.mjs` (npm run build:uring) fails loudly; with --optional (npm's install
// step) a missing liburing header or compiler prints what to install and exits 0, so `npm ci` and
// `npm install dioread` work without it, and the engine's async direct reads use libuv's fs.read
// instead (src/aio.ts). DIOREAD_NO_URING=1 skips the build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const optional = process.argv.includes('--optional');
const INSTALL_HINT = 'apt-get install -y liburing-dev';

function giveUp(why) {
  if (!optional) {
    console.error(`dioread: cannot build the io_uring addon: ${why}`);
    process.exit(1);
  }
  console.error(`dioread: the io_uring addon was not built: ${why}. Async direct reads will use libuv's fs.read; to add it: ${INSTALL_HINT} && npm run build:uring`);
  process.exit(0);
}

/** npm gives its own node-gyp to scripts; outside npm, the copy bundled with npm. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return fromNpm;
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return fs.existsSync(bundled) ? bundled : null;
}

if (process.platform !== 'linux') giveUp('io_uring is Linux only');
if (process.env.DIOREAD_NO_URING) giveUp('DIOREAD_NO_URING is set');
if (!['/usr/include/liburing.h', '/usr/local/include/liburing.h'].some((h) => fs.existsSync(h))) giveUp("liburing's header (liburing.h) is missing");
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
if (!optional) console.error(`built ${path.join(here, 'build', 'Release', 'dioread_uring.node')}`);
