// Progress on a terminal: one cli-progress bar over the cells of the run, on stderr. None with
// --quiet or when stderr is not a TTY (CI logs, pipes); notes then go to stderr as plain lines.
// fio counterpart: fio's status line (--eta=auto).
import cliProgress from 'cli-progress';

export interface BenchProgress {
  start(totalCells: number): void;
  /** A cell begins (its label shows on the bar). */
  cell(label: string): void;
  /** A cell ended. */
  done(): void;
  /** Something the user should know now (a skipped peer, a warning). */
  note(message: string): void;
  stop(): void;
}

export function makeProgress(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): BenchProgress {
  if (quiet) return { start() {}, cell() {}, done() {}, note() {}, stop() {} };
  if (!stream.isTTY) {
    return { start() {}, cell() {}, done() {}, note: (m) => void stream.write(`${m}\n`), stop() {} };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: ' {bar} {value}/{total} cells | ETA {eta_formatted} | {cell}',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | null = null;
  return {
    start(total) {
      bar = multi.create(total, 0, { cell: 'setting up' });
    },
    cell(label) {
      bar?.update({ cell: label });
    },
    done() {
      bar?.increment();
    },
    note(message) {
      multi.log(`${message}\n`);
    },
    stop() {
      multi.stop();
    },
  };
}
