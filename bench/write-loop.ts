// The writer thread of a cell: buffered writes of blockSize to its own blocks of the file the
// readers read (blocks no reader touches), so the inode mutex is busy while they read.
// fio counterpart: a second job with rw=randwrite, buffered (direct=0), on the same file.
import { attach } from '../src/index.js';
import { runLoop, type Reader } from './read-loop.js';
import type { ThreadResult, WriteTask } from './tasks.js';

export function runWriter(t: WriteTask, ctl: Int32Array): ThreadResult {
  const view = attach(t.desc);
  try {
    const fh = view.openSync(t.fileName, { direct: false });
    try {
      const buf = Buffer.alloc(t.blockSize, 0x40 + (t.threadIndex & 0x3f));
      // Reader-shaped, so that the writer runs the very same loop (phases, offsets, sampling).
      const writer: Reader = { read: (position) => fh.writeSync(buf, { position: position }), close: () => undefined, slot: view.slot };
      return runLoop(writer, { threadIndex: t.threadIndex, blockSize: t.blockSize, firstIo: t.firstIo + t.threadIndex * t.regionIos, regionIos: t.regionIos, sampleEvery: t.sampleEvery }, ctl, 'write');
    } finally {
      fh.closeSync();
    }
  } finally {
    view.detach();
  }
}
