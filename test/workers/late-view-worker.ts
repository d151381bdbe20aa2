// Worker for close-stops-views.test.ts: attaches and opens a file, reports ready, then waits for the
// go signal (after the engine closed) and tries every kind of call; reports what each threw.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../src/index.js';

const { desc, go } = workerData as { desc: never; go: SharedArrayBuffer };
const flag = new Int32Array(go);
const view = attach(desc);
const fh = view.openSync('shared', 'r+');
fh.readSync(Buffer.alloc(10), 0, 10, 0); // works while the engine is open
parentPort!.postMessage('ready');
Atomics.wait(flag, 0, 0); // the engine closes meanwhile
const results: Record<string, string> = {};
const attempt = (what: string, run: () => unknown) => {
  try {
    run();
    results[what] = 'ok';
  } catch (err) {
    results[what] = `${(err as Error).name}:${(err as { code?: string }).code}`;
  }
};
attempt('readSync', () => fh.readSync(Buffer.alloc(10), 0, 10, 0));
attempt('writeSync', () => fh.writeSync(Buffer.from('written after close'), 0, 19, 0));
attempt('fsyncSync', () => fh.fsyncSync());
attempt('ftruncateSync', () => fh.ftruncateSync(1));
attempt('openSync create', () => view.openSync('created-after-close', 'w'));
attempt('attach again', () => attach(desc));
parentPort!.postMessage(results);
