// Reader: dioread itself, on a thread attached to the shared engine (attach + openSync + readSync).
// fio counterpart: ioengine=psync on the file, direct=0 (cached) or direct=1 (direct).
import { attach, type AttachedEngine, type SyncFileHandle } from '../../src/index.js';
import { OP_READ, TK_BATCH } from '../../src/shm/layout.js';
import { nowNs, traceEvent, tracing } from '../../src/sync/trace.js';
import type { BatchTracer, Reader } from '../read-loop.js';
import type { ReadTask } from '../tasks.js';

export class DioreadReader implements Reader {
  private readonly view: AttachedEngine;
  private readonly fh: SyncFileHandle;
  private readonly buf: Buffer;

  constructor(t: ReadTask) {
    if (!t.desc || !t.fileName) throw new Error('bench: a dioread reader needs desc and fileName');
    this.view = attach(t.desc);
    try {
      this.fh = this.view.openSync(t.fileName, { direct: t.direct === true });
    } catch (err) {
      this.view.detach();
      throw err;
    }
    this.buf = Buffer.alloc(t.blockSize);
  }

  get slot(): number {
    return this.view.slot;
  }

  batchTracer(): BatchTracer | null {
    return dioreadBatchTracer(this.view, OP_READ);
  }

  read(position: number): number {
    return this.fh.readSync(this.buf, { position: position });
  }

  close(): void {
    this.fh.closeSync();
    this.view.detach();
  }
}

/** When the engine traces, a recorder of a workload thread's batches (TK_BATCH events of op `op`, on the thread's slot). */
export function dioreadBatchTracer(view: AttachedEngine, op: number): BatchTracer | null {
  const vol = view.volume;
  if (!tracing(vol)) return null;
  return (startNs, ios) => traceEvent(vol, TK_BATCH, startNs, nowNs() - startNs, op, ios, 0);
}
