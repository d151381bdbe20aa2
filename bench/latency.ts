// Completion latency: one histogram per thread (values in ns), merged on the main thread and
// summarised with fio's clat_ns keys. The histogram is log-linear as fio's own (stat.c, plat_val_to_idx:
// 64 buckets per power of two; here 128, so a percentile is within 0.8% of the true value); min,
// max, mean and stddev are exact. fio counterpart: the clat_ns block of fio's JSON output
// (min, max, mean, stddev, N, percentile {"50.000000": ...}).

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

/** Sub-buckets per power of two: values below SUB are exact, above they share a bucket with 1/SUB of their magnitude. */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
/** Buckets for every value up to 2^53 ns. */
const BUCKETS = (53 - SUB_BITS + 1) * SUB;

function bucketOf(v: number): number {
  if (v < SUB) return v;
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--; // log2 of a value just below a power of two may round up
  else if (2 ** (e + 1) <= v) e++;
  const shift = e - SUB_BITS;
  return (shift + 1) * SUB + (Math.floor(v / 2 ** shift) - SUB);
}

/** The value a bucket stands for: the middle of the values it holds. */
function bucketValue(i: number): number {
  if (i < SUB) return i;
  const shift = Math.floor(i / SUB) - 1;
  const lower = (SUB + (i % SUB)) * 2 ** shift;
  return lower + (2 ** shift - 1) / 2;
}

export class LatencyHistogram {
  readonly counts = new Float64Array(BUCKETS);
  totalCount = 0;
  min = Infinity;
  max = 0;
  sum = 0;
  sumSq = 0;

  recordValue(ns: number): void {
    const v = Math.max(0, Math.round(ns));
    this.counts[Math.min(bucketOf(v), BUCKETS - 1)]++;
    this.totalCount++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.sum += v;
    this.sumSq += v * v;
  }

  add(o: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += o.counts[i];
    this.totalCount += o.totalCount;
    this.min = Math.min(this.min, o.min);
    this.max = Math.max(this.max, o.max);
    this.sum += o.sum;
    this.sumSq += o.sumSq;
  }

  /** The value at percentile p (0..100): the bucket holding the ceil(p% of N)-th sample, within [min, max]. */
  valueAtPercentile(p: number): number {
    if (this.totalCount === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.totalCount));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, Math.round(bucketValue(i))));
    }
    return this.max;
  }

  /** A no-op (the histogram is plain memory); kept so that callers release it where they are done. */
  destroy(): void {}
}

export function newLatencyHistogram(): LatencyHistogram {
  return new LatencyHistogram();
}

/** A thread's histogram as a string for postMessage: the exact moments, then (bucket, count) pairs of the non-empty buckets. */
export function encodeHistogram(h: LatencyHistogram): string {
  const pairs: number[] = [];
  for (let i = 0; i < BUCKETS; i++) if (h.counts[i] > 0) pairs.push(i, h.counts[i]);
  return JSON.stringify([h.totalCount, h.totalCount > 0 ? h.min : 0, h.max, h.sum, h.sumSq, pairs]);
}

/** Merge the threads' histograms (from encodeHistogram) into one. */
export function mergeHistograms(encoded: readonly string[]): LatencyHistogram {
  const total = newLatencyHistogram();
  for (const e of encoded) {
    const [n, min, max, sum, sumSq, pairs] = JSON.parse(e) as [number, number, number, number, number, number[]];
    if (n === 0) continue;
    for (let i = 0; i < pairs.length; i += 2) total.counts[pairs[i]] += pairs[i + 1];
    total.totalCount += n;
    total.min = Math.min(total.min, min);
    total.max = Math.max(total.max, max);
    total.sum += sum;
    total.sumSq += sumSq;
  }
  return total;
}

/** fio's clat_ns object from a histogram of nanosecond values. */
export function clatNs(h: LatencyHistogram): ClatNs {
  const n = h.totalCount;
  const percentile: Record<string, number> = {};
  for (const p of PERCENTILES) percentile[percentileKey(p)] = n > 0 ? h.valueAtPercentile(p) : 0;
  const mean = n > 0 ? h.sum / n : 0;
  return {
    min: n > 0 ? h.min : 0,
    max: n > 0 ? h.max : 0,
    mean: round3(mean),
    stddev: n > 0 ? round3(Math.sqrt(Math.max(0, h.sumSq / n - mean * mean))) : 0,
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
