// One cell of the benchmark on the main thread: start its reader (and writer) threads on the pool,
// wait until all of them run, ramp, measure for the set time, stop, and gather what they report.
// fio counterpart: fio's backend for one group of jobs (start barrier, ramp_time, runtime).
import type { Piscina } from 'piscina';
import { cpuSnapshot, otherBusy } from './host.js';
import { CTL_PHASE, PHASE_MEASURE, PHASE_STOP, newControl, setPhase, waitReady } from './control.js';
import type { ReadTask, ThreadResult, WriteTask } from './tasks.js';

type Without<T> = Omit<T, 'control' | 'threadIndex'>;

export interface CellPlan {
  readers: number;
  read: Without<ReadTask>;
  writers: number;
  write?: Without<WriteTask>;
  seconds: number;
  rampSeconds: number;
  /** Called just before measuring starts and just after it stops (lock statistics snapshots). */
  atStart?: () => void;
  atStop?: () => void;
}

export interface CellOutcome {
  reads: ThreadResult[];
  writes: ThreadResult[];
  /** The measured window as the main thread saw it (phase MEASURE set → phase STOP set). */
  seconds: number;
  /** Process CPU time in the window: every thread of the process (readers, writer, engine). */
  cpuUserNs: number;
  cpuSystemNs: number;
  /** Share of all CPUs other processes used in the window (bench/host.ts), null if unknown. */
  otherCpuBusy: number | null;
  /** Resident set of the process at the end of the window (every thread still running). */
  rssBytes: number;
}

export async function runCell(pool: Piscina, plan: CellPlan): Promise<CellOutcome> {
  const ctl = newControl();
  let failure: unknown = null;
  const start = (task: ReadTask | WriteTask): Promise<ThreadResult> => {
    const p = pool.run(task) as Promise<ThreadResult>;
    p.catch((err: unknown) => {
      failure ??= err;
      setPhase(ctl, PHASE_STOP); // the others leave their loops: nobody waits on a dead thread
    });
    return p;
  };
  const reads: Array<Promise<ThreadResult>> = [];
  const writes: Array<Promise<ThreadResult>> = [];
  for (let i = 0; i < plan.readers; i++) reads.push(start({ ...plan.read, control: ctl.buffer as SharedArrayBuffer, threadIndex: i } as ReadTask));
  for (let i = 0; i < plan.writers; i++) {
    if (!plan.write) throw new Error('bench: writers without a write task');
    writes.push(start({ ...plan.write, control: ctl.buffer as SharedArrayBuffer, threadIndex: i } as WriteTask));
  }
  const all = Promise.allSettled([...reads, ...writes]);
  try {
    await waitReady(ctl, plan.readers + plan.writers, () => failure);
    if (plan.rampSeconds > 0) await delay(plan.rampSeconds);
    if (failure) throw failure;
    plan.atStart?.();
    const cpu0 = process.cpuUsage();
    const host0 = cpuSnapshot();
    const t0 = performance.now();
    setPhase(ctl, PHASE_MEASURE);
    await delay(plan.seconds);
    const rssBytes = process.memoryUsage.rss(); // before STOP: every thread of the cell is alive
    setPhase(ctl, PHASE_STOP);
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const host1 = cpuSnapshot();
    plan.atStop?.();
    const settled = await all;
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    return {
      reads: await Promise.all(reads),
      writes: await Promise.all(writes),
      seconds: (t1 - t0) / 1000,
      cpuUserNs: cpu.user * 1000,
      cpuSystemNs: cpu.system * 1000,
      otherCpuBusy: otherBusy(host0, host1),
      rssBytes,
    };
  } finally {
    if (Atomics.load(ctl, CTL_PHASE) !== PHASE_STOP) setPhase(ctl, PHASE_STOP);
    await all;
  }
}

/** A warm-up slice (its rate goes to the JSON, so the warm-up shows whether it was long enough). */
const WARMUP_SLICE_SECONDS = 0.25;

/**
 * Run `plan` unmeasured for `seconds`, in slices; returns each slice's read IOPS. A fixed time, not
 * "until the rate settles": a cold read path's rate is flat until the optimized code lands, then
 * steps up (16 isolates on 2 cores: 37k, 37k, ... then 55k+), so a settled rate proves nothing.
 */
export async function warmUp(pool: Piscina, plan: Omit<CellPlan, 'seconds' | 'rampSeconds'>, seconds: number): Promise<number[]> {
  const rates: number[] = [];
  for (let left = seconds; left > 1e-9; left -= WARMUP_SLICE_SECONDS) {
    const out = await runCell(pool, { ...plan, seconds: Math.min(WARMUP_SLICE_SECONDS, left), rampSeconds: 0 });
    rates.push(out.reads.reduce((s, r) => s + r.ios, 0) / out.seconds);
  }
  return rates;
}

/** The timed phases of a cell (ramp, measure): a timer, the main thread has nothing else to do. */
function delay(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}
