// Embedding dioread: format an image, open it, write and read a file the node:fs/promises way,
// stream it, share the engine with a worker thread (which reads synchronously, the node:fs *Sync
// way), rename and list, handle an error by its code, and close. Run it: `node dist/examples/embed.js` in the
// repository, or compile it in an app that installed the package (docs/API.md).
// The test suite type-checks this file with `tsc --strict --noEmit` and runs it (examples-run.test.ts,
// packaging.test.ts), so it stays true to the API.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DioreadError, Engine, attach, type SharedDescriptor } from 'dioread';

interface Job {
  desc: SharedDescriptor;
  name: string;
}

/** The worker thread: attach to the engine's shared memory and read the file synchronously. */
function readInWorker({ desc, name }: Job): void {
  const view = attach(desc);
  try {
    const fh = view.openSync(name, 'r');
    const buf = Buffer.alloc(fh.fstatSync().size);
    const bytesRead = fh.readSync(buf, 0, buf.length, 0);
    fh.closeSync();
    parentPort!.postMessage(buf.subarray(0, bytesRead).toString('utf8'));
  } finally {
    view.detach();
  }
}

/** Start a worker thread on this very file and wait for the one message it sends. */
function askWorker(eng: Engine, job: Job): Promise<string> {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  eng.watchWorker(worker); // if the worker is killed mid-call, the engine frees what it held
  return new Promise<string>((resolve, reject) => {
    worker.once('message', (text: string) => resolve(text));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited with code ${code}`))));
  });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dioread-example-'));
  const image = path.join(dir, 'app.img');
  try {
    await Engine.mkfs(image, { sizeBytes: 16 << 20 }); // a 16 MiB image file
    const eng = await Engine.open({ path: image });
    try {
      // Write and read, call for call as node:fs/promises' FileHandle.
      const f = await eng.open('greeting.txt', 'w+');
      const { bytesWritten } = await f.write('hello, '); // at the file position, which moves on
      await f.appendFile('dioread\n'); // a FileHandle's appendFile also writes at the file position
      await f.sync(); // on disk, converted and committed
      const head = Buffer.alloc(5);
      const { bytesRead } = await f.read(head, 0, head.length, 0);
      console.log(`wrote ${bytesWritten} bytes, read back ${JSON.stringify(head.subarray(0, bytesRead).toString())}`);

      // A Node stream over the same handle (autoClose: false keeps the handle open).
      const chunks: Buffer[] = [];
      for await (const chunk of f.createReadStream({ start: 0, autoClose: false })) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      console.log(`streamed ${JSON.stringify(text)}, size ${(await f.stat()).size}`);
      await f.close();

      // Another thread reads the same file through the shared memory, without a round trip here.
      const fromWorker = await askWorker(eng, { desc: eng.share(), name: 'greeting.txt' });
      if (fromWorker !== text) throw new Error(`the worker read ${JSON.stringify(fromWorker)}, expected ${JSON.stringify(text)}`);
      console.log(`a worker thread read ${JSON.stringify(fromWorker)}`);

      // The namespace, as node:fs/promises has it.
      await eng.rename('greeting.txt', 'hello.txt'); // atomic, replaces the target
      const names = await eng.readdir('/');
      const { size } = await eng.stat('hello.txt');
      console.log(`files ${JSON.stringify(names)}, hello.txt has ${size} bytes`);

      // Errors are DioreadErrors with errno-style codes.
      try {
        await eng.open('missing.txt', 'r');
        throw new Error('opening a missing file should fail');
      } catch (err) {
        if (!(err instanceof DioreadError) || err.code !== 'ENOENT') throw err;
        console.log(`a missing file: ${err.code}`);
      }
    } finally {
      await eng.close(); // writes back, drains conversions, commits, marks the image clean
    }
    console.log('closed cleanly');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
else readInWorker(workerData as Job);
