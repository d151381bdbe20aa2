/*
 * journal.pml: the metadata journal's commit protocol, pending frees and crash recovery, as a
 * Promela model for spin.
 * ext4/jbd2 counterpart: jbd2_journal_start/stop with t_updates and T_LOCKED (the commit barrier),
 * jbd2_journal_commit_transaction in data=ordered mode (flush the data, write the descriptor and
 * metadata blocks, flush, write the commit block, flush, checkpoint in place), mballoc's freed
 * extents released only after their transaction commits (ext4_free_data), and recovery at mount
 * (do_one_pass PASS_SCAN / PASS_REPLAY: a transaction applies only if its commit block is there).
 * In dioread: src/transaction.ts (journalStart/journalStop, commitUpTo, commitLocked, takeSnapshot,
 * copyDirty, logAndCheckpoint, releaseFrees, deviceFlush), src/journal.ts (writeTransaction,
 * scanJournal), src/alloc.ts (allocBlocks, freeBlocks), src/inode.ts (fileTruncate, mapRangeForWrite,
 * syncLocked), src/page-io.ts (endIoNolock), src/super.ts + src/image-check.ts (mount: replay and
 * check). docs/MODEL.md maps every label to its source function.
 *
 * Instance: two files, A (0) and B (1), of one logical block each; two data blocks X (0) and Y (1);
 * a journal of NLOG blocks (block 0 its superblock). At the start the image is clean and committed:
 * A's block is X, written, holding A's bytes; Y is free and holds STALE (what the block held before:
 * never to be shown); B has no block; the log holds one checkpointed transaction (sequence 1: the
 * inode-table block, as a times-only change of A's leaves it) and the superblock names it.
 *   truncA    A's truncate to 0: a handle unmaps X (T_unmap), a later handle frees it (T_free:
 *             pending until a commit that records the free is durable)
 *   writerB   B's write: a handle allocates the lowest free block (UNWRITTEN) or, with none free
 *             and frees pending, commits once and retries (else ENOSPC); the data write; the
 *             conversion in a handle; then sync (syncLocked: commitUpTo, flush if no flush since)
 *   other     NCOMMIT commits by another thread (another file's fsync, close)
 *   crash     at any step: shared memory is lost; of the device writes since the last flush any
 *             subset survives (a data block: any one of the values written to it since, or the
 *             flushed one); then replay as scanJournal does it (from the superblock's start and
 *             sequence, consecutive transactions whose descriptor, data blocks and commit block are
 *             all this transaction's: the crc32c), then the checks
 * A commit that does not fit before the end of the log resets it (logAndCheckpoint: flush the
 * checkpoints, restart at log block 1, write the superblock).
 * Device writes are not ordered among themselves; only a flush orders (fdatasync: everything
 * written before it is durable when it returns).
 *
 * Checks on the replayed image (in `crash`):
 *   invariant 8: it checks clean (what mount and fsck check: every inode's extent record is there,
 *                every claimed block is marked used in the bitmap, no block claimed twice);
 *                a write that sync() covered is there, written, with its bytes
 *   invariant 2: an extent the image says written has its data on the device
 *   invariant 12: no file shows another file's bytes or a block's pre-allocation bytes (STALE)
 * and, while running: a pending free is released only once (releaseFrees' assertion), handles
 * never overlap a snapshot, no deadlock (spin's end-state check).
 *
 * Negative controls (each must make spin print a counterexample):
 *   UNSAFE_NO_JOURNAL                commits write their blocks in place, no log (the engine's
 *                                    test-only unsafeNoJournal; issue 7 bug 2)
 *   UNSAFE_EARLY_REUSE               a freed block is allocatable at once (unsafeEarlyReuse; issue
 *                                    7 bug 3)
 *   UNSAFE_COMMIT_BEFORE_DATA_FLUSH  the commit block is written with no flush since the data
 *                                    writes: writeTransaction's flush before the commit block is
 *                                    left out (jbd2's journal_async_commit; the log's own
 *                                    atomicity still holds: replay checks the crc32c)
 *   UNSAFE_HANDLE_NO_RECHECK         journalStart does not look at the barrier again after it
 *                                    counts itself in (the Dekker pair with the committer broken)
 * and an experiment (not a control: it verifies, see docs/MODEL.md):
 *   ORDERED_FLUSH_BEFORE_LOG         commitLocked also flushes before the log blocks (the engine
 *                                    before ac25887; the flush before the commit block, which the
 *                                    engine keeps, is what orders the data before the commit)
 *   UNSAFE_RESET_SUPER_UNFLUSHED     a log reset writes the new superblock but flushes only with the
 *                                    transaction's blocks (the engine before 5585f11; docs/MODEL.md,
 *                                    bug 3, which this model found; the engine's test symbol of the
 *                                    same name)
 * Instance switches: NDATA (1: X only, so B can only have A's freed block), NCOMMIT, BW2 (B writes
 * its block a second time and syncs again), NLOG, NO_RESET (assert that the log never wraps), REACH
 * (a vacuity probe: a crash after a reset whose replayed image has B on A's freed block).
 */

