// The temporary dioread image of a run and the one file the cells read: its size, the engine's
// cache and table sizes that fit it, and where its blocks lie on the image (for fio).
// fio counterpart: the job's filename/size, and what fio's "laying out IO file" step does.
import { Engine, type FileHandle } from '../src/index.js';
import { BLOCK_SIZE } from '../src/shm/layout.js';
import { mapBlocks } from '../src/extents.js';
import { attachUnchecked } from '../src/attach.js';
import { threadWorkloads, type BenchOptions } from './options.js';
import { fillBlock } from './peers.js';

export const BENCH_FILE = 'bench';

export interface ImagePlan {
  /** Bytes the readers read: [0, readBytes) of the file. */
  readBytes: number;
  /** Each writer writes its own writerIos blocks (of blockSize) after the read region. */
  writerIos: number;
  maxWriters: number;
  /** The whole file: read region plus every writer's region. */
  fileBytes: number;
  /** Image size when formatting, and the engine's cache and thread slots. */
  sizeBytes: number;
  cachePages: number;
  maxThreads: number;
}

export function planImage(o: BenchOptions): ImagePlan {
  const readBytes = o.fileMib * 1024 * 1024;
  const readIos = readBytes / o.blockSize;
  const maxWriters = Math.max(0, ...o.writers);
  // A writer's region: 1 MiB, or a quarter of the read region if that is less. While all writers'
  // regions together stay smaller than the read region (up to 16 writers at the default 16 MiB),
  // their dirty pages stay under the engine's dirty threshold (half the cache): the writers
  // measure the write path and the inode mutex, not writeback.
  const writerIos = Math.max(1, Math.min(Math.floor((1 << 20) / o.blockSize), Math.floor(readIos / 4)));
  const fileBytes = readBytes + maxWriters * writerIos * o.blockSize;
  const filePages = Math.ceil(fileBytes / BLOCK_SIZE);
  const sizeBytes = roundUp(Math.max(64 << 20, 2 * fileBytes + (16 << 20)), BLOCK_SIZE);
  const maxReaders = Math.max(1, ...threadWorkloads(o).map((w) => Math.max(...o.threads[w])));
  return {
    readBytes,
    writerIos,
    maxWriters,
    fileBytes,
    sizeBytes,
    cachePages: filePages + 256,
    // readers + writers + main + conversion worker + engine pool + a margin for the warm-up task
    maxThreads: Math.max(64, maxReaders + maxWriters + 16),
  };
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Write the bench file (the same bytes as the peers' copies), sync it, and close the handle. */
export async function writeBenchFile(eng: Engine, plan: ImagePlan, blockSize: number): Promise<void> {
  const f = await eng.open(BENCH_FILE, { create: true });
  try {
    await f.truncate(0);
    const chunkBytes = Math.max(blockSize, 1 << 20);
    const chunk = Buffer.alloc(chunkBytes);
    const block = Buffer.alloc(blockSize);
    for (let at = 0; at < plan.fileBytes; at += chunkBytes) {
      const n = Math.min(chunkBytes, plan.fileBytes - at);
      for (let b = 0; b < n; b += blockSize) {
        fillBlock(block, (at + b) / blockSize);
        block.copy(chunk, b);
      }
      await f.write(chunk.subarray(0, n), { position: at });
    }
    await f.sync();
  } finally {
    await f.close();
  }
}

export interface PhysicalRun {
  offsetBytes: number;
  sizeBytes: number;
}

/** Where the read region's blocks lie on the image, in file order, contiguous runs merged. */
export async function physicalRuns(eng: Engine, readBytes: number): Promise<PhysicalRun[]> {
  const f: FileHandle = await eng.open(BENCH_FILE);
  const view = attachUnchecked(eng.share()); // main thread, set-up only: no lock is contended
  try {
    const runs: PhysicalRun[] = [];
    const blocks = Math.ceil(readBytes / BLOCK_SIZE);
    for (let lblk = 0; lblk < blocks; ) {
      mapBlocks(view.volume, f.ino, lblk); // no writer runs now: the plain lookup is stable
      const pblk = view.volume.mapPblk;
      const len = Math.min(view.volume.mapLen, blocks - lblk);
      if (pblk < 0) throw new Error(`bench: block ${lblk} of the bench file is a hole after writing it`);
      const last = runs[runs.length - 1];
      if (last && last.offsetBytes + last.sizeBytes === pblk * BLOCK_SIZE) last.sizeBytes += len * BLOCK_SIZE;
      else runs.push({ offsetBytes: pblk * BLOCK_SIZE, sizeBytes: len * BLOCK_SIZE });
      lblk += len;
    }
    return runs;
  } finally {
    view.detach();
    await f.close();
  }
}
