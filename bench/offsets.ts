// The random offsets every reader uses: xorshift32, seeded by the thread number only, so that the
// engine's cells and every peer read the same sequence of blocks ("same threads, same offsets").
// fio counterpart: randrepeat=1 with a fixed randseed, and norandommap (pure random, repeats allowed).

/** Seed of thread `threadIndex` (never 0: xorshift would stay at 0). */
export function offsetSeed(threadIndex: number): number {
  return (Math.imul(threadIndex + 1, 0x9e3779b1) ^ 0x2545f491) >>> 0 || 1;
}

/** One xorshift32 step (Marsaglia 2003). The loops inline the same three lines for speed. */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}
