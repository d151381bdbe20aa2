// The main thread's side of `dioread mount`: mount the FUSE session, start the serving workers,
// unmount on request, and wait for every worker to finish. libfuse counterpart:
// fuse_session_mount, fuse_session_loop_mt's thread start and join, fuse_session_unmount.
//
// Main thread only. It never waits synchronously: the workers do all the serving; this side
// awaits their messages and exits. An unmount from outside (`dioread umount`, fusermount3 -u)
// ends the workers' loops the same way as unmount() does.
import { execFile, spawnSync } from 'node:child_process';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SharedDescriptor } from '../shm/layout.js';
import type { FuseWorkerData, FuseWorkerMessage } from '../../workers/fuse-worker.js';
import { loadFuseAddon, type FuseAddon } from './addon.js';

const WORKER_URL = new URL('../../workers/fuse-worker.js', import.meta.url);

export interface FuseMountOptions {
  mountpoint: string;
  /** Serving threads, each attached to the engine. */
  threads: number;
  /** What `mount` and /proc/self/mountinfo show as the source: the image path. */
  fsname: string;
  readOnly?: boolean;
  /** Where worker faults are reported. */
  log?: (line: string) => void;
}

/** The addon is missing or cannot work here: the message says what to install. */
export class FuseUnavailableError extends Error {
  override name = 'FuseUnavailableError';
}

/** libfuse's -o syntax: options separated by commas, a backslash escapes. */
function escapeOption(value: string): string {
  return value.replace(/[\\,]/g, (c) => `\\${c}`);
}

export class FuseMount {
  private unmounting = false;
  private destroyed = false;
  /** Resolves when every worker has left its serving loop (after any unmount). */
  readonly done: Promise<void>;

  private constructor(
    private readonly addon: FuseAddon,
    private readonly id: number,
    readonly mountpoint: string,
    workers: Worker[],
    /** Thread slots the workers hold in the engine (lock_stat and trace rows are by slot). */
    readonly slots: number[],
  ) {
    this.done = Promise.all(workers.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())))).then(() => this.destroy());
  }

  /** Mount `o.mountpoint` and start `o.threads` workers serving it; resolves once all serve. */
  static async start(desc: SharedDescriptor, o: FuseMountOptions): Promise<FuseMount> {
    const loaded = loadFuseAddon();
    if (loaded.addon === null) throw new FuseUnavailableError(loaded.problem);
    const addon = loaded.addon;
    const opts = [`fsname=${escapeOption(o.fsname)}`, 'subtype=dioread', 'default_permissions', ...(o.readOnly ? ['ro'] : [])].join(',');
    const id = addon.mount(o.mountpoint, opts);
    const log = o.log ?? ((l: string) => console.error(l));
    const data: Omit<FuseWorkerData, 'desc'> = { sessionId: id };
    const workers: Worker[] = [];
    const serving: Array<Promise<number>> = [];
    for (let i = 0; i < o.threads; i++) {
      const w = new Worker(WORKER_URL, { workerData: { ...data, desc } satisfies FuseWorkerData });
      workers.push(w);
      serving.push(servingSlot(w, i));
      w.on('error', (err) => log(`dioread mount: serving thread ${i} failed: ${err.stack ?? err.message}`));
    }
    const m = new FuseMount(addon, id, o.mountpoint, workers, []);
    try {
      m.slots.push(...(await Promise.all(serving)));
    } catch (err) {
      await m.unmount();
      throw err;
    }
    // A worker that dies leaves fewer readers; if one fails, take the whole mount down cleanly.
    for (const w of workers) w.on('error', () => void m.unmount());
    return m;
  }

  /** Unmount (lazily: open files keep working until closed) and wait for the workers to finish. */
  async unmount(): Promise<void> {
    if (!this.unmounting && !this.destroyed) {
      this.unmounting = true;
      const err = this.addon.detach(this.id);
      if (err === os.constants.errno.EPERM) await runFusermount(['-u', '-z', this.mountpoint]);
    }
    await this.done;
  }

  /**
   * For a process that exits without unmount() (process.exit, an uncaught exception): detach the
   * mount now, synchronously, so that the serving threads, blocked reading /dev/fuse, get ENODEV
   * and let the process end. Nothing is written back (the image is left as after a crash).
   */
  detachSync(): void {
    if (this.unmounting || this.destroyed) return;
    this.unmounting = true;
    if (this.addon.detach(this.id) === os.constants.errno.EPERM) spawnSync('fusermount3', ['-u', '-z', this.mountpoint]);
  }

  private destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.addon.destroy(this.id);
  }
}

function servingSlot(w: Worker, i: number): Promise<number> {
  return new Promise((resolve, reject) => {
    w.on('message', (m: FuseWorkerMessage) => {
      if (m.type === 'serving') resolve(m.slot);
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`serving thread ${i} exited (code ${code}) before serving`)));
  });
}

function runFusermount(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('fusermount3', args, (err, _stdout, stderr) => (err ? reject(new Error(`fusermount3 ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });
}
