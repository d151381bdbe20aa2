// Shared-memory layout: every word of every SharedArrayBuffer dioread shares, as named constants.
// ext4 counterpart: the in-memory structs (ext4_sb_info, ext4_inode_info, struct page, ext4_io_end_t)
// that the kernel lays out with C; here they are Int32 words at offsets computed only in this file.
//
// Nothing else computes an offset: other modules call the accessors below (`inodeWord`, `pageWord`,
// `bitmapWord`, `hashBucketWord`, `statPointIndex`, `traceEventIndex`, ...) and add only a field
// constant to a record's first word. This file imports nothing, so every thread (the main thread,
// pool workers, the conversion worker, a user's attached view) can load it. Units: a `...Base` of a
// Layout is an Int32 word index into the meta SAB; `...Bytes`/`...ByteOffset` are bytes; `...Index`
// of the stats and trace buffers are Float64 element indexes.
//
// Ownership of words: each constant's comment says who writes the word and under which lock;
// "atomic" words are read with Atomics.load by anyone.

export const BLOCK_SIZE = 4096;
export const BLOCK_SHIFT = 12;
/** O_DIRECT needs buffers aligned to the device's logical block; we align to a whole block. */
export const DIRECT_ALIGN = 4096;

// ---------------------------------------------------------------------------------------------
// Header words (meta SAB, Int32 index). One per engine.
// ---------------------------------------------------------------------------------------------
export const H_MAGIC = 0; // written once at setup
export const H_VERSION = 1; // written once at setup
export const H_FLAGS = 2; // written once at setup: HF_* bits below
export const H_BLOCK_COUNT = 3; // written once at setup: device size in blocks
export const H_MAX_FILES = 4; // written once at setup
export const H_NODE_SLOTS_MAX = 5; // written once at setup: node slots the node SAB can grow to (extent-tree nodes)
export const H_CACHE_PAGES = 6; // written once at setup
export const H_IO_ENDS = 7; // written once at setup: io_end pool size
export const H_MAX_THREADS = 8; // written once at setup: thread-slot count
export const H_FRAME_BYTE_OFFSET = 9; // written once at setup: byte offset of frame 0 in the frames SAB (aligned)
export const H_STATS_LEVEL = 10; // atomic: 0 off, 1 counters, 2 timing; set by Engine
export const H_HASH_MASK = 11; // written once at setup: buckets - 1 (a power of two minus one)
export const H_CLOCK_HAND = 12; // atomic (Atomics.add by any evictor): CLOCK hand, modulo cachePages
export const H_DOORBELL = 13; // atomic: bumped by end_io after queueing work; the conversion worker waits on it
export const H_WQ_LOCK = 14; // lock word of class wq_lock: guards H_WQ_HEAD/H_WQ_TAIL and the ring
export const H_WQ_HEAD = 15; // under wq_lock: next ring slot the conversion worker pops
export const H_WQ_TAIL = 16; // under wq_lock: next ring slot end_io pushes
export const H_IOEND_LOCK = 17; // lock word of class io_end_pool: guards the free list
export const H_IOEND_FREE_HEAD = 18; // under io_end_pool lock: first free io_end, -1 if none
export const H_IOEND_FREE_COUNT = 19; // written under io_end_pool lock, read atomically; waiters sleep on it
export const H_ALLOC_LOCK = 20; // lock word of class alloc_lock: guards the bitmap and H_FREE_BLOCKS
export const H_FREE_BLOCKS = 21; // under alloc_lock (read atomically by stat)
export const H_ALLOC_GOAL = 22; // under alloc_lock: where the next search without a goal starts
export const H_NAMESPACE_LOCK = 23; // lock word of class namespace_lock: guards inode allocation and names
export const H_HASH_LOCK = 24; // lock word of class mapping_lock: guards hash chains and page identity
export const H_DIRTY_PAGES = 25; // atomic counter: pages with PG_DIRTY set
export const H_WQ_PAUSED = 26; // atomic: 1 while tests hold the conversion worker paused
export const H_CONVERSIONS = 27; // atomic counter: io_ends converted (by the worker or by sync)
export const H_WORKER_CONVERSIONS = 30; // atomic counter: io_ends converted by the conversion worker
export const H_SYNC_CONVERSIONS = 31; // atomic counter: io_ends converted by sync()/flush_completed_IO
export const H_SHUTDOWN = 32; // atomic: 1 once the engine closes; the conversion worker exits after draining
export const H_WRITEBACKS = 33; // atomic counter: pages written back
export const H_EVICTIONS = 34; // atomic counter: pages evicted
export const H_IOEND_WAITS = 35; // atomic counter: times a writer found the io_end pool empty and waited
export const H_FIRST_DATA_BLOCK = 36; // written once at setup: first block the allocator may hand out
export const H_CONVERSION_ERRORS = 37; // atomic counter: conversions that failed (the io_end stays queued)
export const H_HASH_SEQ = 38; // under mapping_lock (read atomically): bumped by every hash insert and removal
export const H_READ_ONLY = 39; // atomic: 0 writable, RO_OPTION (opened read-only), RO_ERRORS (errors=remount-ro)
// The journal (src/transaction.ts, jbd2's journal_t and transaction_t):
export const H_J_UPDATES = 40; // atomic: handles in flight in the running transaction (t_updates)
export const H_J_BARRIER = 41; // atomic, by the committer: 1 while it snapshots (T_LOCKED); new handles wait
export const H_J_COMMIT_LOCK = 42; // lock word of class j_commit_mutex: one commit (and its log I/O) at a time
export const H_J_TID = 43; // by the committer inside the barrier: id of the running transaction
export const H_J_COMMITTED_TID = 44; // by the committer, atomic: last transaction id durable on the device
export const H_J_HEAD = 45; // under j_commit_mutex: next log block to write
export const H_J_SEQ = 46; // under j_commit_mutex: sequence of the next transaction written to the log
export const H_J_START = 47; // under j_commit_mutex: the log start the journal superblock holds (0: empty)
export const H_J_ABORTED = 48; // atomic: 1 once a commit failed (the journal is aborted, the engine read-only)
export const H_J_COMMITS = 49; // atomic counter: transactions committed
export const H_PENDING_FREE = 50; // under alloc_lock (read atomically): blocks freed but not yet committed free
export const H_J_LOGGED = 51; // atomic counter: metadata blocks written to the log
export const H_J_RESETS = 52; // atomic counter: log resets (wrap to the first log block)
export const H_FLUSH_STARTED = 53; // atomic: device flushes begun (each takes the next number)
export const H_FLUSH_DONE = 54; // atomic (compareExchange to a larger value): highest flush number finished
export const H_CLOSING = 55; // atomic, by the engine: 1 once close() began; attached views refuse calls (EBADF)
// The root directory's mtime and ctime (ms, low and high words), under namespace_lock: the mount
// time, then the last create, unlink or rename (this format keeps no record for the root).
export const H_ROOT_TIME_LO = 56;
export const H_ROOT_TIME_HI = 57;
// The extent-tree node pool (src/extent-nodes.ts), a growable SAB of NODE_WORDS slots, under alloc_lock:
export const H_NODE_FREE_HEAD = 58; // under alloc_lock: first free node slot (linked through N_NEXT), -1 none
export const H_NODE_SLOTS = 59; // under alloc_lock (read atomically): slots ever handed out (the pool's high-water mark)
export const H_NODES_IN_USE = 60; // under alloc_lock (read atomically): slots holding a node now
/** Under alloc_lock (read atomically): freed node blocks held allocated until the next log reset (see alloc.ts). */
export const H_HELD_BLOCKS = 61;
/** Written once at setup: dirty nodes one inode may carry into a transaction (transaction.ts dirtyNodeLimit). */
export const H_DIRTY_NODE_LIMIT = 62;
/**
 * Under alloc_lock: where the next extent-tree node search starts, going down (0: the last block).
 * Nodes are taken from the top of the device and data from the bottom, so a node never lands in
 * the block a file's next write aims at (its extents would stop merging).
 */
