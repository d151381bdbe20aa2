// Every repeat of every cell, gathered over the rounds of a run (each round runs every cell once,
// so the repeats of one cell are interleaved with the others'), then turned into the report's jobs
// and baselines, whose figures are their median repeat's. fio counterpart: none (fio runs a job
// once; `--repeat` is what a careful fio user scripts around it).
import { medianOf, medianRepeat, type Baseline, type CellStats, type Job, type LockStatsCostRow, type PeerStats } from './report.js';

/** What names an engine cell. */
export type JobHead = Pick<Job, 'jobname' | 'workload' | 'mode' | 'threads' | 'writers' | 'iodepth'>;
/** What names a peer cell. */
export type PeerHead = Pick<Baseline, 'name' | 'workload' | 'threads' | 'iodepth'>;

interface CostCell {
  mode: string;
  threads: number;
  level: LockStatsCostRow['level'];
  iops: number[];
  busy: Array<number | null>;
}

export class Repeats {
  private readonly jobCells = new Map<string, { head: JobHead; repeats: CellStats[] }>();
  private readonly peerCells = new Map<string, { head: PeerHead; repeats: PeerStats[] }>();
  private readonly costCells = new Map<string, CostCell>();

  addJob(head: JobHead, stats: CellStats): void {
    const cell = this.jobCells.get(head.jobname) ?? { head, repeats: [] };
    cell.repeats.push(stats);
    this.jobCells.set(head.jobname, cell);
  }

  addPeer(head: PeerHead, stats: PeerStats): void {
    const key = `${head.name}|${head.workload}|${head.threads}|${head.iodepth ?? ''}`;
    const cell = this.peerCells.get(key) ?? { head, repeats: [] };
    cell.repeats.push(stats);
    this.peerCells.set(key, cell);
  }

  addCost(mode: string, threads: number, level: LockStatsCostRow['level'], iops: number, busy: number | null): void {
    const key = `${mode}|${threads}|${level}`;
    const cell = this.costCells.get(key) ?? { mode, threads, level, iops: [], busy: [] };
    cell.iops.push(iops);
    cell.busy.push(busy);
    this.costCells.set(key, cell);
  }

  /** The engine cells in the order they first ran, each with its median repeat's figures and every repeat. */
  jobs(): Job[] {
    return [...this.jobCells.values()].map(({ head, repeats }) => {
      const { median, spread } = medianRepeat(repeats);
      const { jobname, workload, mode, threads, writers } = head;
      // Key order: fio's job fields first (the JSON's shape), then what dioread adds.
      return { jobname, workload, mode, threads, writers, ...median, ...(head.iodepth !== undefined ? { iodepth: head.iodepth } : {}), read_iops_spread: spread, repeats };
    });
  }

  baselines(): Baseline[] {
    return [...this.peerCells.values()].map(({ head, repeats }) => {
      const { median, spread } = medianRepeat(repeats);
      const { name, workload, threads } = head;
      return { name, workload, threads, ...median, ...(head.iodepth !== undefined ? { iodepth: head.iodepth } : {}), read_iops_spread: spread, repeats };
    });
  }

  /** The lock-statistics cost rows: median IOPS per level, cost against the median at 'off'. */
  costRows(): LockStatsCostRow[] {
    const cells = [...this.costCells.values()];
    return cells.map((c) => {
      const off = cells.find((x) => x.mode === c.mode && x.threads === c.threads && x.level === 'off');
      const iops = medianOf(c.iops);
      const offIops = off ? medianOf(off.iops) : 0;
      const busy = c.busy.filter((b): b is number => b !== null);
      return {
        mode: c.mode,
        threads: c.threads,
        level: c.level,
        read_iops: iops,
        cost_vs_off: offIops > 0 ? 1 - iops / offIops : 0,
        other_cpu_busy: busy.length > 0 ? Math.max(...busy) : null,
        read_iops_repeats: c.iops,
      };
    });
  }
}
