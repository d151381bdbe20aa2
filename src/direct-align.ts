// The one O_DIRECT alignment probe of the tree. O_DIRECT transfers need memory aligned to the
// device's logical block size, and Node has no way to ask for aligned memory: so try an O_DIRECT
// read at offsets 0, 16, 32, ... of a buffer until the kernel takes one (EINVAL means "misaligned,
// try the next"). The engine aligns its frames with it (src/device.ts probeDirectAlignment), the
// benchmark checks a filesystem takes O_DIRECT (bench/odirect.ts) and aligns the node-fs-direct
// peer's buffer (bench/readers/node-fs-direct.ts).
// kernel counterpart: the alignment check of a direct I/O that returns -EINVAL (iomap_dio_bio_iter
// in fs/iomap/direct-io.c, which ext4's O_DIRECT goes through); fio aligns its own buffers (iomem_align).
import fs from 'node:fs';

/** The step between tried offsets (array buffers come from malloc: 16-byte aligned already). */
const PROBE_STEP = 16;

/**
 * The first offset in [0, probeBytes), a multiple of 16, at which an O_DIRECT read of `lengthBytes`
 * bytes at file position `positionBytes` into `mem` succeeds; -1 when the kernel refused every one
 * with EINVAL. Any other error is thrown as it came. `fd` must be open with O_DIRECT.
 */
export function findDirectAlignedOffset(fd: number, mem: Uint8Array, lengthBytes: number, positionBytes: number, probeBytes: number): number {
  for (let off = 0; off < probeBytes; off += PROBE_STEP) {
    try {
      fs.readSync(fd, mem, off, lengthBytes, positionBytes);
      return off;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    }
  }
  return -1;
}

/**
 * Open `path` with O_DIRECT and find the aligned offset in `mem` for a read of `lengthBytes` at
 * position 0; -1 when the file cannot be opened with O_DIRECT (tmpfs before Linux 6.6, some overlay
 * and FUSE filesystems), when no offset works, or when the read fails otherwise.
 */
export function probeDirectFile(path: string, mem: Uint8Array, lengthBytes: number, probeBytes: number): number {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  } catch {
    return -1;
  }
  try {
    return findDirectAlignedOffset(fd, mem, lengthBytes, 0, probeBytes);
  } catch {
    return -1;
  } finally {
    fs.closeSync(fd);
  }
}