export const H_META_GOAL = 63;
/** Under namespace_lock: where the next search for a free inode starts (ext4's ialloc goal), the last one taken + 1. */
export const H_INODE_HINT = 64;
/** Atomic, by a committer (never decreases): inodes marked I_POISONED, so a commit scans for them only when there are any. */
export const H_POISONED = 65;
export const HEADER_WORDS = 80;

export const RO_OPTION = 1;
/** Set once metadata could not be written: ext4's errors=remount-ro; writes then fail with EROFS. */
export const RO_ERRORS = 2;

export const HF_NOLOCK = 1 << 0; // dioreadNolock: readers take no inode mutex
export const HF_DEVICE_DIRECT = 1 << 1; // the backing image is opened with O_DIRECT
export const HF_MEMORY_DEVICE = 1 << 2; // in-memory device (a SAB) instead of an image file
/**
 * Test-only: mark extents written at allocation even in nolock mode (the bug the seed prevents).
 * Not reachable from the public options; the stale-data negative control sets it.
 */
export const HF_UNSAFE_EARLY_WRITTEN = 1 << 3;
/** Test-only: writeback does not pin UNINIT pages until conversion (ext4's dccaf33f bug). */
export const HF_UNSAFE_UNPIN_AT_WRITEBACK = 1 << 4;
/** readLocking 'shared': reads take the inode's i_rwsem shared (HF_NOLOCK clear). */
export const HF_SHARED_READS = 1 << 5;
/** Test-only: commits write in place without the journal (testing-symbols.ts UNSAFE_NO_JOURNAL). */
export const HF_UNSAFE_NO_JOURNAL = 1 << 6;
/** Test-only: freed blocks are allocatable before their free commits (UNSAFE_EARLY_REUSE). */
export const HF_UNSAFE_EARLY_REUSE = 1 << 7;
/** Test-only: a log reset does not flush the new journal superblock first (UNSAFE_RESET_SUPER_UNFLUSHED). */
export const HF_UNSAFE_RESET_SUPER_UNFLUSHED = 1 << 8;
/** Test-only: a rename does not couple its two records (UNSAFE_NO_RENAME_COUPLING). */
export const HF_UNSAFE_NO_RENAME_COUPLING = 1 << 9;
/** Test-only fault: extent-tree node allocations fail (testing-symbols.ts FAULT_NO_TREE_NODES). */
export const HF_FAULT_NO_TREE_NODES = 1 << 10;
/** Test-only: every inode-table block group of a commit is its own journal transaction (testing-symbols.ts SPLIT_COMMITS). */
export const HF_TEST_SPLIT_COMMITS = 1 << 11;
/** Test-only: freed node blocks are not held until the log resets (testing-symbols.ts UNSAFE_NO_NODE_HOLD). */
export const HF_UNSAFE_NO_NODE_HOLD = 1 << 12;

export const SHM_MAGIC = 0x64696f72; // 'dior'
export const SHM_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Inode table (ext4_inode_info): maxFiles records of INODE_WORDS words.
// ---------------------------------------------------------------------------------------------
export const I_STATE = 0; // under namespace_lock (read atomically): INODE_FREE, INODE_USED, INODE_ORPHAN, INODE_EVICTING
export const I_SIZE_LO = 1; // under i_mutex, inside an i_seq write section: i_size low 32 bits
export const I_SIZE_HI = 2; // same: high bits
export const I_SEQ = 3; // seqlock word (class extent_seqlock): odd while extents or size change
export const I_MUTEX = 4; // lock word of class i_mutex
export const I_COMPLETED_LOCK = 5; // lock word of class i_completed_io_lock (a spinlock)
export const I_COMPLETED_HEAD = 6; // under i_completed_io_lock: first io_end on i_completed_io_list, -1
export const I_COMPLETED_TAIL = 7; // under i_completed_io_lock: last io_end, -1
export const I_COMPLETED_LEN = 8; // under i_completed_io_lock (read atomically by traces): list length
export const I_WQ_QUEUED = 9; // atomic: 1 while this inode sits in the conversion ring (set by end_io, cleared by the worker)
export const I_EXTENT_COUNT = 10; // under i_mutex inside i_seq: leaf records (extents) in the inode's tree
export const I_BLOCKS = 11; // under i_mutex: blocks allocated to the file
export const I_NAME_LEN = 12; // under namespace_lock: bytes of name
export const I_OPEN_COUNT = 13; // atomic: open handles
export const I_GENERATION = 14; // under namespace_lock: bumped at each create (the inode's incarnation, kept on disk)
export const I_META_DIRTY = 15; // atomic: 1 when the inode or its extents changed since the last metadata write
/**
 * Lock word of class i_rwsem (src/sync/rwsem.ts): the inode's reader-writer semaphore, used only
 * when the engine runs with readLocking 'shared' (reads take it shared; writes and truncate take it
 * exclusive before i_mutex), as ext4 since 5.5 and XFS (IOLOCK_SHARED) lock direct reads.
 */
