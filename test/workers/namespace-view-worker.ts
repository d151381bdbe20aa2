// Worker for namespace-follows-posix.test.ts: the namespace calls of an attached view (unlinkSync,
// renameSync, readdirSync, statSync, existsSync, statfsSync), run in order; reports what each saw.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';

const view = attach((workerData as { desc: never }).desc);
const out: Record<string, unknown> = {};
out.firstList = view.readdirSync();
const f = view.openSync('from-worker', 'w+');
f.writeSync(Buffer.from('worker bytes'), 0, 12, 0);
f.closeSync();
out.afterCreate = view.readdirSync().sort();
view.renameSync('from-worker', 'renamed');
const r = view.openSync('renamed', 'r');
const buf = Buffer.alloc(12);
r.readSync(buf, 0, 12, 0);
r.closeSync();
out.renamed = buf.toString();
out.afterRename = view.readdirSync().sort();
const held = view.openSync('from-main', 'r');
view.unlinkSync('from-main');
out.nlinkAfterUnlink = held.fstatSync().nlink;
const main = Buffer.alloc(10);
held.readSync(main, 0, 10, 0);
out.readAfterUnlink = main.toString();
out.existsAfterUnlink = view.existsSync('from-main');
held.closeSync();
try {
  view.statSync('from-main');
  out.statMissing = 'ok';
} catch (err) {
  out.statMissing = `${(err as Error).name}:${(err as { code?: string }).code}`;
}
out.rootIsDir = view.statSync('/').isDirectory();
out.mkdir = view.mkdirSync('d1/d2', { recursive: true });
const nested = view.openSync('d1/d2/f', 'w');
nested.closeSync();
out.nested = view.readdirSync('d1/d2');
view.unlinkSync('d1/d2/f');
view.rmdirSync('d1/d2');
out.afterRmdir = view.readdirSync('d1');
view.utimesSync('d1', 7, 8);
view.chmodSync('renamed', 0o604);
const t = view.openSync('renamed', 'r');
t.futimesSync(9, 10);
out.times = [view.statSync('d1').mtimeMs, t.fstatSync().atimeMs, t.fstatSync().mtimeMs, t.fstatSync().mode];
t.fchmodSync(0o644);
t.closeSync();
out.statfs = view.statfsSync();
parentPort!.postMessage(out);
