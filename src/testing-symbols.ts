// Test-only switches, kept off the public surface (package exports do not reach this file).
// No ext4 counterpart: this is the deliberately broken mode of DESIGN.md's negative control.

/**
 * Engine.open({ ..., [UNSAFE_EARLY_WRITTEN]: true }): mark extents written at allocation while
 * readers still skip the inode mutex, the exact bug the seed exists to prevent. The stale-data test
 * runs with it to prove that its detector detects.
 */
export const UNSAFE_EARLY_WRITTEN = Symbol.for('dioread.test.unsafeEarlyWritten');

/**
 * Engine.open({ ..., [UNSAFE_UNPIN_AT_WRITEBACK]: true }): writeback of an UNINIT page leaves it
 * an ordinary clean page (no pin from its io_end, PG_UNINIT cleared) before its extent is
 * converted: the bug ext4 fixed in commit dccaf33f (PG_writeback cleared before conversion), where
 * the page could be evicted and re-read as zeros from the still-UNWRITTEN extent. The read-after-
 * write test runs with it to prove that its detector detects (invariants 3 and 9).
 */
export const UNSAFE_UNPIN_AT_WRITEBACK = Symbol.for('dioread.test.unsafeUnpinAtWriteback');
