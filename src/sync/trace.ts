// Trace events: spans for lock waits and long holds, device I/O, conversions; counters for the
// completed lists. Each thread writes only its own slot of the trace buffer.
// kernel counterpart: the lock:contention_begin/end and ext4 tracepoints that `perf lock` and
// `perf trace` read; here they become Chrome trace events (src/profile/chrome-trace.ts).

import { H_STATS_LEVEL, STATS_TRACE, TE_A, TE_B, TE_C, TE_DUR, TE_KIND, TE_TS, TR_COUNT, traceEventIndex, type Layout } from '../shm/layout.js';

export interface TraceContext {
  readonly i32: Int32Array;
  readonly layout: Layout;
  /** The trace buffer, or null when the engine was opened without tracing. */
  readonly trace: Float64Array | null;
  /** Start of this thread slot's part of the trace buffer. */
  readonly traceIndex: number;
  /** This thread's slot (its events sit in the slot's part of the trace buffer). */
  readonly slot: number;
}

/** Clock for lock and I/O timing: ns since this thread's time origin. */
export const nowNs = (): number => performance.now() * 1e6;

/** True when events should be recorded now (level 'trace' and a buffer exists). */
export function tracing(c: TraceContext): boolean {
  return c.trace !== null && Atomics.load(c.i32, H_STATS_LEVEL) === STATS_TRACE;
}

/**
 * Record one event. `startNs` comes from nowNs() on this thread; it is stored as wall-clock ms
 * (timeOrigin differs per worker thread) so that events of all threads share one time axis.
 */
export function traceEvent(c: TraceContext, kind: number, startNs: number, durNs: number, a: number, b: number, cc: number): void {
  const tr = c.trace;
  if (tr === null) return;
  const n = tr[c.traceIndex + TR_COUNT];
  tr[c.traceIndex + TR_COUNT] = n + 1;
  if (n >= c.layout.traceCapacity) return; // full: dropped, and counted by TR_COUNT
  const e = traceEventIndex(c.layout, c.slot, n);
  tr[e + TE_TS] = performance.timeOrigin + startNs / 1e6;
  tr[e + TE_DUR] = durNs / 1e6;
  tr[e + TE_KIND] = kind;
  tr[e + TE_A] = a;
  tr[e + TE_B] = b;
  tr[e + TE_C] = cc;
}
