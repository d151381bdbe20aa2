// Build a Chrome trace-event file (what Perfetto and chrome://tracing open) from the trace buffer.
// kernel counterpart: `perf lock contention` / `perf script` output; the format is Chrome's
// Trace Event Format (ph 'X' complete events, 'C' counters, 'M' thread names), times in µs.

import {
  LOCK_CLASSES,
  OPS,
  SLOT_FREE,
  SLOT_ROLE_CONVERSION,
  SLOT_ROLE_MAIN,
  SLOT_ROLE_POOL,
  S_ROLE,
  S_STATE,
  S_THREAD_ID,
  TE_A,
  TE_B,
  TE_C,
  TE_DUR,
  TE_KIND,
  TE_TS,
  TK_BATCH,
  TK_CONVERT,
  TK_FLUSH,
  TK_IO_READ,
  TK_IO_WRITE,
  TK_LIST_LEN,
  TK_LOCK_HOLD,
  TK_LOCK_WAIT,
  TR_COUNT,
  type Layout,
  slotWord,
  traceEventIndex,
  traceIndex,
} from '../shm/layout.js';

export interface ChromeTraceEvent {
  name: string;
  cat?: string;
  ph: 'X' | 'C' | 'M' | 'i';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns' | 'ms';
  otherData: { droppedEvents: number; threads: number };
}

const ROLE_NAMES: Record<number, string> = {
  [SLOT_ROLE_MAIN]: 'main',
  [SLOT_ROLE_POOL]: 'pool',
  [SLOT_ROLE_CONVERSION]: 'dio_unwritten_wq',
};

function opName(op: number): string {
  return OPS[op] ?? 'other';
}

export function buildChromeTrace(tr: Float64Array, i32: Int32Array, l: Layout): ChromeTrace {
  const events: ChromeTraceEvent[] = [];
  let dropped = 0;
  let threads = 0;
  let t0 = Infinity;
  for (let slot = 0; slot < l.maxThreads; slot++) {
    const n = tr[traceIndex(l, slot) + TR_COUNT];
    for (let k = 0; k < Math.min(n, l.traceCapacity); k++) t0 = Math.min(t0, tr[traceEventIndex(l, slot, k) + TE_TS]);
  }
  if (!Number.isFinite(t0)) t0 = 0;
  const us = (ms: number) => Math.round((ms - t0) * 1000 * 1000) / 1000; // µs with ns precision
  for (let slot = 0; slot < l.maxThreads; slot++) {
    const n = tr[traceIndex(l, slot) + TR_COUNT];
    if (n === 0 && Atomics.load(i32, slotWord(l, slot, S_STATE)) === SLOT_FREE) continue;
    threads++;
    const role = ROLE_NAMES[i32[slotWord(l, slot, S_ROLE)]] ?? 'worker';
    events.push({ name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: slot, args: { name: `${role} (slot ${slot}, threadId ${i32[slotWord(l, slot, S_THREAD_ID)]})` } });
    const kept = Math.min(n, l.traceCapacity);
    dropped += n - kept;
    for (let k = 0; k < kept; k++) {
      const e = traceEventIndex(l, slot, k);
      const kind = tr[e + TE_KIND];
      const a = tr[e + TE_A];
      const b = tr[e + TE_B];
      const c = tr[e + TE_C];
      const ts = us(tr[e + TE_TS]);
      const dur = Math.round(tr[e + TE_DUR] * 1e6) / 1000;
      switch (kind) {
        case TK_LOCK_WAIT:
          events.push({ name: `wait ${LOCK_CLASSES[a]}`, cat: 'lock', ph: 'X', ts, dur, pid: 1, tid: slot, args: { op: opName(b), holderOp: opName(c) } });
          break;
        case TK_LOCK_HOLD:
          events.push({ name: `hold ${LOCK_CLASSES[a]}`, cat: 'lock', ph: 'X', ts, dur, pid: 1, tid: slot, args: { op: opName(b) } });
          break;
        case TK_IO_READ:
          events.push({ name: 'device read', cat: 'io', ph: 'X', ts, dur, pid: 1, tid: slot, args: { pblk: a, blocks: b } });
          break;
        case TK_IO_WRITE:
          events.push({ name: 'device write', cat: 'io', ph: 'X', ts, dur, pid: 1, tid: slot, args: { pblk: a, blocks: b } });
          break;
        case TK_FLUSH:
          events.push({ name: 'fdatasync', cat: 'io', ph: 'X', ts, dur, pid: 1, tid: slot });
          break;
        case TK_CONVERT:
          events.push({ name: 'convert unwritten', cat: 'conversion', ph: 'X', ts, dur, pid: 1, tid: slot, args: { ino: a, lblk: b, blocks: c } });
          break;
        case TK_BATCH:
          events.push({ name: `${opName(a)} x${b}`, cat: 'workload', ph: 'X', ts, dur, pid: 1, tid: slot, args: { op: opName(a), operations: b } });
          break;
        case TK_LIST_LEN:
          events.push({ name: `i_completed_io_list ino ${a}`, cat: 'conversion', ph: 'C', ts, pid: 1, tid: slot, args: { length: b } });
          break;
      }
    }
  }
  events.sort((x, y) => x.ts - y.ts);
  return { traceEvents: events, displayTimeUnit: 'ns', otherData: { droppedEvents: dropped, threads } };
}