#ifndef NCOMMIT
#define NCOMMIT 1       /* commits by another thread */
#endif
#define NFILE 2
#define FA 0
#define FB 1
#ifndef NDATA
#define NDATA 2         /* data blocks X = 0 and Y = 1 (NDATA 1: X only, so B can only reuse A's) */
#endif
#ifndef NLOG
#define NLOG 16         /* journal blocks: 0 the superblock, 1..NLOG-1 the log (LOG_FIRST 1) */
#endif
#define LOG_FIRST 1
#define MAXSEQ (6 + NCOMMIT)   /* sequences: 1 in the log at the start, then one per commit (asserted) */

/* a data block's bytes: STALE, A's, or B's first or second write (generation 1, 2) */
#define STALE 0
#define DA 1
#define DB1 2
#define DB2 3
#define OWN(f, v) ((f) == FA && (v) == DA || (f) == FB && ((v) == DB1 || (v) == DB2))

/* an extent record (one block at lblk 0): none, UNWRITTEN at p, written at p */
#define XNONE 0
#define XUNW(p) (1 + (p))
#define XWR(p) (1 + NDATA + (p))
#define XISWR(x) ((x) > NDATA)
#define XPB(x) (((x) - 1) % NDATA)

/* metadata blocks on the device: the inode table block (bit f: file f has one extent), the extent
   blocks of A and B, the bitmap block (bit p: block p used), the journal's superblock (start and
   sequence), and the log blocks 1..NLOG-1 */
#define M_IT 0
#define M_EXT(f) (1 + (f))
#define M_BM 3
#define M_JS 4
#define M_LOG(i) (4 + (i))
#define NMB (4 + NLOG)
#define NIMG 4          /* the metadata a transaction carries: M_IT, M_EXT(0), M_EXT(1), M_BM */
/* in a transaction they come in buildPieces' order: the bitmap block, then the inode-table block,
   then the extent blocks (oi = 0..3 -> m = IMG_ORDER(oi)) */
#define IMG_ORDER(oi) (((oi) + 3) % 4)

/* a log block: which transaction (sequence) wrote it and as what; the crc32c and the magic
   numbers make any other content count as "not this transaction's" */
#define LV(seq, role) ((seq) * 8 + (role))
#define R_DESC 1
#define R_DATA(i) (2 + (i))
#define R_COMMIT 6
/* the journal superblock: the log's start (0: empty) and the sequence found there */
#define JSV(start, seq) ((start) * 16 + (seq))

/* ================================================================ in memory (lost at the crash) */

