// Build the optional io_uring addon (native/uring/uring.c) with node-gyp, against liburing.
// No kernel counterpart (it is the `cc uring.c -luring` step).
//
// `node native/uring/build.mjs` (npm run build:uring) fails loudly; with --optional (npm's install
// step) a missing liburing header or compiler prints what to install and exits 0, so `npm ci` and
// `npm install dioread` work without it, and the engine's async direct reads use libuv's fs.read
// instead (src/aio.ts). DIOREAD_NO_URING=1 skips the build. The build itself: ../build-addon.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon } from '../build-addon.mjs';

buildAddon({
  dir: path.dirname(fileURLToPath(import.meta.url)),
  target: 'dioread_uring.node',
  what: 'io_uring addon',
  without: "Async direct reads will use libuv's fs.read",
  hint: 'apt-get install -y liburing-dev && npm run build:uring',
  missing: () => {
    if (process.platform !== 'linux') return 'io_uring is Linux only';
    if (process.env.DIOREAD_NO_URING) return 'DIOREAD_NO_URING is set';
    if (!['/usr/include/liburing.h', '/usr/local/include/liburing.h'].some((h) => fs.existsSync(h))) return "liburing's header (liburing.h) is missing";
    return null;
  },
});
