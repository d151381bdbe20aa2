// The control block shared by the main thread and the threads of one cell: a start barrier and the
// phase word (ramp, measure, stop). Workers poll the phase with one Atomics.load per batch of reads.
// fio counterpart: the job start barrier, ramp_time and runtime of a time_based job.

export const CTL_READY = 0; // threads that finished their setup and run their loop
export const CTL_PHASE = 1; // PHASE_*, written by the main thread only
export const CTL_WORDS = 2;

export const PHASE_RAMP = 0; // running, not counted (JIT warm-up, caches, lock handoffs settle)
export const PHASE_MEASURE = 1; // counted and timed
export const PHASE_STOP = 2; // leave the loop and report

export function newControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CTL_WORDS * Int32Array.BYTES_PER_ELEMENT));
}

/** Worker side: this thread is set up and enters its loop. */
export function signalReady(ctl: Int32Array): void {
  Atomics.add(ctl, CTL_READY, 1);
  Atomics.notify(ctl, CTL_READY);
}

/** Main thread: set the phase the loops see at their next batch. */
export function setPhase(ctl: Int32Array, phase: number): void {
  Atomics.store(ctl, CTL_PHASE, phase);
}

/**
 * Main thread: resolve when `threads` workers signalled ready. Never blocks the event loop
 * (Atomics.waitAsync). `failed()` is asked at each wake-up (at least every 250 ms) so that a thread
 * that threw during its setup ends the wait with its error instead of hanging the run.
 */
export async function waitReady(ctl: Int32Array, threads: number, failed: () => unknown, timeoutSeconds = 120): Promise<void> {
  const deadline = performance.now() + timeoutSeconds * 1000;
  for (;;) {
    const ready = Atomics.load(ctl, CTL_READY);
    if (ready >= threads) return;
    const err = failed();
    if (err) throw err;
    if (performance.now() > deadline) throw new Error(`bench: only ${ready} of ${threads} threads started within ${timeoutSeconds} s`);
    const w = Atomics.waitAsync(ctl, CTL_READY, ready, 250);
    if (w.async) await w.value;
  }
}
