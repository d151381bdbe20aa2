// Memory beside speed: the shared memory of a configuration and of one reader thread, from the
// engine's layout (src/shm/layout.ts computes every size; this only adds them up), and the
// process's resident set. No fio counterpart (fio reports no memory; /usr/bin/time -v would).
import type { SharedDescriptor } from '../src/index.js';
import { BLOCK_SIZE, BOUNCE_BLOCKS, LOCK_CLASSES, SLOT_WORDS, STAT_FIELDS, TRACE_FIELDS, TR_HEADER } from '../src/shm/layout.js';

/** Every SharedArrayBuffer of an engine: metadata words, frames (cache and bounce buffers), lock statistics, trace, an in-memory device. */
export function engineSharedBytes(desc: SharedDescriptor): number {
  return desc.meta.byteLength + desc.frames.byteLength + desc.stats.byteLength + (desc.trace?.byteLength ?? 0) + (desc.memoryDevice?.byteLength ?? 0);
}

/** The shared bytes that belong to one thread slot: its bounce buffer, its lock-stat rows, its trace region, its slot words. */
export function slotSharedBytes(desc: SharedDescriptor): number {
  const l = desc.layout;
  const trace = l.traceCapacity > 0 ? (TR_HEADER + l.traceCapacity * TRACE_FIELDS) * Float64Array.BYTES_PER_ELEMENT : 0;
  return BOUNCE_BLOCKS * BLOCK_SIZE + LOCK_CLASSES.length * STAT_FIELDS * Float64Array.BYTES_PER_ELEMENT + trace + SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT;
}

/** Resident set of this process, bytes (every thread's memory and the shared pages touched). */
export function rssBytes(): number {
  return process.memoryUsage.rss();
}

/** The mean of the readers' heap sizes (0 when none reported one). */
export function meanHeapBytes(results: ReadonlyArray<{ heapBytes: number }>): number {
  return results.length === 0 ? 0 : Math.round(results.reduce((s, r) => s + r.heapBytes, 0) / results.length);
}
