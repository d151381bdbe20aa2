// The benchmark's piscina worker: one task is one thread of one cell (a reader or the writer),
// which loops on its own until the main thread says stop, then returns its counts and latency
// histogram. Nothing per read crosses threads. fio counterpart: a job's thread (numjobs=N → N tasks).
import { attach, type SharedDescriptor } from '../src/index.js';
import { runReadLoop, type Reader } from './read-loop.js';
import { runWriter } from './write-loop.js';
import { DioreadReader } from './readers/dioread.js';
import { LmdbReader } from './readers/lmdb.js';
import { NodeFsReader } from './readers/node-fs.js';
import { NodeFsDirectReader } from './readers/node-fs-direct.js';
import { SabMemcpyReader } from './readers/sab-memcpy.js';
import type { BenchTask, ReadTask, ThreadResult } from './tasks.js';

export default async function run(t: BenchTask): Promise<ThreadResult | { warmedBytes: number }> {
  if (t.role === 'warm') return { warmedBytes: warm(t.desc, t.fileName, t.sizeBytes) };
  const ctl = new Int32Array(t.control);
  if (t.role === 'write') return runWriter(t, ctl);
  const reader = await openReader(t);
  try {
    return runReadLoop(reader, { threadIndex: t.threadIndex, blockSize: t.blockSize, firstIo: 0, regionIos: t.regionIos, sampleEvery: t.sampleEvery }, ctl);
  } finally {
    await reader.close();
  }
}

async function openReader(t: ReadTask): Promise<Reader> {
  switch (t.kind) {
    case 'dioread':
      return new DioreadReader(t);
    case 'sab-memcpy':
      return new SabMemcpyReader(t);
    case 'node-fs':
      return new NodeFsReader(t);
    case 'lmdb':
      return LmdbReader.open(t);
    case 'node-fs-direct':
      return new NodeFsDirectReader(t);
  }
}

/** Read a whole dioread file once through a buffered handle, so that its pages are cached. */
function warm(desc: SharedDescriptor, fileName: string, sizeBytes: number): number {
  const view = attach(desc);
  try {
    const fh = view.openSync(fileName);
    const buf = Buffer.alloc(1 << 20);
    let done = 0;
    try {
      while (done < sizeBytes) {
        const n = fh.readSync(buf.subarray(0, Math.min(buf.length, sizeBytes - done)), { position: done });
        if (n === 0) break;
        done += n;
      }
    } finally {
      fh.closeSync();
    }
    return done;
  } finally {
    view.detach();
  }
}
