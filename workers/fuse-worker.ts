// A FUSE serving thread for `dioread mount`: attaches to the engine, then reads /dev/fuse and
// answers requests itself until the filesystem is unmounted (the addon's serve() loop).
// libfuse counterpart: one worker of fuse_session_loop_mt (fuse_do_work), running in a Node
// worker_thread so that its synchronous engine calls never block the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../src/attach.js';
import { IO_BUFFER_BYTES, OUT_SLOTS, loadFuseAddon } from '../src/fuse/addon.js';
import { FuseOps } from '../src/fuse/ops.js';
import type { SharedDescriptor } from '../src/shm/layout.js';

export interface FuseWorkerData {
  desc: SharedDescriptor;
  sessionId: number;
}

/** Messages to the main thread: serving (the loop is about to start), then done (it ended). */
export type FuseWorkerMessage = { type: 'serving'; slot: number } | { type: 'done'; result: number };

const data = workerData as FuseWorkerData;
const loaded = loadFuseAddon();
if (loaded.addon === null) throw new Error(loaded.problem);
const view = attach(data.desc);
const io = loaded.addon.allocIo(IO_BUFFER_BYTES);
const out = new Float64Array(OUT_SLOTS);
const ops = new FuseOps(view, io, out);
parentPort!.postMessage({ type: 'serving', slot: view.slot } satisfies FuseWorkerMessage);
let result: number;
try {
  result = loaded.addon.serve(data.sessionId, ops, io, out);
} finally {
  ops.forgetHandles();
  view.detach();
}
parentPort!.postMessage({ type: 'done', result } satisfies FuseWorkerMessage);
