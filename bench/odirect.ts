// Does a directory's filesystem take O_DIRECT? (Older tmpfs and some overlay and FUSE filesystems
// refuse it; tmpfs takes it since Linux 6.6.) The direct peers (node-fs-direct, fio) need it.
// fio counterpart: fio's own "O_DIRECT not supported" check at file open.
import fs from 'node:fs';
import path from 'node:path';
import { probeDirectFile } from '../src/direct-align.js';

/** True when a file in `dir` opens with O_DIRECT and an O_DIRECT read of 4 KiB works at some offset of a buffer. */
export function directIoWorks(dir: string): boolean {
  const probe = path.join(fs.mkdtempSync(path.join(dir, 'dioread-odirect-')), 'probe');
  try {
    fs.writeFileSync(probe, Buffer.alloc(4096, 1));
    // O_DIRECT needs aligned memory, which Node cannot ask for: try offsets in a buffer.
    return probeDirectFile(probe, new Uint8Array(new SharedArrayBuffer(8192)), 4096, 4096) >= 0;
  } finally {
    fs.rmSync(path.dirname(probe), { recursive: true, force: true });
  }
}