export const I_RWSEM = 16;
export const I_MODE = 17; // under i_mutex (namespace_lock at create): file type and permission bits (st_mode)
// Times in ms since the epoch, two words each (low 32 bits, high bits), under i_mutex:
export const I_ATIME_LO = 18; // set at create (dioread reads never update it: noatime)
export const I_ATIME_HI = 19;
export const I_MTIME_LO = 20; // data changed: write, truncate, allocate
export const I_MTIME_HI = 21;
export const I_CTIME_LO = 22; // inode changed: the above, rename
export const I_CTIME_HI = 23;
export const I_BTIME_LO = 24; // birth: set at create
export const I_BTIME_HI = 25;
// Journal bookkeeping of the inode's tree (src/extent-nodes.ts, src/transaction.ts): written under
// i_mutex inside a handle, or by the committer inside its barrier (no handle runs then):
export const I_DIRTY_HEAD = 26; // first node slot changed since the last commit (linked through N_NEXT), -1 none
export const I_DIRTY_NODES = 27; // atomic: nodes on that list (the committer reads it to bound a transaction)
export const I_GOAL = 28; // under i_mutex: pblk - lblk of the last allocation (where the next one aims), -1 none
export const I_POISONED = 29; // by the committer: 1 once a thread died inside a handle on this inode (never committed again)
/**
 * Under namespace_lock, in a handle: the inode whose record must reach the journal in the same
 * transaction piece as this one (a rename's two records: either both names change or neither), -1
 * none. The committer clears it when its snapshot takes the record (transaction.ts buildPieces).
 */
export const I_COUPLED = 30;
/**
 * Under namespace_lock: the directory that holds this inode's name, an inode number, or
 * ROOT_PARENT for the root directory (which has no record).
 */
export const I_PARENT = 31;
export const ROOT_PARENT = -1;
// I_STATE values (the inode's life, ext4's i_nlink and I_FREEING in one word):
export const INODE_FREE = 0; // no file: newInode may take it
export const INODE_USED = 1; // a named file
export const INODE_ORPHAN = 2; // unlinked while open: no name, readable and writable through its handles until the last close
export const INODE_EVICTING = 3; // the last close (or unlink) is freeing its blocks; then INODE_FREE
export const I_NAME = 32; // under namespace_lock: up to MAX_NAME_BYTES of UTF-8, 4 per word (I_NAME_WORDS words)
/** NAME_MAX: a name is at most 255 bytes of UTF-8 (ondisk.ts MAX_DISK_NAME_BYTES). */
export const MAX_NAME_BYTES = 255;
export const I_NAME_WORDS = 64;
/**
 * The root of the inode's extent tree (ext4's i_block: an ext4_extent_header and 4 entries kept in
 * the inode itself): a node header (EH_*) then ROOT_MAX_ENTRIES entries. Under i_mutex inside an
 * i_seq write section; read by anyone under the seqlock.
 */
export const I_ROOT = I_NAME + I_NAME_WORDS; // 96
export const ROOT_MAX_ENTRIES = 4;
/** Under namespace_lock: the next inode on this one's name-cache chain (src/dcache.ts), -1 at the end, DCACHE_UNHASHED when on none. */
export const I_DCACHE_NEXT = I_ROOT + 4 + ROOT_MAX_ENTRIES * 4; // 116
export const DCACHE_UNHASHED = -2;
/**
 * The unmap counter (written under i_mutex, inside an I_SEQ write section, by unmapSeqBump; read
 * atomically by lockless direct readers): bumped by every change that takes a logical block's
 * WRITTEN mapping away or changes it (truncate's unmap, punch hole, zero range's re-tag to
 * UNWRITTEN), never by allocation or conversion. A direct read of WRITTEN blocks re-checks only
 * this word, so conversions elsewhere in the file no longer make it read again (docs/MODEL.md).
 */
export const I_UNMAP_SEQ = I_DCACHE_NEXT + 1; // 117
export const INODE_WORDS = I_UNMAP_SEQ + 1; // 118

