// The writer thread of a cell: buffered writes of blockSize to its own blocks of the file the
// readers read (blocks no reader touches), so the inode mutex is busy while they read; for
// `dioread profile`, also an fsync and a truncate every so many writes (writeback, io_ends,
// conversion, allocation keep running). fio counterpart: a second job with rw=randwrite, buffered
// (direct=0), on the same file (fsync=N; the truncates have none).
import { attach } from '../src/index.js';
import { OP_WRITE } from '../src/shm/layout.js';
import { runLoop, type Reader } from './read-loop.js';
import { dioreadBatchTracer } from './readers/dioread.js';
import type { ThreadResult, WriteTask } from './tasks.js';

export function runWriter(t: WriteTask, ctl: Int32Array): ThreadResult {
  const view = attach(t.desc);
  try {
    const fh = view.openSync(t.fileName, { direct: false });
    try {
      const buf = Buffer.alloc(t.blockSize, 0x40 + (t.threadIndex & 0x3f));
      const syncEvery = t.syncEvery ?? 0;
      const truncateEvery = t.truncateEvery ?? 0;
      let writes = 0;
      const write = (position: number): number => {
        const n = fh.writeSync(buf, { position: position });
        writes++;
        if (syncEvery > 0 && writes % syncEvery === 0) fh.fsyncSync();
        if (truncateEvery > 0 && writes % truncateEvery === 0) fh.truncateSync(t.firstIo * t.blockSize);
        return n;
      };
      // Reader-shaped, so that the writer runs the very same loop (phases, offsets, sampling).
      const writer: Reader = { read: write, close: () => undefined, slot: view.slot, batchTracer: () => dioreadBatchTracer(view, OP_WRITE) };
      return runLoop(writer, { threadIndex: t.threadIndex, blockSize: t.blockSize, firstIo: t.firstIo + t.threadIndex * t.regionIos, regionIos: t.regionIos, sampleEvery: t.sampleEvery }, ctl, 'write');
    } finally {
      fh.closeSync();
    }
  } finally {
    view.detach();
  }
}
