// Number formatting for the text output: IOPS with k/M, latencies in ns/µs/ms, aligned columns.
// fio counterpart: fio's human-readable output (num2str).

export function fmtIops(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(2)}k`;
  return x.toFixed(0);
}

export function fmtNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined) return '-';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)}ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)}µs`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)}µs`;
  return `${Math.round(ns)}ns`;
}

export function fmtRatio(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(2)}x`;
}

/** Columns padded to their widest cell; the first column left-aligned, the others right-aligned. */
export function alignColumns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
}

/** Bytes with binary units (KiB, MiB, GiB). */
export function fmtBytes(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (x >= 1 << 30) return `${(x / 2 ** 30).toFixed(2)} GiB`;
  if (x >= 1 << 20) return `${(x / 2 ** 20).toFixed(1)} MiB`;
  if (x >= 1 << 10) return `${(x / 2 ** 10).toFixed(1)} KiB`;
  return `${Math.round(x)} B`;
}