byte ext[NFILE];        /* the extent map (one record per file: the tree's one leaf) */
bit cnt[NFILE];         /* I_EXTENT_COUNT / I_BLOCKS: 0 or 1 */
byte bm;                /* the block bitmap (bit p) */
byte pend;              /* pending frees (H_PENDING bits): set in bm, free once committed */
bit idirty[NFILE];      /* I_META_DIRTY */
bit edirty[NFILE];      /* the file's tree nodes changed (extent-nodes.ts dirty list, I_DIRTY_HEAD) */
bit bmdirty;            /* the bitmap block's dirty word */
byte updates;           /* H_J_UPDATES: handles in flight */
bit barrier;            /* H_J_BARRIER */
byte jtid = 1;          /* H_J_TID: the running transaction */
byte committed;         /* H_J_COMMITTED_TID */
byte cmutex;            /* H_J_COMMIT_LOCK (j_commit_mutex): owner pid */
byte jhead;             /* H_J_HEAD: the next log block */
byte jseq;              /* H_J_SEQ: the next transaction's sequence */
byte jstart;            /* H_J_START: the log's start as the superblock has it (0: not yet written) */
byte resets;            /* H_J_RESETS */
byte fstarted;          /* H_FLUSH_STARTED */
byte fdone;             /* H_FLUSH_DONE */

/* ================================================================ on the device */

byte mdur[NMB];         /* a metadata block as of the last flush */
byte mpen[NMB];         /* what was written to it since */
bit mhas[NMB];          /* written since the last flush */
byte tximg[MAXSEQ * NIMG];  /* the images transaction `seq` carries in its data blocks */
byte txhas[MAXSEQ];     /* which: bit m for M_IT, M_EXT(f), M_BM */
byte ddur[NDATA];       /* a data block as of the last flush */
byte dlast[NDATA];      /* the last value written to it */
byte dmask[NDATA];      /* the values written to it since the last flush (bit v) */

/* ghost */
bit crashed;
byte synced;            /* B's syncs that returned (its last write then: generation `synced`) */
bit insnap;             /* a committer is between its barrier drain and its copy's end */

#define ME _pid

/* ================================================================ the device */

/* writeMeta of block m (not yet durable). One unflushed write per block is all the protocol
   makes: asserted, so that "durable or the pending one" is every outcome a crash can have. */
inline mwrite(m, v) {
  assert(!mhas[m]);     /* model bound: no second write to a metadata block before a flush */
  mpen[m] = v; mhas[m] = 1
}

/* writeBlocks of data block p */
inline dwrite(p, v) {
  dlast[p] = v; dmask[p] = dmask[p] | (1 << v)
}

/* dev.flush() (fdatasync): everything written before it is durable */
inline flush() {
  for (fx : 0 .. NMB - 1) { if :: mhas[fx] -> mdur[fx] = mpen[fx]; mhas[fx] = 0 :: else fi };
  for (fx : 0 .. NDATA - 1) { if :: dmask[fx] -> ddur[fx] = dlast[fx]; dmask[fx] = 0 :: else fi };
  fx = 0
}

/* deviceFlush: countFlushes around dev.flush() */
inline device_flush() {
  atomic { fstarted++; mine = fstarted };
  atomic { flush() };
  atomic { if :: fdone < mine -> fdone = mine :: else fi; mine = 0 }
}

/* ================================================================ handles (transaction.ts) */

/* journalStart: if the barrier is down, count in, and look again (Dekker with the committer's
   barrier store, then updates load); up: back out and wait for it to come down */
inline handle_start() {
  do
  :: barrier == 0 ->                                 /* Atomics.load(H_J_BARRIER) === 0 (else wait) */
     updates++;
#ifndef UNSAFE_HANDLE_NO_RECHECK
     if
     :: barrier == 0 -> break                        /* in */
     :: else -> updates--                            /* back out (notify), wait, retry */
     fi
#else
     break
#endif
  od
}

/* journalStop */
inline handle_stop() {
  atomic { assert(updates > 0); updates-- }
}

/* a change inside a handle: never while a committer copies */
#define HANDLE_CHANGE assert(!insnap)

