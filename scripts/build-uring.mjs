// Builds the optional io_uring addon (native/uring) at install time, and never fails the install:
// without liburing's header (Debian: apt-get install liburing-dev), a compiler or node-gyp, it says
// so and the engine's async direct reads use libuv's fs.read instead (src/aio.ts).
// No ext4 counterpart.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'native', 'uring');
const note = (why) => console.log(`dioread: the io_uring addon is not built (${why}); async direct reads will use libuv's fs.read`);

if (process.platform !== 'linux') note('not Linux');
else if (process.env.DIOREAD_NO_URING) note('DIOREAD_NO_URING is set');
else if (!['/usr/include/liburing.h', '/usr/local/include/liburing.h'].some((h) => fs.existsSync(h))) note('liburing.h not found: apt-get install liburing-dev');
else {
  // npm puts its own node-gyp on PATH for install scripts.
  const r = spawnSync('node-gyp', ['rebuild'], { cwd: dir, encoding: 'utf8' });
  if (r.status === 0) console.log('dioread: io_uring addon built (native/uring/build/Release/dioread_uring.node)');
  else note(r.error ? `node-gyp: ${r.error.message}` : `node-gyp exited with ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
}
