// Test-only switches, kept off the public surface (package exports do not reach this file).
// No ext4 counterpart: this is the deliberately broken mode of DESIGN.md's negative control.
//
// Each switch is a unique Symbol(), not a registered Symbol.for() name: only code that imports this
// module holds the keys, so an installed package cannot be talked into a broken mode by spelling a
// well-known string (the package's exports do not reach this file; only a deep import by file path,
// which no embedder does by accident, could). The engine reads them on the main thread only
// (src/engine-options.ts) and passes workers plain booleans, so one module instance is enough.

/**
 * Engine.open({ ..., [UNSAFE_EARLY_WRITTEN]: true }): mark extents written at allocation while
 * readers still skip the inode mutex, the exact bug the seed exists to prevent. The stale-data test
 * runs with it to prove that its detector detects.
 */
export const UNSAFE_EARLY_WRITTEN = Symbol('dioread.test.unsafeEarlyWritten');

/**
 * Engine.open({ ..., [UNSAFE_UNPIN_AT_WRITEBACK]: true }): writeback of an UNINIT page leaves it
 * an ordinary clean page (no pin from its io_end, PG_UNINIT cleared) before its extent is
 * converted: the bug ext4 fixed in commit dccaf33f (PG_writeback cleared before conversion), where
 * the page could be evicted and re-read as zeros from the still-UNWRITTEN extent. The read-after-
 * write test runs with it to prove that its detector detects (invariants 3 and 9).
 */
export const UNSAFE_UNPIN_AT_WRITEBACK = Symbol('dioread.test.unsafeUnpinAtWriteback');

/**
 * Engine.open({ ..., [DEVICE_SEAM]: sab }): wrap every thread's device in src/device-seam.ts's
 * SeamDevice over `sab` (test/helpers/seam.ts makes one), which records writes and flushes and
 * injects faults. The crash-state and fault-injection tests use it.
 */
export const DEVICE_SEAM = Symbol('dioread.test.deviceSeam');

/**
 * Engine.open({ ..., [UNSAFE_NO_JOURNAL]: true }): commits write their blocks in place without the
 * journal (the metadata writes of dabf4be): a crash between two of them leaves torn metadata (issue
 * 7 bug 2). The crash-state test runs it to prove that its checker catches that.
 */
export const UNSAFE_NO_JOURNAL = Symbol('dioread.test.unsafeNoJournal');

/**
 * Engine.open({ ..., [UNSAFE_EARLY_REUSE]: true }): freed blocks are allocatable at once, before
 * the commit that records the free (issue 7 bug 3). The crash tests run it to prove they catch it.
 */
export const UNSAFE_EARLY_REUSE = Symbol('dioread.test.unsafeEarlyReuse');

/**
 * Engine.open({ ..., [UNSAFE_RESET_SUPER_UNFLUSHED]: true }): a log reset writes the journal
 * superblock that names the new start but does not flush it before the new transaction overwrites
 * the old log (the engine before the journal model found it, docs/MODEL.md): a crash there replays
 * a stale prefix of the old log over newer checkpoints. The log-wrap test runs it to prove it
 * catches that.
 */
export const UNSAFE_RESET_SUPER_UNFLUSHED = Symbol('dioread.test.unsafeResetSuperUnflushed');

/**
 * Engine.open({ ..., [UNSAFE_NO_RENAME_COUPLING]: true }): a rename over an existing file does not
 * couple the two inode records (I_COUPLED), so a commit split into pieces may carry them apart: a
 * crash between the pieces leaves two files of one name, or none. The rename crash test runs it to
 * prove it catches that.
 */
export const UNSAFE_NO_RENAME_COUPLING = Symbol('dioread.test.unsafeNoRenameCoupling');

/**
 * Engine.open({ ..., [FAULT_NO_TREE_NODES]: true }): a fault, not a broken mode: every allocation of
 * an extent-tree node fails, as on a device whose last blocks are gone. Conversions that would split
 * an extent then take ext4's zero-out path (extents.ts extZeroout) instead of failing; the
 * conversion test runs it so that path stays exercised.
 */
export const FAULT_NO_TREE_NODES = Symbol('dioread.test.faultNoTreeNodes');

/**
 * Engine.open({ ..., [SPLIT_COMMITS]: true }): every commit is written as one journal transaction
 * per group of inode-table blocks (transaction.ts buildPieces), the most pieces a commit may take,
 * as a commit too large for the log is. Not a broken mode: the split-commit and rename crash tests
 * use it to put crash points between pieces without a workload large enough to overflow the log.
 */
export const SPLIT_COMMITS = Symbol('dioread.test.splitCommits');

/**
 * Engine.open({ ..., [UNSAFE_NO_NODE_HOLD]: true }): a freed extent-tree node block is allocatable
 * as soon as its free commits, before the journal resets, while the log still holds the node's image:
 * a crash then replays that image over what the block holds next (the case jbd2's revoke records
 * exist for). The node-reuse crash test runs it to prove it catches that.
 */
export const UNSAFE_NO_NODE_HOLD = Symbol('dioread.test.unsafeNoNodeHold');