/* ================================================================ the commit (transaction.ts) */

/* commitLocked with j_commit_mutex held: the snapshot at the barrier, then (if it holds anything)
   ordered mode: flush, log blocks, flush, commit block, flush, checkpoint in place; then release
   the frees the snapshot recorded; then the committed tid */
inline commit_locked() {
  barrier = 1;                                       /* takeSnapshot: raise the barrier (C_barrier) */
C_drain:
  atomic {
    updates == 0 ->                                  /* waitForHandles */
    insnap = 1;
    s_tid = jtid; jtid++                             /* the snapshot's tid; new handles join the next */
  };
C_copy:
  atomic {                                           /* copyDirty: inode records and extent records */
    for (ci : 0 .. NFILE - 1) {
      if
      :: idirty[ci] ->
         s_has = s_has | (1 << M_IT); idirty[ci] = 0;
         if
         :: edirty[ci] && cnt[ci] > 0 ->             /* the changed records below the extent count */
            s_has = s_has | (1 << M_EXT(ci)); s_img[M_EXT(ci)] = ext[ci]
         :: else
         fi;
         edirty[ci] = 0
      :: else
      fi
    };
    ci = 0;
    s_img[M_IT] = cnt[0] | (cnt[1] << 1)             /* the whole inode-table block, as in memory */
  };
C_copy_bitmap:
  atomic {                                           /* copyDirty: the dirty bitmap block (alloc_lock) */
    if
    :: bmdirty -> bmdirty = 0; s_has = s_has | (1 << M_BM); s_img[M_BM] = bm & ~pend; s_pend = pend
    :: else
    fi;
    insnap = 0
  };
C_lift:
  barrier = 0;
  if
  :: s_has != 0 ->
#ifdef UNSAFE_NO_JOURNAL
C_flush_data:
     device_flush();
C_in_place:                                          /* logAndCheckpoint's unsafeNoJournal branch */
     atomic { for (ci : 0 .. NIMG - 1) { if :: s_has & (1 << ci) -> mwrite(ci, s_img[ci]) :: else fi }; ci = 0 };
     device_flush()
#else
#if defined(ORDERED_FLUSH_BEFORE_LOG) && !defined(UNSAFE_COMMIT_BEFORE_DATA_FLUSH)
C_flush_data:                                        /* the engine before ac25887: a flush before */
     device_flush();                                 /* the log too (writeTransaction's covers it) */
#endif
C_log_room:
     atomic {                                        /* logAndCheckpoint: does it fit before the end? */
       k = 0; for (ci : 0 .. NIMG - 1) { if :: s_has & (1 << ci) -> k++ :: else fi }; ci = 0;
       pos = jhead; reset = (pos + k + 2 > NLOG);
#ifdef NO_RESET
       assert(!reset);                               /* instance bound: this log never wraps */
#endif
       skip
     };
     if
     :: reset ->
C_reset:                                             /* the log wrap: checkpoints durable, restart */
        device_flush();
        atomic { resets++; pos = LOG_FIRST; jstart = 0; reset = 0 };
#ifndef UNSAFE_RESET_SUPER_UNFLUSHED
C_reset_super:                                       /* the new start is durable before any */
        atomic { mwrite(M_JS, JSV(LOG_FIRST, jseq)); jstart = LOG_FIRST };   /* old log block is overwritten */
        device_flush();
#endif
        skip
     :: else
     fi;
C_log:
     atomic {
       if :: jstart == 0 -> assert(pos < 16); mwrite(M_JS, JSV(pos, jseq)); jstart = pos :: else fi;   /* writeJournalSuper */
       fstarted++; mine = fstarted;                  /* countFlushes around writeTransaction */
       assert(jseq < MAXSEQ);                        /* model bound */
       txhas[jseq] = s_has;
       for (ci : 0 .. NIMG - 1) { tximg[jseq * NIMG + ci] = s_img[ci] };
       mwrite(M_LOG(pos), LV(jseq, R_DESC));         /* writeTransaction: the descriptor, the data blocks */
       i = 0;
       for (ci : 0 .. NIMG - 1) {
         if
         :: s_has & (1 << IMG_ORDER(ci)) -> i++; mwrite(M_LOG(pos + i), LV(jseq, R_DATA(i - 1)))
         :: else
         fi
       };
       ci = 0; i = 0
     };
#ifndef UNSAFE_COMMIT_BEFORE_DATA_FLUSH
C_flush_log:
     atomic { flush() };                             /* the log blocks are durable before the commit block */
#endif
C_commit_block:
     atomic { mwrite(M_LOG(pos + k + 1), LV(jseq, R_COMMIT)) };
C_flush_commit:
     atomic { flush() };
     atomic { if :: fdone < mine -> fdone = mine :: else fi; mine = 0; jhead = pos + k + 2; jseq++; pos = 0; k = 0 };
C_checkpoint:
     atomic { for (ci : 0 .. NIMG - 1) { if :: s_has & (1 << ci) -> mwrite(ci, s_img[ci]) :: else fi }; ci = 0 }
#endif
  :: else
  fi;
C_release:
  atomic {                                           /* releaseFrees (alloc_lock), then H_J_COMMITTED_TID */
    if
    :: s_has & (1 << M_BM) ->
       assert((pend & s_pend) == s_pend);            /* no pending free lost before its commit */
       bm = bm & ~s_pend; pend = pend & ~s_pend
    :: else
    fi;
    committed = s_tid;
    s_tid = 0; s_has = 0; s_pend = 0;
    for (ci : 0 .. NIMG - 1) { s_img[ci] = 0 }; ci = 0
  }
}

