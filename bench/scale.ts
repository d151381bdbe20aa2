// npm run bench:scale [-- --quick] [--image-gib N] [--file-gib N] [--small-files N] [--dir D]:
// what the image format costs at scale (issue 12, "limits that grow"). A sparse image with one
// large file written in random 4 KiB writes (fragmented: up to one extent per block before merging)
// beside one written in order; many small files. Reported, as JSON on stdout: mkfs and open time,
// shared memory (the node pool included), RSS, metadata bytes on disk (the fixed areas and the
// extent-tree nodes, against the data written), extents and tree depth, and direct random-read IOPS
// on the fragmented file against the one written in order. A step the format refuses (a count over
// its limit) is reported with its error, not hidden.
// kernel counterpart: the scalability runs of mke2fs -T largefile / -N and fio on a fragmented file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Engine, attach, type SharedDescriptor } from '../src/index.js';
import { fsckImage } from '../src/fsck.js';
import { xorshift32Sequence } from '../src/prng.js';

const BLOCK = 4096;
const MIB = 1 << 20;

interface Args {
  imageGib: number;
  fileGib: number;
  smallFiles: number;
  readSeconds: number;
  dir: string;
}

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick');
  const num = (flag: string, dflt: number) => {
    const i = argv.indexOf(flag);
    if (i < 0) return dflt;
    const n = Number(argv[i + 1]);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`bench:scale: ${flag} must be a positive number, got ${argv[i + 1]}`);
    return n;
  };
  const dirAt = argv.indexOf('--dir');
  return {
    imageGib: num('--image-gib', quick ? 2 : 16),
    fileGib: num('--file-gib', quick ? 0.25 : 4),
    smallFiles: Math.floor(num('--small-files', quick ? 5000 : 100_000)),
    readSeconds: num('--read-seconds', quick ? 2 : 5),
    dir: dirAt >= 0 ? argv[dirAt + 1] : os.tmpdir(),
  };
}

/** Shared memory an engine holds: every SharedArrayBuffer of its descriptor. */
function sharedBytes(d: SharedDescriptor): number {
  return d.meta.byteLength + d.nodes.byteLength + d.frames.byteLength + d.stats.byteLength + (d.trace?.byteLength ?? 0) + (d.memoryDevice?.byteLength ?? 0);
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await run();
  return [r, performance.now() - t];
}

function failure(err: unknown): { refused: string; message: string } {
  const e = err as { code?: string; message?: string };
  return { refused: e.code ?? 'error', message: e.message ?? String(err) };
}

/** In a worker thread (a view's synchronous calls): write `blocks` 4 KiB blocks in `order`, then fsync. */
function writerMain(): void {
  const { desc, name, blocks, random } = workerData as { desc: SharedDescriptor; name: string; blocks: number; random: boolean };
  const v = attach(desc);
  const f = v.openSync(name, 'w+');
  const buf = Buffer.alloc(BLOCK, 0x5a);
  const order = Array.from({ length: blocks }, (_, i) => i);
  if (random) {
    const rnd = xorshift32Sequence(0x5ca1e);
    for (let i = blocks - 1; i > 0; i--) {
      const j = rnd() % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  let error: string | null = null;
  const t = performance.now();
  try {
    for (const b of order) f.writeSync(buf, 0, BLOCK, b * BLOCK);
    f.fsyncSync();
  } catch (err) {
    error = `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`;
  }
  const ms = performance.now() - t;
  f.closeSync();
  v.detach();
  parentPort!.postMessage({ ms, error });
}

/** In a worker thread: direct random 4 KiB reads of `name` for `seconds`; returns reads per second. */
function readerMain(): void {
  const { desc, name, blocks, seconds } = workerData as { desc: SharedDescriptor; name: string; blocks: number; seconds: number };
  const v = attach(desc);
  const f = v.openSync(name, { direct: true });
  const buf = Buffer.alloc(BLOCK);
  const rnd = xorshift32Sequence(0xbead);
  let n = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 64; i++) f.readSync(buf, 0, BLOCK, (rnd() % blocks) * BLOCK);
    n += 64;
  }
  f.closeSync();
  v.detach();
  parentPort!.postMessage({ iops: n / seconds });
}

function inWorker<T>(data: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: data });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

/**
 * After a close: fsck (clean?), metadata bytes against the data, then a timed reopen and the RSS
 * with the engine open. Returns the reopened engine and fsck's file list.
 */
/** Run one scenario on a fresh sparse file of `sizeBytes`: a failure goes into `out`; the file is removed. */
async function onSparseImage(image: string, sizeBytes: number, out: Record<string, unknown>, run: () => Promise<void>): Promise<void> {
  try {
    fs.closeSync(fs.openSync(image, 'w'));
    fs.truncateSync(image, sizeBytes);
    await run();
  } catch (err) {
    out.failure = failure(err);
  } finally {
    fs.rmSync(image, { force: true });
  }
}

