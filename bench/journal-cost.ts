// node dist/bench/journal-cost.js [image-dir]: what the metadata journal costs writers — buffered
// write throughput (allocating and overwriting), fsync latency after a 4 KiB overwrite and after a
// 4 KiB append — on a file image, from one worker thread through attach(). JSON on stdout.
// kernel counterpart: the fsync-latency and write-throughput comparisons of ext4 with and without
// a journal (fio's fsync=1 jobs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Engine, attach } from '../src/index.js';

const FILE_MIB = 64;
const SYNCS = 300;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function workerMain(): void {
  const v = attach(workerData.desc);
  const f = v.openSync('w', 'w+');
  const buf = Buffer.alloc(4096, 7);
  const blocks = (FILE_MIB << 20) / 4096;
  let t = performance.now();
  for (let i = 0; i < blocks; i++) f.writeSync(buf, 0, 4096, i * 4096);
  f.fsyncSync();
  const allocMBs = FILE_MIB / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < blocks; i++) f.writeSync(buf, 0, 4096, i * 4096);
  f.fsyncSync();
  const overwriteMBs = FILE_MIB / ((performance.now() - t) / 1000);
  const over: number[] = [];
  for (let i = 0; i < SYNCS; i++) {
    f.writeSync(buf, 0, 4096, ((i * 7919) % blocks) * 4096);
    const s = performance.now();
    f.fsyncSync();
    over.push((performance.now() - s) * 1000);
  }
  const app: number[] = [];
  for (let i = 0; i < SYNCS; i++) {
    f.writeSync(buf, 0, 4096, (blocks + i) * 4096);
    const s = performance.now();
    f.fsyncSync();
    app.push((performance.now() - s) * 1000);
  }
  f.closeSync();
  v.detach();
  parentPort!.postMessage({
    bufferedWriteAllocatingMBs: Math.round(allocMBs),
    bufferedWriteOverwriteMBs: Math.round(overwriteMBs),
    fsyncAfterOverwriteUs: { p50: Math.round(pct(over, 50)), p99: Math.round(pct(over, 99)) },
    fsyncAfterAppendUs: { p50: Math.round(pct(app, 50)), p99: Math.round(pct(app, 99)) },
  });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(process.argv[2] ?? os.tmpdir(), 'dioread-journal-cost-'));
  try {
    const eng = await Engine.open({ path: path.join(dir, 'img'), create: true, sizeBytes: 256 << 20, cachePages: 4096 });
    const w = new Worker(new URL(import.meta.url), { workerData: { desc: eng.share() } });
    const r = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await eng.close();
    console.log(JSON.stringify({ bench: 'journal-cost', fileMiB: FILE_MIB, syncs: SYNCS, deviceDirect: eng.deviceDirect, ...(r as object) }, null, 2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) void main();
else workerMain();