/* commitUpTo(tid): nothing if a commit since covered it (group commit), else take
   j_commit_mutex, look again, commit; release the mutex */
inline commit_up_to(tid) {
  if
  :: committed >= tid -> skip
  :: else ->
     atomic { cmutex == 0 -> cmutex = ME; go = (committed < tid) };
     if
     :: go ->
C_barrier: commit_locked()
     :: else
     fi;
     atomic { cmutex = 0; go = 0 }
  fi
}

/* ================================================================ the threads */

/* fileTruncate of A to 0 (its page-cache steps are dioread.pml's): unmap in one handle, free the
   blocks in a later one */
proctype truncA() {
  byte p;
  handle_start();
T_unmap:                                             /* truncateExtents, then I_BLOCKS, markInodeDirty */
  atomic { HANDLE_CHANGE; p = XPB(ext[FA]); ext[FA] = XNONE; edirty[FA] = 1 };   /* a handle's change: no snapshot under way */
  atomic { HANDLE_CHANGE; cnt[FA] = 0; idirty[FA] = 1 };   /* a handle's change: no snapshot under way */
  handle_stop();
  handle_start();
T_free:                                              /* freeBlocks */
  atomic {
    HANDLE_CHANGE;
    assert(bm & (1 << p)); assert(!(pend & (1 << p)));
#ifndef UNSAFE_EARLY_REUSE
    pend = pend | (1 << p);                          /* pending until the commit that records it */
#else
    bm = bm & ~(1 << p);                             /* unallocBlocks: allocatable at once */
#endif
    bmdirty = 1
  };
  handle_stop()
}

/* B's write of its block, then fsync (the conversion by syncLocked's flushCompletedIO or the
   worker: the same handle) */
