// What else the machine is doing: the share of CPU time that other processes use before and during
// each cell (from /proc/stat and /proc/self/stat, Linux only). On a 2-core machine one busy
// neighbour halves a figure; the report flags the cells it touched. No fio counterpart.
import fs from 'node:fs';

/** CPU ticks (USER_HZ): all CPUs busy and total, and this process with its reaped children (fio). */
export interface CpuSnapshot {
  machineBusy: number;
  machineTotal: number;
  self: number;
}

export function cpuSnapshot(): CpuSnapshot | null {
  try {
    const stat = fs.readFileSync('/proc/stat', 'utf8');
    const line = stat.split('\n').find((l) => l.startsWith('cpu '));
    if (!line) return null;
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const total = f.reduce((s, x) => s + x, 0);
    const busy = total - f[3] - f[4];
    const mine = fs.readFileSync('/proc/self/stat', 'utf8');
    const t = mine.slice(mine.lastIndexOf(')') + 2).split(' ');
    // fields 14..17 of proc(5): utime stime cutime cstime; t[0] is field 3
    const self = Number(t[11]) + Number(t[12]) + Number(t[13]) + Number(t[14]);
    return { machineBusy: busy, machineTotal: total, self };
  } catch {
    return null;
  }
}

/** Fraction (0..1) of all CPUs that other processes kept busy between two snapshots, or null. */
export function otherBusy(a: CpuSnapshot | null, b: CpuSnapshot | null): number | null {
  if (!a || !b || b.machineTotal <= a.machineTotal) return null;
  const other = b.machineBusy - a.machineBusy - (b.self - a.self);
  return Math.round((Math.max(0, other) / (b.machineTotal - a.machineTotal)) * 1000) / 1000;
}

/** Other processes' share of the CPUs while this process waits `seconds` on a timer. */
export async function otherCpuBusy(seconds: number): Promise<number | null> {
  const a = cpuSnapshot();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  return otherBusy(a, cpuSnapshot());
}
