// Does a directory's filesystem take O_DIRECT? (Older tmpfs and some overlay and FUSE filesystems
// refuse it; tmpfs takes it since Linux 6.6.) The direct peers (node-fs-direct, fio) need it.
// fio counterpart: fio's own "O_DIRECT not supported" check at file open.
import fs from 'node:fs';
import path from 'node:path';

export function directIoWorks(dir: string): boolean {
  const probe = path.join(fs.mkdtempSync(path.join(dir, 'dioread-odirect-')), 'probe');
  try {
    fs.writeFileSync(probe, Buffer.alloc(4096, 1));
    let fd: number;
    try {
      fd = fs.openSync(probe, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
    } catch {
      return false;
    }
    try {
      // O_DIRECT needs aligned memory, which Node cannot ask for: try offsets in a buffer.
      const mem = new Uint8Array(new SharedArrayBuffer(8192));
      for (let off = 0; off < 4096; off += 16) {
        try {
          fs.readSync(fd, mem, off, 4096, 0);
          return true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EINVAL') return false;
        }
      }
      return false;
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.rmSync(path.dirname(probe), { recursive: true, force: true });
  }
}