proctype writerB() {
  byte p, s_tid, s_has, s_pend, mine, pos, k, i, ci, fx, mark, tid;
  byte s_img[NIMG];
  bit got, retried, go, reset;
W_alloc:
  handle_start();
  atomic {                                           /* allocBlocks (alloc_lock): the lowest free block */
    HANDLE_CHANGE;
    if
    :: !(bm & 1) -> p = 0; got = 1
    :: NDATA > 1 && (bm & 1) && !(bm & 2) -> p = 1; got = 1
    :: else -> got = 0
    fi;
    if :: got -> bm = bm | (1 << p); bmdirty = 1 :: else fi
  };
  if
  :: got ->
W_insert:                                            /* insertAllocated: the UNWRITTEN extent */
     atomic { HANDLE_CHANGE; ext[FB] = XUNW(p); cnt[FB] = 1; edirty[FB] = 1; idirty[FB] = 1 }
  :: else
  fi;
  handle_stop();
  if
  :: !got && pend != 0 && !retried ->                /* ext4_should_retry_alloc: commit once, retry */
     retried = 1; tid = jtid; goto W_commit
  :: !got && (pend == 0 || retried) -> goto W_end     /* ENOSPC: nothing changed */
  :: got
  fi;
W_data:                                              /* writeback: the data write */
  atomic { dwrite(p, DB1) };
W_convert:                                           /* endIoNolock: convertUnwritten in a handle */
  handle_start();
  atomic { HANDLE_CHANGE; ext[FB] = XWR(p); edirty[FB] = 1; idirty[FB] = 1 };
  handle_stop();
W_sync:                                              /* syncLocked: mark, commitUpTo(runningTid) */
  mark = fstarted;
  tid = jtid;
W_commit:                                            /* (also the retry's commitNow, then back to W_alloc) */
  commit_up_to(tid);
  if :: !got -> tid = 0; goto W_alloc :: else fi;
  if :: fdone <= mark -> device_flush() :: else fi;  /* no flush since the mark finished: flush */
  atomic { synced++; tid = 0; mark = 0 };
#ifdef BW2
  if
  :: synced == 1 ->                                  /* B overwrites its (written) block and syncs again */
W2_touch:
     handle_start();                                 /* touchData: the times, in a handle */
     atomic { HANDLE_CHANGE; idirty[FB] = 1 };
     handle_stop();
W2_data:
     atomic { dwrite(p, DB2) };                      /* writeback in place: no allocation, no conversion */
     goto W_sync
  :: else
  fi;
#endif
W_end:
  skip
}

/* another thread's commits (another file's fsync, close): commitNow */
proctype other() {
  byte s_tid, s_has, s_pend, mine, pos, k, i, ci, fx, tid, n;
  byte s_img[NIMG];
  bit go, reset;
  do
  :: n < NCOMMIT ->
O_commit:
     tid = jtid; commit_up_to(tid); atomic { tid = 0; n++ }
  :: else -> break
  od
}

/* ================================================================ the crash, replay, checks */

/* the crash: a block with writes since the last flush holds the flushed value or one written since */
inline survive_meta(m) {
  img[m] = mdur[m];
  if :: mhas[m] -> if :: img[m] = mpen[m] :: skip fi :: else fi
}

