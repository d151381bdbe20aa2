// Build the optional FUSE addon (native/fuse/dioread_fuse.c) with node-gyp, against libfuse3.
// libfuse counterpart: none (it is the `meson`/`cc $(pkg-config fuse3 --cflags --libs)` step).
//
// `node native/fuse/build.mjs` (npm run build:fuse) fails loudly; with --optional (npm's install
// step) a missing libfuse3 or compiler prints what to install and exits 0, so `npm ci` works on a
// machine without FUSE and `dioread mount` says what is missing. The build itself: ../build-addon.mjs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon } from '../build-addon.mjs';

buildAddon({
  dir: path.dirname(fileURLToPath(import.meta.url)),
  target: 'dioread_fuse.node',
  what: 'FUSE addon (dioread mount)',
  without: 'The rest of dioread works',
  hint: 'apt-get install -y fuse3 libfuse3-dev && npm run build:fuse',
  missing: () => {
    const pc = spawnSync('pkg-config', ['--exists', 'fuse3']);
    return pc.error || pc.status !== 0 ? "libfuse3's development files are missing (pkg-config fuse3 failed)" : null;
  },
});