// ---------------------------------------------------------------------------------------------
// Extent tree (ext4_extent_header, ext4_extent_idx, ext4_extent). A node, in the inode (the root)
// or in a slot of the node pool, is a header of EH_WORDS then entries of EXTENT_WORDS: leaf
// entries (depth 0) are extents, index entries point at a child node. Every word of a node is
// written by the holder of the owning inode's i_mutex inside an i_seq write section; read by anyone
// under the seqlock (a reader bounds-checks each word it follows: a node freed under it is caught
// by the sequence check).
// ---------------------------------------------------------------------------------------------
export const EH_ENTRIES = 0; // entries in use
export const EH_MAX = 1; // capacity: ROOT_MAX_ENTRIES in the inode, NODE_MAX_ENTRIES in a slot
export const EH_DEPTH = 2; // 0: a leaf; else the levels of index nodes below and including this one
export const EH_GENERATION = 3; // the owning inode's generation (a node of an earlier life is caught on disk)
export const EH_WORDS = 4;
/** ext4's EXT4_MAX_EXTENT_DEPTH: 5 levels under the root are enough for 2^31 blocks. */
export const MAX_TREE_DEPTH = 5;
// Index entries (ext4_extent_idx):
export const X_LBLK = 0; // first logical block the child covers (a lower bound: every lblk in the child is >= it, and < the next entry's)
export const X_PBLK = 1; // the child's block on disk
export const X_SLOT = 2; // shared memory only: the child's node slot (0 on disk)
// Node slots (the node SAB, NODE_WORDS each; a 4 KiB image of the node's block from word NODE_HDR):
export const N_PBLK = 0; // under alloc_lock at allocation: the node's block on disk
export const N_OWNER = 1; // under alloc_lock at allocation: the inode that owns it, -1 when free
export const N_NEXT = 2; // free: next free slot (alloc_lock); in use: next slot on the owner's dirty list (i_mutex), -1
export const N_DIRTY = 3; // under the owner's i_mutex (cleared by the committer in its barrier): 1 while on the dirty list
export const NODE_HDR = 4; // the node header (EH_*) starts here; the disk block has its MB_* header here
export const NODE_WORDS = 1024;
export const NODE_BYTES = NODE_WORDS * 4;
export const NODE_MAX_ENTRIES = (NODE_WORDS - NODE_HDR - 4) / 4; // 254
export const E_LBLK = 0; // first logical block
export const E_LEN = 1; // block count (1..EXT_MAX_LEN)
export const E_PBLK = 2; // first physical block
export const E_FLAGS = 3; // EXT_UNWRITTEN
export const EXTENT_WORDS = 4;
export const EXT_UNWRITTEN = 1; // EXT4_EXT_UNWRITTEN: allocated, data not yet known to be on disk
export const EXT_MAX_LEN = 32768; // EXT_INIT_MAX_LEN
/** Bits per on-disk bitmap block (ondisk.ts BITS_PER_BITMAP_BLOCK, asserted equal there): 1020 words. */
export const BITMAP_BITS_PER_BLOCK = 32640;
export const HANDLE_REAPED = -1;

// ---------------------------------------------------------------------------------------------
// Page-cache descriptors (struct page): cachePages records of PAGE_WORDS words (64 bytes each,
// one cache line, so two pages' words never share a line).
// ---------------------------------------------------------------------------------------------
export const P_FLAGS = 0; // atomic, changed with compareExchange-free stores by the page-lock holder: PG_* bits
export const P_SEQ = 1; // page seqcount: odd while the frame's bytes or the page identity change
export const P_LOCK = 2; // lock word of class page_lock (PG_locked), records the owner
export const P_REFCOUNT = 3; // atomic: references (get_page/put_page); pins from io_ends count here
export const P_INO = 4; // under mapping_lock + P_SEQ odd: owning inode, -1 when free
export const P_INDEX = 5; // under mapping_lock + P_SEQ odd: page index (logical block)
export const P_PBLK = 6; // under the page lock: physical block this page writes back to, -1 unknown
export const P_HASH_NEXT = 7; // under mapping_lock: next page in the hash chain, -1
export const P_REFERENCED = 8; // plain store by readers (PG_referenced), cleared by the CLOCK hand
export const PAGE_WORDS = 16;

export const PG_UPTODATE = 1 << 0;
export const PG_DIRTY = 1 << 1;
export const PG_WRITEBACK = 1 << 2;
export const PG_UNINIT = 1 << 3; // buffer_uninit: the page's block sits in an UNWRITTEN extent

// ---------------------------------------------------------------------------------------------
// io_end pool (ext4_io_end_t): ioEnds records of IO_WORDS words.
// ---------------------------------------------------------------------------------------------
export const IO_STATE = 0; // under io_end_pool lock: IOS_FREE / IOS_ALLOCATED
export const IO_FLAG = 1; // by the owner: EXT4_IO_UNWRITTEN until converted, then 0
export const IO_INO = 2; // by the allocator: inode
export const IO_LBLK = 3; // offset, in blocks
export const IO_COUNT = 4; // size, in blocks
export const IO_PAGE = 5; // pinned page, -1 for direct I/O
export const IO_NEXT = 6; // under io_end_pool lock (free list) or i_completed_io_lock (completed list)
export const IO_PREV = 7; // under i_completed_io_lock
export const IO_LINKED = 8; // under i_completed_io_lock: 1 while on i_completed_io_list (!list_empty(&io->list))
export const IO_WORDS = 12;
export const IOS_FREE = 0;
export const IOS_ALLOCATED = 1;
export const EXT4_IO_UNWRITTEN = 1;

// ---------------------------------------------------------------------------------------------
// Thread slots: one per attached view. The slot number is the owner id lock words record.
// ---------------------------------------------------------------------------------------------
export const S_STATE = 0; // claimed by compareExchange (FREE -> LIVE); LIVE -> DEAD by the engine on thread exit
export const S_THREAD_ID = 1; // by the claimer, before anyone reads it: worker_threads threadId of the holder
export const S_ROLE = 2; // by the claimer: SLOT_ROLE_*
export const S_OP = 3; // plain store by the slot's own thread: OP_* it is doing now (waiters read it to
//                       learn what the lock holder was doing: lock_stat's "contending" points)
export const S_SHARED_LOCK = 4; // by the slot's own thread: the rwsem word it holds shared, 0 if none
//                                 (a writer waiting on readers finds a dead reader through it)
export const S_HANDLE = 5; // by the slot's own thread: inode + 1 while inside a journal handle, 0 outside,
//                            HANDLE_REAPED once a committer discounted the handle of this dead slot
export const S_IN_CALL = 6; // by the slot's own thread: 1 while an attached view's call runs (close waits for 0)
export const SLOT_WORDS = 16; // one 64-byte line per slot: S_OP stores never bounce a neighbour's line
export const SLOT_FREE = 0;
export const SLOT_LIVE = 1;
export const SLOT_DEAD = 2;
export const SLOT_ROLE_MAIN = 1;
export const SLOT_ROLE_POOL = 2;
export const SLOT_ROLE_CONVERSION = 3;
export const SLOT_ROLE_USER = 4;