proctype crash() {
  byte img[NMB], dat[NDATA], m, p, t, x, claimed, f, pos, sq, k, i;
  bit ok;
  atomic {
    !crashed -> crashed = 1;
    for (m : 0 .. NMB - 1) { survive_meta(m) };
    for (p : 0 .. NDATA - 1) {
      dat[p] = ddur[p];
      if
      :: dmask[p] & (1 << STALE) -> dat[p] = STALE
      :: dmask[p] & (1 << DA) -> dat[p] = DA
      :: dmask[p] & (1 << DB1) -> dat[p] = DB1
      :: dmask[p] & (1 << DB2) -> dat[p] = DB2
      :: skip
      fi
    };
R_replay:                                            /* mount: scanJournal from the superblock, replay */
    pos = img[M_JS] / 16; sq = img[M_JS] % 16;
    do
    :: pos == 0 -> break                             /* start 0: an empty log */
    :: pos != 0 ->                                   /* readTransaction(pos, sq) */
       ok = (pos < NLOG && img[M_LOG(pos)] == LV(sq, R_DESC));
       if
       :: ok ->
          k = 0; for (i : 0 .. NIMG - 1) { if :: txhas[sq] & (1 << i) -> k++ :: else fi };
          ok = (pos + 1 + k < NLOG);
          if
          :: ok ->
             for (i : 1 .. k) { if :: img[M_LOG(pos + i)] != LV(sq, R_DATA(i - 1)) -> ok = 0 :: else fi };
             if :: img[M_LOG(pos + k + 1)] != LV(sq, R_COMMIT) -> ok = 0 :: else fi
          :: else
          fi
       :: else
       fi;
       if
       :: ok ->                                      /* a committed transaction: apply its images */
          for (m : 0 .. NIMG - 1) { if :: txhas[sq] & (1 << m) -> img[m] = tximg[sq * NIMG + m] :: else fi };
          pos = pos + k + 2; sq++
       :: else -> break                              /* the first one that does not check ends the log */
       fi
    od;
R_check:                                             /* readImage's checks, and what reads would show */
    for (f : 0 .. NFILE - 1) {
      if
      :: img[M_IT] & (1 << f) ->
         x = img[M_EXT(f)];
         assert(x != XNONE);                         /* invariant 8: the inode's extent record is on the image */
         p = XPB(x);
         assert(!(claimed & (1 << p)));              /* invariant 12: no block claimed by two files */
         claimed = claimed | (1 << p);
         assert(img[M_BM] & (1 << p));               /* invariant 8: a claimed block is marked used */
         if
         :: XISWR(x) -> assert(OWN(f, dat[p]))       /* invariants 2, 12: written extent, its own bytes */
         :: else
         fi
      :: else
      fi
    };
    if
    :: synced > 0 ->                                 /* invariant 8: what sync() covered is intact */
       assert((img[M_IT] & (1 << FB)) && XISWR(img[M_EXT(FB)]) && dat[XPB(img[M_EXT(FB)])] >= DB1 + synced - 1)
    :: else
    fi;
#ifdef REACH
    /* vacuity probe (expects a counterexample): after a log reset, the replayed image has B's
       block written at X, the block A's truncate freed */
    assert(!(resets > 0 && (img[M_IT] & (1 << FB)) && img[M_EXT(FB)] == XWR(0)));   /* probe reached */
#endif
    for (m : 0 .. NMB - 1) { img[m] = 0 }; for (p : 0 .. NDATA - 1) { dat[p] = 0 };
    m = 0; p = 0; t = 0; x = 0; claimed = 0; f = 0; pos = 0; sq = 0; k = 0; i = 0; ok = 0
  }
}

init {
  atomic {
    /* the committed, clean image: A's block X written with A's bytes; Y free, STALE */
    ext[FA] = XWR(0); cnt[FA] = 1; bm = 1;
    mdur[M_IT] = 1; mdur[M_EXT(FA)] = XWR(0); mdur[M_BM] = 1;
    ddur[0] = DA;
#ifndef UNSAFE_NO_JOURNAL
    /* the log: transaction 1 (the inode-table block), checkpointed; the superblock names it */
    mdur[M_JS] = JSV(LOG_FIRST, 1);
    mdur[M_LOG(1)] = LV(1, R_DESC); mdur[M_LOG(2)] = LV(1, R_DATA(0)); mdur[M_LOG(3)] = LV(1, R_COMMIT);
    txhas[1] = 1 << M_IT; tximg[1 * NIMG + M_IT] = 1;
    jhead = 4; jseq = 2; jstart = LOG_FIRST;
#else
    mdur[M_JS] = JSV(0, 1); jhead = LOG_FIRST; jseq = 1;   /* mount emptied the log; nothing writes one */
#endif
#if NDATA > 1
    ddur[1] = STALE;
#endif
    run crash();                                     /* first: spin's search tries it last, so */
    run truncA();                                    /* trails crash late, as in the interleaving */
    run writerB();                                   /* that matters */
#if NCOMMIT > 0
    run other();
#endif
  }
}
