// Worker for lock-stat-profile.test.ts: a fixed, single-thread sequence of calls through attach().
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';

const v = attach(workerData.desc);
const fh = v.openSync('x', 'r+');
const buf = Buffer.alloc(4096, 7);
for (let i = 0; i < 100; i++) fh.readSync(buf, { position: 0 }); // cache hits
for (let i = 0; i < 10; i++) fh.writeSync(buf, { position: 0 }); // overwrites of a cached, written block
fh.fsyncSync();
fh.closeSync();
v.detach();
parentPort!.postMessage('done');