/** Node slots a node SAB may hold: V8's largest growable SharedArrayBuffer (4 GiB) over NODE_BYTES. */
export const NODE_SLOTS_LIMIT = 2 ** 32 / (NODE_WORDS * 4) - 1;

/** Direct-I/O bounce buffer per thread slot, in blocks (inside the frames SAB, aligned). */
export const BOUNCE_BLOCKS = 16;

// ---------------------------------------------------------------------------------------------
// Lock statistics (lock_stat), a Float64 SAB: per thread slot, per lock class, STAT_FIELDS.
// Each slot's numbers are written only by the thread holding that slot (plain stores, no
// read-modify-write across threads); lockStats() sums the slots.
// ---------------------------------------------------------------------------------------------
export const LOCK_CLASSES = [
  'i_mutex',
  'i_completed_io_lock',
  'page_lock',
  'extent_seqlock',
  'mapping_lock',
  'alloc_lock',
  'io_end_pool',
  'namespace_lock',
  'wq_lock',
  'i_rwsem-R',
  'i_rwsem-W',
  'j_commit_mutex',
] as const;
export type LockClassName = (typeof LOCK_CLASSES)[number];
export const LC_I_MUTEX = 0;
export const LC_COMPLETED_IO = 1;
export const LC_PAGE = 2;
export const LC_SEQLOCK = 3;
export const LC_MAPPING = 4;
export const LC_ALLOC = 5;
export const LC_IO_END_POOL = 6;
export const LC_NAMESPACE = 7;
export const LC_WQ = 8;
/** i_rwsem taken shared (readLocking 'shared' reads) and exclusive (writes in that mode): lock_stat's -R and -W rows. */
export const LC_RWSEM_READ = 9;
export const LC_RWSEM_WRITE = 10;
/** The journal's commit mutex (jbd2's j_checkpoint_mutex and the commit thread in one). */
export const LC_J_COMMIT = 11;

/** Contention points: what the thread was doing when it took the lock (lock_stat's call sites). */
export const OPS = ['read', 'write', 'writeback', 'convert', 'sync', 'truncate', 'other'] as const;
export type OpName = (typeof OPS)[number];
export const OP_READ = 0;
export const OP_WRITE = 1;
export const OP_WRITEBACK = 2;
export const OP_CONVERT = 3;
export const OP_SYNC = 4;
export const OP_TRUNCATE = 5;
export const OP_OTHER = 6;

export const ST_ACQ = 0;
export const ST_CONT = 1;
export const ST_WAIT_TOTAL = 2; // ns
export const ST_WAIT_MIN = 3; // ns, 0 = none yet
export const ST_WAIT_MAX = 4;
export const ST_HOLD_TOTAL = 5;
export const ST_HOLD_MIN = 6;
export const ST_HOLD_MAX = 7;
export const ST_HOLD_COUNT = 8; // holds that were timed
export const ST_POINTS = 9; // then per op: [acq, cont] ("contention points": what the waiter was doing)
export const ST_HOLDER = ST_POINTS + OPS.length * 2; // then per (waiter op, holder op): contentions
//                                                      (the holder's op is lock_stat's "contending point")
export const STAT_FIELDS = ST_HOLDER + OPS.length * OPS.length; // 72

export const STATS_OFF = 0;
export const STATS_COUNTERS = 1;
export const STATS_TIMING = 2;
/** Timing, plus trace events into the trace buffer (needs H_TRACE_CAPACITY > 0). */
export const STATS_TRACE = 3;

// ---------------------------------------------------------------------------------------------
// Trace buffer (a Float64 SAB, present when tracing was asked for at open): per thread slot,
// TR_HEADER doubles then H_TRACE_CAPACITY events of TRACE_FIELDS doubles. Written only by the
// slot's own thread; read by the engine when it builds the Chrome trace.
// ---------------------------------------------------------------------------------------------
export const TR_COUNT = 0; // events recorded (may exceed capacity: the excess is dropped and counted)
export const TR_HEADER = 2;
export const TE_TS = 0; // ms since the epoch (performance.timeOrigin + performance.now()), start of the event
export const TE_DUR = 1; // ms (0 for instant and counter events)
export const TE_KIND = 2; // TK_*
export const TE_A = 3; // kind-specific: lock class, pblk, inode...
export const TE_B = 4;
export const TE_C = 5;
export const TRACE_FIELDS = 6;
export const TK_LOCK_WAIT = 1; // A lock class, B waiter op, C holder op
export const TK_LOCK_HOLD = 2; // A lock class, B op (holds longer than TRACE_HOLD_MIN_NS)
export const TK_IO_READ = 3; // A pblk, B blocks
export const TK_IO_WRITE = 4; // A pblk, B blocks
export const TK_CONVERT = 5; // A inode, B lblk, C blocks
export const TK_LIST_LEN = 6; // A inode, B completed-list length (a counter track)
export const TK_FLUSH = 7; // A inode (fdatasync)
export const TK_BATCH = 8; // A op, B operations: a workload thread's batch of reads or writes
export const TRACE_HOLD_MIN_NS = 20_000;

// ---------------------------------------------------------------------------------------------
// Geometry and the computed layout.
// ---------------------------------------------------------------------------------------------
export interface Geometry {
  /** Trace events kept per thread slot; 0 disables tracing. */
  traceCapacity?: number;
  blockCount: number;
  maxFiles: number;
  cachePages: number;
  ioEnds: number;
  maxThreads: number;
}

