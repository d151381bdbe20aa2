// Completion latency: one hdr-histogram per thread (values in ns), merged on the main thread and
// summarised with fio's clat_ns keys. fio counterpart: the clat_ns block of fio's JSON output
// (min, max, mean, stddev, N, percentile {"50.000000": ...}).
import * as hdr from 'hdr-histogram-js';

/** The percentiles fio prints with --percentile_list=50:90:99:99.9, keyed as fio keys them. */
export const PERCENTILES = [50, 90, 99, 99.9] as const;
export const FIO_PERCENTILE_LIST = PERCENTILES.join(':');

export function percentileKey(p: number): string {
  return p.toFixed(6);
}

export interface ClatNs {
  min: number;
  max: number;
  mean: number;
  stddev: number;
  /** Samples in the histogram (fio: N). With sampling, fewer than the I/Os: see `sampled_every`. */
  N: number;
  percentile: Record<string, number>;
}

export function newLatencyHistogram(): hdr.Histogram {
  // 3 significant digits: 0.1% resolution at any magnitude; auto-resizing up to seconds.
  return hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

export function encodeHistogram(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Merge the threads' histograms (compressed base64 strings) into one. */
export function mergeHistograms(encoded: readonly string[]): hdr.Histogram {
  const total = newLatencyHistogram();
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 32, false);
    total.add(h);
    h.destroy();
  }
  return total;
}

/** fio's clat_ns object from a histogram of nanosecond values. */
export function clatNs(h: hdr.Histogram): ClatNs {
  const n = h.totalCount;
  const percentile: Record<string, number> = {};
  for (const p of PERCENTILES) percentile[percentileKey(p)] = n > 0 ? h.getValueAtPercentile(p) : 0;
  return {
    min: n > 0 ? h.minNonZeroValue : 0,
    max: n > 0 ? h.maxValue : 0,
    mean: n > 0 ? round3(h.mean) : 0,
    stddev: n > 0 ? round3(h.stdDeviation) : 0,
    N: n,
    percentile,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * What one performance.now() pair costs on this thread (the median of back-to-back deltas, ns).
 * A sampled latency includes about this much clock overhead; the JSON reports it.
 */
export function clockOverheadNs(samples = 20001): number {
  const d = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const a = performance.now();
    const b = performance.now();
    d[i] = (b - a) * 1e6;
  }
  d.sort();
  return Math.round(d[samples >> 1]);
}