async function checkAndReopen(image: string, out: Record<string, unknown>, opts: { cachePages?: number }): Promise<{ eng: Engine; files: Array<{ name: string; extents: number; treeNodes: number; treeDepth: number }> }> {
  const r = fsckImage(image);
  out.fsckClean = r.clean;
  const data = r.usedBlocks - r.treeNodeBlocks;
  out.metadataBytes = (r.firstDataBlock + r.treeNodeBlocks) * BLOCK;
  out.metadataFixedBytes = r.firstDataBlock * BLOCK;
  out.treeNodeBytes = r.treeNodeBlocks * BLOCK;
  out.dataBytes = data * BLOCK;
  out.metadataShareOfData = data > 0 ? (r.firstDataBlock + r.treeNodeBlocks) / data : null;
  const [eng, openMs] = await timed(() => Engine.open({ path: image, ...opts }));
  out.openMs = openMs;
  out.rssBytes = process.memoryUsage().rss;
  out.sharedBytesAfterOpen = sharedBytes(eng.share());
  return { eng, files: r.files };
}

async function fragmented(a: Args): Promise<Record<string, unknown>> {
  const image = path.join(a.dir, `dioread-scale-${process.pid}.img`);
  const blocks = Math.floor((a.fileGib * 1024 * MIB) / BLOCK);
  const out: Record<string, unknown> = { fileBytes: blocks * BLOCK, maxFiles: 4 };
  await onSparseImage(image, a.imageGib * 1024 * MIB, out, async () => {
    const [, mkfsMs] = await timed(() => Engine.mkfs(image, { sizeBytes: a.imageGib * 1024 * MIB, maxFiles: 4 }));
    out.mkfsMs = mkfsMs;
    let [eng, openMs] = await timed(() => Engine.open({ path: image, cachePages: 4096 }));
    out.openEmptyMs = openMs;
    out.sharedBytes = sharedBytes(eng.share());
    const rnd = await inWorker<{ ms: number; error: string | null }>({ role: 'write', desc: eng.share(), name: 'random', blocks, random: true });
    const seq = await inWorker<{ ms: number; error: string | null }>({ role: 'write', desc: eng.share(), name: 'ordered', blocks, random: false });
    out.randomWrite = { seconds: rnd.ms / 1000, writesPerSecond: blocks / (rnd.ms / 1000), error: rnd.error };
    out.orderedWrite = { seconds: seq.ms / 1000, writesPerSecond: blocks / (seq.ms / 1000), error: seq.error };
    await eng.close();
    const r = await checkAndReopen(image, out, { cachePages: 4096 });
    eng = r.eng;
    out.extents = Object.fromEntries(r.files.map((f) => [f.name, f.extents]));
    out.tree = Object.fromEntries(r.files.map((f) => [f.name, { nodes: f.treeNodes, depth: f.treeDepth }]));
    if (rnd.error === null && seq.error === null) {
      const fr = await inWorker<{ iops: number }>({ role: 'read', desc: eng.share(), name: 'random', blocks, seconds: a.readSeconds });
      const or = await inWorker<{ iops: number }>({ role: 'read', desc: eng.share(), name: 'ordered', blocks, seconds: a.readSeconds });
      out.directRandomReadIops = { fragmented: fr.iops, ordered: or.iops, ratio: fr.iops / or.iops };
    }
    await eng.close();
  });
  return out;
}

async function smallFiles(a: Args): Promise<Record<string, unknown>> {
  const image = path.join(a.dir, `dioread-scale-small-${process.pid}.img`);
  const out: Record<string, unknown> = { files: a.smallFiles };
  const sizeBytes = Math.max(256 * MIB, Math.ceil((a.smallFiles * 2 * BLOCK) / MIB) * MIB);
  await onSparseImage(image, sizeBytes, out, async () => {
    // Every file needs an inode (its extents fit the root in the inode: no tree node).
    const [, mkfsMs] = await timed(() => Engine.mkfs(image, { sizeBytes, maxFiles: a.smallFiles }));
    out.mkfsMs = mkfsMs;
    let [eng, openMs] = await timed(() => Engine.open({ path: image }));
    out.openEmptyMs = openMs;
    out.sharedBytes = sharedBytes(eng.share());
    const t = performance.now();
    const data = Buffer.alloc(1000, 0x33);
    for (let i = 0; i < a.smallFiles; i++) {
      const f = await eng.open(`f${i}`, 'w');
      await f.write(data, 0, data.length, 0);
      await f.close();
    }
    out.createPerSecond = a.smallFiles / ((performance.now() - t) / 1000);
    await eng.close();
    eng = (await checkAndReopen(image, out, {})).eng;
    await eng.close();
  });
  return out;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const report = { benchmark: 'dioread scale', config: a, node: process.version, fragmented: await fragmented(a), smallFiles: await smallFiles(a) };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(`bench:scale: ${(err as Error).message}`);
    process.exit(1);
  });
} else if ((workerData as { role: string }).role === 'write') writerMain();
else readerMain();
