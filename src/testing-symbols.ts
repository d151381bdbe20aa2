// Test-only switches, kept off the public surface (package exports do not reach this file).
// No ext4 counterpart: this is the deliberately broken mode of DESIGN.md's negative control.

/**
 * Engine.open({ ..., [UNSAFE_EARLY_WRITTEN]: true }): mark extents written at allocation while
 * readers still skip the inode mutex, the exact bug the seed exists to prevent. The stale-data test
 * runs with it to prove that its detector detects.
 */
export const UNSAFE_EARLY_WRITTEN = Symbol.for('dioread.test.unsafeEarlyWritten');
