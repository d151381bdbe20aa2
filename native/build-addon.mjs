// The one node-gyp build step of dioread's optional native addons (native/fuse, native/uring).
// No kernel counterpart: it is the `cc ... $(pkg-config --cflags --libs ...)` step of a C tool.
//
// Without --optional (npm run build:fuse, build:uring) a failure is loud (exit 1); with --optional
// (npm's install step) it prints what to install and what still works, and exits 0, so `npm ci`
// and `npm install dioread` succeed on a machine without the library or a compiler.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** npm gives its own node-gyp to scripts; outside npm, the copy bundled with npm. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return fromNpm;
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return fs.existsSync(bundled) ? bundled : null;
}

/**
 * Build the addon in `dir` (its binding.gyp makes build/Release/`target`). `missing()` names what
 * the machine lacks (or returns null); `what` names the addon, `without` says what works without
 * it, `hint` the command that adds it.
 */
export function buildAddon({ dir, target, what, without, hint, missing }) {
  const optional = process.argv.includes('--optional');
  const giveUp = (why) => {
    if (!optional) {
      console.error(`dioread: cannot build the ${what}: ${why}`);
      process.exit(1);
    }
    console.error(`dioread: the ${what} was not built: ${why}. ${without}; to add it: ${hint}`);
    process.exit(0);
  };
  const lack = missing();
  if (lack !== null) giveUp(lack);
  const gyp = nodeGyp();
  if (gyp === null) giveUp('node-gyp was not found (it comes with npm)');
  const args = [gyp, 'rebuild'];
  // The headers of this node when they are installed beside it (distribution packages): no download.
  const prefix = path.join(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${path.resolve(prefix)}`);
  const r = spawnSync(process.execPath, args, { cwd: dir, stdio: optional ? ['ignore', 'ignore', 'pipe'] : 'inherit', encoding: 'utf8' });
  if (r.status !== 0) {
    if (optional && r.stderr) console.error(r.stderr.split('\n').filter((l) => /error/i.test(l)).slice(0, 8).join('\n'));
    giveUp(`node-gyp exited with ${r.status ?? r.signal} (a C compiler, make and python3 are needed too)`);
  }
  if (!optional) console.error(`built ${path.join(dir, 'build', 'Release', target)}`);
}
