// The one pseudo-random generator of the tree: xorshift32 (Marsaglia 2003), and the seed of a
// benchmark thread. The engine itself draws no random numbers; the benchmark's read and write
// offsets (bench/read-loop.ts), bench:micro's lookup picks, the profile's load workers and the
// tests' workloads (test/helpers/image.ts `rng`) all draw from here, so one seed gives one sequence
// everywhere. Seeded by the thread number only, the engine's cells and every peer read the same
// blocks ("same threads, same offsets").
// fio counterpart: randrepeat=1 with a fixed randseed, and norandommap (pure random, repeats allowed).
// No ext4 counterpart (the kernel's prandom_u32_state is another generator).

/**
 * One xorshift32 step: the next state (a uint32, never 0 when `x` is not 0). The benchmark's read
 * loop calls it per read: V8 inlines it there (node --trace-turbo-inlining shows it inlined into
 * runLoop), and the loop's time per read did not move when its written-out copies were removed.
 */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** Seed of benchmark thread `threadIndex` (never 0: xorshift32 would stay at 0). */
export function threadSeed(threadIndex: number): number {
  return (Math.imul(threadIndex + 1, 0x9e3779b1) ^ 0x2545f491) >>> 0 || 1;
}

/** The xorshift32 sequence that starts at `seed` (0 is taken as 1): each call returns the next uint32. */
export function xorshift32Sequence(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => (x = xorshift32(x));
}