/** Word offsets (Int32 index) of each region in the meta SAB; byte offsets in the frames SAB. */
export interface Layout extends Geometry {
  hashBuckets: number;
  inodeBase: number;
  bitmapBase: number;
  bitmapWords: number;
  /** Pending-free bits (freed, not yet committed free), same shape as the bitmap, under alloc_lock. */
  pendingBase: number;
  /** Held bits: freed extent-tree node blocks kept allocated until the journal's next reset (alloc.ts), under alloc_lock. */
  heldBase: number;
  /** Node slots the node SAB may grow to. */
  nodeSlotsMax: number;
  /** One word per on-disk bitmap block: 1 when it changed since the last commit, under alloc_lock. */
  bitmapDirtyBase: number;
  bitmapBlocks: number;
  /** The name cache's buckets (src/dcache.ts): a power of two, each the first inode of its chain or -1. */
  dcacheBase: number;
  dcacheBuckets: number;
  /** One bit per inode, 32 to a word: set with its I_META_DIRTY (markMetaDirty), so a commit visits the dirty inodes only. */
  inodeDirtyBase: number;
  inodeDirtyWords: number;
  pageBase: number;
  hashBase: number;
  ioEndBase: number;
  wqRingBase: number;
  slotBase: number;
  metaWords: number;
  /** Bytes the frames SAB needs: slack for alignment, the cache frames, the bounce buffers. */
  framesBytes: number;
  statsDoubles: number;
  /** Trace events per thread slot (0: no trace buffer). */
  traceCapacity: number;
  traceDoubles: number;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function computeLayout(g: Geometry): Layout {
  const hashBuckets = nextPow2(Math.max(16, g.cachePages * 2));
  let at = HEADER_WORDS;
  const inodeBase = at;
  at += g.maxFiles * INODE_WORDS;
  const bitmapBase = at;
  const bitmapWords = Math.ceil(g.blockCount / 32);
  at += bitmapWords;
  const pendingBase = at;
  at += bitmapWords;
  const heldBase = at;
  at += bitmapWords;
  const bitmapDirtyBase = at;
  const bitmapBlocks = Math.ceil(g.blockCount / BITMAP_BITS_PER_BLOCK);
  at += bitmapBlocks;
  const dcacheBase = at;
  const dcacheBuckets = nextPow2(Math.max(16, g.maxFiles));
  at += dcacheBuckets;
  const inodeDirtyBase = at;
  const inodeDirtyWords = Math.ceil(g.maxFiles / 32);
  at += inodeDirtyWords;
  at = Math.ceil(at / PAGE_WORDS) * PAGE_WORDS; // page descriptors start on a cache line
  const pageBase = at;
  at += g.cachePages * PAGE_WORDS;
  const hashBase = at;
  at += hashBuckets;
  const ioEndBase = at;
  at += g.ioEnds * IO_WORDS;
  const wqRingBase = at;
  at += g.maxFiles;
  const slotBase = at;
  at += g.maxThreads * SLOT_WORDS;
  return {
    ...g,
    hashBuckets,
    inodeBase,
    bitmapBase,
    bitmapWords,
    pendingBase,
    heldBase,
    // Every node holds at least one extent of at least one block and is a block itself, so a device
    // never has more nodes than blocks; V8 caps a growable SharedArrayBuffer at 4 GiB.
    nodeSlotsMax: Math.min(g.blockCount, NODE_SLOTS_LIMIT),
    bitmapDirtyBase,
    bitmapBlocks,
    dcacheBase,
    dcacheBuckets,
    inodeDirtyBase,
    inodeDirtyWords,
    pageBase,
    hashBase,
    ioEndBase,
    wqRingBase,
    slotBase,
    metaWords: at,
    framesBytes: DIRECT_ALIGN + (g.cachePages + g.maxThreads * BOUNCE_BLOCKS) * BLOCK_SIZE,
    statsDoubles: g.maxThreads * LOCK_CLASSES.length * STAT_FIELDS,
    traceCapacity: g.traceCapacity ?? 0,
    traceDoubles: (g.traceCapacity ?? 0) > 0 ? g.maxThreads * (TR_HEADER + (g.traceCapacity ?? 0) * TRACE_FIELDS) : 0,
  };
}

/** The word of the inode dirty summary that holds inode `ino`'s bit (1 << (ino & 31)). */
export function inodeDirtyWord(l: Layout, ino: number): number {
  return l.inodeDirtyBase + (ino >>> 5);
}

/**
 * ext4_mark_inode_dirty's shared-memory half: I_META_DIRTY, then the inode's bit in the dirty
 * summary (inodeDirtyBase), which is what the commit scans (transaction.ts copyDirty), 32 inodes a
 * word. Owner: any thread in a journal handle (or the mount, alone); the committer clears both
 * while no handle runs (the commit barrier), so a set never races a clear. The summary is a
 * superset: a bit may outlive its I_META_DIRTY (a record re-initialized), never the reverse.
 */
export function markMetaDirty(i32: Int32Array, l: Layout, ino: number): void {
  Atomics.store(i32, inodeWord(l, ino, I_META_DIRTY), 1);
  Atomics.or(i32, inodeDirtyWord(l, ino), 1 << (ino & 31));
}

export function inodeWord(l: Layout, ino: number, field: number): number {
  return l.inodeBase + ino * INODE_WORDS + field;
}
/** The two words (low 32 bits, high bits) of a 64-bit inode field: size, or a time. */
export function inodeWordPair(l: Layout, ino: number, loField: number): [lo: number, hi: number] {
  const hi = HI_OF.get(loField);
  if (hi === undefined) throw new Error(`layout: inode field ${loField} is not the low word of a pair`);
  return [inodeWord(l, ino, loField), inodeWord(l, ino, hi)];
}
/** The high word of a pair whose low word is `loField`, within a record copied out of the table. */
export function highFieldOf(loField: number): number {
  const hi = HI_OF.get(loField);
  if (hi === undefined) throw new Error(`layout: inode field ${loField} is not the low word of a pair`);
  return hi;
}
/** Node slot `slot`'s word `field` in the node SAB (N_* fields; the header at NODE_HDR + EH_*). */
export function nodeWord(slot: number, field: number): number {
  return slot * NODE_WORDS + field;
}
/** Entry `i` of the node whose header starts at word `hdr` (in the inode's words or the node SAB). */
export function entryWord(hdr: number, i: number): number {
  return hdr + EH_WORDS + i * EXTENT_WORDS;
}
export function pageWord(l: Layout, page: number, field: number): number {
  return l.pageBase + page * PAGE_WORDS + field;
}
export function ioEndWord(l: Layout, io: number, field: number): number {
  return l.ioEndBase + io * IO_WORDS + field;
}
export function slotWord(l: Layout, slot: number, field: number): number {
  return l.slotBase + slot * SLOT_WORDS + field;
}
/** The word of the block bitmap (or, with `pendingBase`, of the pending-free bitmap) holding device block b. */
export function bitmapWord(l: Layout, b: number): number {
  return l.bitmapBase + (b >>> 5);
}
export function pendingWord(l: Layout, b: number): number {
  return l.pendingBase + (b >>> 5);
}
/** Word i of the block bitmap, and of the pending-free bitmap (word i holds blocks 32i..32i+31). */
export function bitmapWordAt(l: Layout, i: number): number {
  return l.bitmapBase + i;
}
export function pendingWordAt(l: Layout, i: number): number {
  return l.pendingBase + i;
}
export function heldWord(l: Layout, b: number): number {
  return l.heldBase + (b >>> 5);
}
export function heldWordAt(l: Layout, i: number): number {
  return l.heldBase + i;
}
/** Block b's bit within its bitmap word. */
export function bitmapBit(b: number): number {
  return 1 << (b & 31);
}
/** The dirty word of on-disk bitmap block k (BITMAP_BITS_PER_BLOCK device blocks each). */
export function bitmapDirtyWord(l: Layout, k: number): number {
  return l.bitmapDirtyBase + k;
}
/** The on-disk bitmap block holding device block b. */
export function bitmapBlockOf(b: number): number {
  return Math.floor(b / BITMAP_BITS_PER_BLOCK);
}
/** The first bitmap word of on-disk bitmap block k, relative to the bitmap's start (1020 words a block). */
export function bitmapBlockFirstWord(k: number): number {
  return k * (BITMAP_BITS_PER_BLOCK / 32);
}
/** The name-cache bucket of a name hash. */
export function dcacheBucketWord(l: Layout, hash: number): number {
  return l.dcacheBase + (hash & (l.dcacheBuckets - 1));
}
/** The hash bucket word of a page hash (masked to the table). */
export function hashBucketWord(l: Layout, hash: number, mask: number): number {
  return l.hashBase + (hash & mask);
}
/** The conversion ring's slot for the n-th push or pop (the ring holds maxFiles inodes). */
export function wqSlotWord(l: Layout, n: number): number {
  return l.wqRingBase + (n % l.maxFiles);
}
/** First element of a thread slot's record for one lock class in the stats buffer (STAT_FIELDS each). */
export function statRecordIndex(slot: number, lockClass: number): number {
  return (slot * LOCK_CLASSES.length + lockClass) * STAT_FIELDS;
}
/** Field of a contention point's counter: acquisitions (`contended` 0) or contentions (1) of a thread doing `op`. */
export function statPointField(op: number, contended: 0 | 1): number {
  return ST_POINTS + op * 2 + contended;
}
/** Field of the contentions of a waiter doing `waiterOp` behind a holder doing `holderOp`. */
export function statHolderField(waiterOp: number, holderOp: number): number {
  return ST_HOLDER + waiterOp * OPS.length + holderOp;
}
/** Index of a thread slot's trace header in the trace buffer (events follow it). */
export function traceIndex(l: Layout, slot: number): number {
  return slot * (TR_HEADER + l.traceCapacity * TRACE_FIELDS);
}
/** Index of event k of a thread slot in the trace buffer. */
export function traceEventIndex(l: Layout, slot: number, k: number): number {
  return traceIndex(l, slot) + TR_HEADER + k * TRACE_FIELDS;
}
/** Byte offset of a page-cache frame in the frames SAB. */
export function frameOffset(frameByteOffset: number, page: number): number {
  return frameByteOffset + page * BLOCK_SIZE;
}
/** Byte offset of a thread slot's direct-I/O bounce buffer in the frames SAB. */
export function bounceOffset(l: Layout, frameByteOffset: number, slot: number): number {
  return frameByteOffset + (l.cachePages + slot * BOUNCE_BLOCKS) * BLOCK_SIZE;
}

/** What share() hands to another thread: the buffers and the layout, all structured-cloneable. */
export interface SharedDescriptor {
  kind: 'dioread-shared-descriptor';
  version: number;
  meta: SharedArrayBuffer;
  /** The extent-tree node pool: growable (grown under alloc_lock); each thread keeps a fixed-length view and renews it. */
  nodes: SharedArrayBuffer;
  frames: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** Trace events per slot, when the engine was opened with tracing. */
  trace: SharedArrayBuffer | null;
  /** The in-memory device's blocks, when the engine has no image file. */
  memoryDevice: SharedArrayBuffer | null;
  path: string | null;
  layout: Layout;
  /** The image's geometry (ondisk.ts SuperBlock): where every metadata block lives. */
  disk: DiskGeometry;
  /** Test-only: the device seam's buffer (device-seam.ts), or null. */
  seam: SharedArrayBuffer | null;
}

/** The on-disk geometry every thread needs to find metadata blocks (a subset of ondisk.ts SuperBlock). */
export interface DiskGeometry {
  blockCount: number;
  inodeTable: number;
  inodeBlocks: number;
  bitmap: number;
  bitmapBlocks: number;
  journal: number;
  journalBlocks: number;
  firstDataBlock: number;
}

/** The 64-bit inode fields: low word → high word. */
const HI_OF = new Map<number, number>([
  [I_SIZE_LO, I_SIZE_HI],
  [I_ATIME_LO, I_ATIME_HI],
  [I_MTIME_LO, I_MTIME_HI],
  [I_CTIME_LO, I_CTIME_HI],
  [I_BTIME_LO, I_BTIME_HI],
]);

/**
 * The relations between the constants above, checked when this module loads (TigerBeetle's
 * comptime asserts): every field fits its record, records keep their cache-line promises, pairs
 * are adjacent. A wrong edit fails at the first import, not as a corrupted word later.
 */
function checkConstants(): void {
  const fail = (what: string) => {
    throw new Error(`dioread layout constants: ${what}`);
  };
  const fits = (name: string, fields: number[], words: number) => {
    for (const f of fields) if (f < 0 || f >= words) fail(`${name} field ${f} outside its ${words}-word record`);
    if (new Set(fields).size !== fields.length) fail(`${name} has two fields on one word`);
  };
  fits('header', [H_MAGIC, H_VERSION, H_FLAGS, H_BLOCK_COUNT, H_MAX_FILES, H_NODE_SLOTS_MAX, H_CACHE_PAGES, H_IO_ENDS, H_MAX_THREADS, H_FRAME_BYTE_OFFSET, H_STATS_LEVEL, H_HASH_MASK, H_CLOCK_HAND, H_DOORBELL, H_WQ_LOCK, H_WQ_HEAD, H_WQ_TAIL, H_IOEND_LOCK, H_IOEND_FREE_HEAD, H_IOEND_FREE_COUNT, H_ALLOC_LOCK, H_FREE_BLOCKS, H_ALLOC_GOAL, H_NAMESPACE_LOCK, H_HASH_LOCK, H_DIRTY_PAGES, H_WQ_PAUSED, H_CONVERSIONS, H_WORKER_CONVERSIONS, H_SYNC_CONVERSIONS, H_SHUTDOWN, H_WRITEBACKS, H_EVICTIONS, H_IOEND_WAITS, H_FIRST_DATA_BLOCK, H_CONVERSION_ERRORS, H_HASH_SEQ, H_READ_ONLY, H_J_UPDATES, H_J_BARRIER, H_J_COMMIT_LOCK, H_J_TID, H_J_COMMITTED_TID, H_J_HEAD, H_J_SEQ, H_J_START, H_J_ABORTED, H_J_COMMITS, H_PENDING_FREE, H_J_LOGGED, H_J_RESETS, H_FLUSH_STARTED, H_FLUSH_DONE, H_CLOSING, H_ROOT_TIME_LO, H_ROOT_TIME_HI, H_NODE_FREE_HEAD, H_NODE_SLOTS, H_NODES_IN_USE, H_HELD_BLOCKS, H_DIRTY_NODE_LIMIT, H_META_GOAL, H_INODE_HINT, H_POISONED], HEADER_WORDS);
  fits('inode', [I_STATE, I_SIZE_LO, I_SIZE_HI, I_SEQ, I_MUTEX, I_COMPLETED_LOCK, I_COMPLETED_HEAD, I_COMPLETED_TAIL, I_COMPLETED_LEN, I_WQ_QUEUED, I_EXTENT_COUNT, I_BLOCKS, I_NAME_LEN, I_OPEN_COUNT, I_GENERATION, I_META_DIRTY, I_RWSEM, I_MODE, I_ATIME_LO, I_ATIME_HI, I_MTIME_LO, I_MTIME_HI, I_CTIME_LO, I_CTIME_HI, I_BTIME_LO, I_BTIME_HI, I_DIRTY_HEAD, I_DIRTY_NODES, I_GOAL, I_POISONED, I_COUPLED, I_PARENT], I_NAME);
  if (I_NAME_WORDS * 4 < MAX_NAME_BYTES || I_NAME + I_NAME_WORDS !== I_ROOT || I_ROOT + EH_WORDS + ROOT_MAX_ENTRIES * EXTENT_WORDS !== I_DCACHE_NEXT || I_DCACHE_NEXT + 1 !== I_UNMAP_SEQ || I_UNMAP_SEQ + 1 !== INODE_WORDS) fail('the inode name, the tree root, the name-cache link and the unmap counter do not end the record');
  fits('node slot', [N_PBLK, N_OWNER, N_NEXT, N_DIRTY], NODE_HDR);
  fits('node header', [EH_ENTRIES, EH_MAX, EH_DEPTH, EH_GENERATION], EH_WORDS);
  fits('index entry', [X_LBLK, X_PBLK, X_SLOT], EXTENT_WORDS);
  if (NODE_HDR + EH_WORDS + NODE_MAX_ENTRIES * EXTENT_WORDS !== NODE_WORDS) fail('node entries do not fill the slot');
  fits('page', [P_FLAGS, P_SEQ, P_LOCK, P_REFCOUNT, P_INO, P_INDEX, P_PBLK, P_HASH_NEXT, P_REFERENCED], PAGE_WORDS);
  if (PAGE_WORDS * 4 !== 64) fail('a page descriptor is not one 64-byte cache line');
  fits('io_end', [IO_STATE, IO_FLAG, IO_INO, IO_LBLK, IO_COUNT, IO_PAGE, IO_NEXT, IO_PREV, IO_LINKED], IO_WORDS);
  fits('slot', [S_STATE, S_THREAD_ID, S_ROLE, S_OP, S_SHARED_LOCK, S_HANDLE, S_IN_CALL], SLOT_WORDS);
  if (SLOT_WORDS * 4 !== 64) fail('a thread slot is not one 64-byte cache line');
  fits('extent', [E_LBLK, E_LEN, E_PBLK, E_FLAGS], EXTENT_WORDS);
  for (const [lo, hi] of HI_OF) if (hi !== lo + 1) fail(`the pair at inode word ${lo} is not adjacent`);
  if (ST_HOLDER !== ST_POINTS + OPS.length * 2 || STAT_FIELDS !== ST_HOLDER + OPS.length * OPS.length) fail('lock_stat fields overlap');
  if (BITMAP_BITS_PER_BLOCK % 32 !== 0) fail('a bitmap block does not hold whole words');
  if (LOCK_CLASSES.length !== LC_J_COMMIT + 1) fail('lock classes and their LC_ numbers disagree');
}
checkConstants();
