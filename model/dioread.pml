/*
 * dioread.pml: the dioread_nolock ordering protocol of the engine, as a Promela model for spin.
 * ext4 counterpart: the protocol of the seed patch (ext4_get_block_write, ext4_set_bh_endio,
 * ext4_end_io_buffer_write, ext4_end_io_work, flush_completed_IO, ext4_invalidatepage_free_endio)
 * with the lockless reader of dioread_nolock and the fix of commit dccaf33f.
 * docs/MODEL.md maps every proctype, inline and label here to the source function it models and
 * says what is abstracted away and why that is sound.
 *
 * One inode with NB logical blocks, NF page frames, NP physical blocks, NIO io_ends. A block's
 * bytes are one small number: STALE (what the block held before it was allocated: never to be
 * read), 0 (zeros), TORN (a frame whose bytes are changing) or VAL(b, g), the bytes write
 * generation g put in block b. Writes are whole-block.
 *
 * Atomicity (see docs/MODEL.md, "Granularity"): a lock acquisition is merged with the step after
 * it and a release with the step before it (acquires move right, releases move left), so every
 * section under i_completed_io_lock or the mapping lock is one step, and so is every extent-table
 * write section (seqlock readers validate, so they never act on a torn table). What a lockless
 * reader can observe stays split: the page seqcount section of a write (the frame is TORN inside
 * it), the reader's sample/copy/recheck, the device read and its revalidation.
 *
 * The model is the engine as implemented (commit 53e93ce has the fixes for the two protocol bugs
 * this model found: docs/MODEL.md, "Bugs found and fixed"). The page hash's lock-free walk is in
 * model/pagehash.pml, the journal's commit protocol and crash recovery in model/journal.pml.
 *
 * Negative controls (each must make spin print a counterexample):
 *   UNSAFE_EARLY_WRITTEN                 extents are written at allocation (no UNWRITTEN phase)
 *   UNSAFE_UNPIN_AT_WRITEBACK            writeback leaves the page unpinned and not UNINIT (dccaf33f)
 *   UNSAFE_HOLD_SPINLOCK_ACROSS_CONVERT  flush_completed_IO keeps i_completed_io_lock across the conversion
 *   UNSAFE_NO_UNLINK_UNDER_LOCK          the converter unlinks its io_end without i_completed_io_lock
 *   UNSAFE_TRUNCATE_DROP_BEFORE_UNMAP    fileTruncate discards and drops the dirty pages before it
 *                                        unmaps the blocks (bug 1, the code before 53e93ce)
 *   UNSAFE_DIRECT_COMPARE_MAPPING        readDirectSlow, when I_SEQ moved, compares the first block's
 *                                        mapping instead of reading again (bug 2, before 53e93ce)
 *   UNSAFE_UNMAP_SEQ_NOT_BUMPED          truncate's unmap leaves I_UNMAP_SEQ alone (only I_SEQ moves), so
 *                                        a direct read of written blocks trusts a run truncated away
 * and the liveness check's own control (model only, no engine counterpart):
 *   UNSAFE_LOST_WAKEUP                   endIoWrite links the io_end but never queues the conversion
 * Instance switches (scripts/model.mjs picks them): sizes NB NF NP NIO; writers NW WOPS WB0 WB1
 * WSEQ; readers RREADS RB DB DRUN; truncate NTRUNC TK; pressure NEVICT; another file FOREIGN_FILE
 * NFOREIGN; processes left out NO_WORKER NO_FLUSHER NO_EVICT NO_FSYNC NO_READER NO_DREADER
 * NO_MONITOR; the liveness property LTL_CONVERTED.
 */

#ifndef NB
#define NB 2            /* logical blocks of the inode */
#endif
#ifndef NF
#define NF 2            /* page-cache frames (1..3) */
#endif
#ifndef NP
#define NP 2            /* physical blocks (2..3; a write that finds none fails with ENOSPC) */
#endif
#ifndef NIO
#define NIO 2           /* io_end pool */
#endif
#ifndef NW
#define NW 2            /* buffered writers (1..2) */
#endif
#ifndef WOPS
#define WOPS 1          /* writes per writer */
#endif
#ifndef NTRUNC
#define NTRUNC 1        /* truncates (0..2) */
#endif
#ifndef RREADS
#define RREADS 1        /* reads per reader */
#endif
#define NR 2            /* lockless readers: 0 buffered, 1 direct */

/* WSEQ (optional): writer 1 writes block (WSEQ >> n) & 1 in its n-th write */
/* which blocks a writer may write: writer 1 any of WB0..., writer 2 any of WB1... (bit masks) */
#ifndef WB0
#define WB0 3
#endif
#ifndef WB1
#define WB1 3
#endif
#ifndef RB
#define RB 3            /* blocks the buffered reader may read (bit mask) */
#endif
#ifndef DB
#define DB 3            /* blocks the direct reader may read (bit mask) */
#endif
#ifndef TK
#define TK 3            /* what the truncate may keep: bit 0 keep 0 blocks, bit 1 keep 1 block */
#endif
#ifndef NFOREIGN
#define NFOREIGN 1      /* allocations by another file (FOREIGN switches that process on) */
#endif
#ifndef NEVICT
#define NEVICT 2        /* evictions by the evictor (memory pressure from other files) */
#endif

#ifdef NO_FSYNC
#define NFIN_FSYNC 0
#else
#define NFIN_FSYNC 1
#endif
#if NTRUNC > 0
#define NFIN_TRUNC 1
#else
#define NFIN_TRUNC 0
#endif
#define NFIN (NW + NFIN_TRUNC + NFIN_FSYNC)   /* finite processes the monitor waits for */

#define NIL 255
#define STALE 99
#define TORN 98
#define FOREIGN 77      /* another file's bytes */
#define VAL(b, g) (10 * ((b) + 1) + (g))
#define BLK(v) ((v) / 10 - 1)
#define GEN(v) ((v) % 10)

/* extent states: no extent, EXT_UNWRITTEN, written */
#define HOLE 0
#define UNW 1
#define WR 2

/* page flags, as src/shm/layout.ts */
#define PG_UPTODATE 1
#define PG_DIRTY 2
#define PG_WRITEBACK 4
#define PG_UNINIT 8

#define IOS_FREE 0
#define IOS_ALLOCATED 1

#define ME _pid

/* ================================================================ shared state */

typedef Page {
  byte idx = NIL;       /* P_INDEX: the block it caches; NIL: a free frame */
  byte flags;           /* P_FLAGS */
  byte lk;              /* P_LOCK: owner pid, 0 if free */
  byte ref;             /* P_REFCOUNT */
  bit odd;              /* P_SEQ is odd */
  byte data;            /* the frame's bytes */
  byte pblk = NIL;      /* P_PBLK */
}
Page pg[NF];
byte psamp[NR] = NIL;   /* the frame whose P_SEQ reader r sampled, NIL if none */
bit pmoved[NR];         /* that P_SEQ moved since (a seqcount that cannot wrap around) */

byte ext[NB];           /* the extent map: HOLE, UNW or WR */
byte epb[NB];           /* the extent's physical block */
bit pused[NP];          /* the block bitmap */
byte dev[NP];           /* the device */
bit isamp[NR];          /* reader r holds a sample of I_SEQ */
bit imoved[NR];         /* I_SEQ moved since */
bit umoved[NR];         /* I_UNMAP_SEQ moved since reader r's I_SEQ sample (sampled with it) */

byte mutex;             /* I_MUTEX: owner pid */
byte spin;              /* I_COMPLETED_LOCK, i_completed_io_lock: owner pid */

typedef IoEnd {
  byte state;           /* IO_STATE */
  bit linked;           /* IO_LINKED */
  bit unw;              /* IO_FLAG == EXT4_IO_UNWRITTEN */
  byte lblk = NIL;      /* IO_LBLK; IO_COUNT is 1 (one-page runs) */
  byte page = NIL;      /* IO_PAGE: the pinned frame, NIL if none */
  byte next = NIL;      /* IO_NEXT */
  byte prev = NIL;      /* IO_PREV */
  bit conv;             /* ghost: converted since it was allocated */
}
IoEnd io[NIO];
byte nfree = NIO;       /* H_IOEND_FREE_COUNT */
byte head = NIL;        /* I_COMPLETED_HEAD */
byte tail = NIL;        /* I_COMPLETED_TAIL */
byte clen;              /* I_COMPLETED_LEN */

bit queued;             /* I_WQ_QUEUED */
bit ring;               /* the conversion ring holds the inode (one inode: at most one entry) */
bit rung;               /* H_DOORBELL moved since the worker sampled it */

/* ghost state for the properties */
byte nextgen = 1;       /* the next write generation (taken under i_mutex: completion order) */
byte lo[NB];            /* oldest generation a read of b that begins now may return */
bit zok[NB];            /* a read of b that begins now may return zeros */
byte tprog;             /* blocks (bit mask) that a truncate in progress drops */
byte rmask[NR];         /* blocks (bit mask) reader r is reading */
byte rz[NR];            /* blocks of that read a truncate overlapped: zeros are fine there */
byte ndone;             /* finite processes finished */
bit wk_idle = 1;        /* the conversion worker sleeps on its doorbell */
byte in_wb;             /* writebackPage calls in flight */

/* ================================================================ helpers */

/* the I/O points: i_completed_io_lock is never held across I/O (invariant 5) */
#define IO_POINT assert(spin != ME)

/* a P_SEQ write section of frame p: every reader's sample of it is stale */
inline page_seq_touch(p) {
  for (k2 : 0 .. NR - 1) { if :: psamp[k2] == p -> pmoved[k2] = 1 :: else fi }
}

/* seqWriteBegin(I_SEQ) ... seqWriteEnd, as one step; the extent table changes only in here,
   only under i_mutex */
inline ext_section() {
  assert(mutex == ME);
  for (k2 : 0 .. NR - 1) { if :: isamp[k2] -> imoved[k2] = 1 :: else fi }
}

/* an I_SEQ section that takes mappings away (truncate's unmap; the engine's punch and zero range
   too): it also bumps I_UNMAP_SEQ (unmapSeqBump), which is all a direct read of WRITTEN blocks
   re-checks. Allocation and conversion (ext_section alone) never take a written mapping away. */
inline unmap_section() {
  ext_section();
  for (k2 : 0 .. NR - 1) { if :: isamp[k2] -> umoved[k2] = 1 :: else fi }
}

/* findPage / lookupLocked (the page hash, as a scan): the frame caching b, or NIL */
inline lookup(b, p) {
  p = NIL;
  for (k : 0 .. NF - 1) {
    if
    :: pg[k].idx == b -> assert(p == NIL); p = k   /* one page per block */
    :: else
    fi
  };
  k = 0
}

/* unlockPage + putPage (a release: merged into the step before it by the caller) */
inline page_unlock_put(p) {
  assert(pg[p].lk == ME); pg[p].lk = 0;
  assert(pg[p].ref > 0); pg[p].ref--
}

/* ================================================================ the completed list */

/* i_completed_io_list is consistent: head..tail by next, prev mirrors next, clen entries, all LINKED */
inline list_check() {
  lc_n = 0; lc_prev = NIL; lc_i = head;
  do
  :: lc_i != NIL ->
     assert(lc_n < NIO);
     assert(io[lc_i].linked && io[lc_i].state == IOS_ALLOCATED && io[lc_i].prev == lc_prev);
     lc_prev = lc_i; lc_i = io[lc_i].next; lc_n++
  :: else -> break
  od;
  assert(lc_prev == tail && lc_n == clen);
  lc_n = 0; lc_prev = 0; lc_i = 0
}

/* list_add_tail; the caller holds the spinlock */
inline list_add_tail(i) {
  assert(spin == ME && io[i].state == IOS_ALLOCATED && !io[i].linked);
  io[i].prev = tail; io[i].next = NIL;
  if :: tail != NIL -> io[tail].next = i :: else -> head = i fi;
  tail = i; io[i].linked = 1; clen++;
  list_check()
}

/* unlinkLocked (list_del_init); the caller holds the spinlock */
inline unlink_locked(i) {
  assert(spin == ME && io[i].state == IOS_ALLOCATED && io[i].linked);
  ul_p = io[i].prev; ul_n = io[i].next;
  if :: ul_p != NIL -> io[ul_p].next = ul_n :: else -> head = ul_n fi;
  if :: ul_n != NIL -> io[ul_n].prev = ul_p :: else -> tail = ul_p fi;
  io[i].prev = NIL; io[i].next = NIL; io[i].linked = 0; clen--;
  ul_p = 0; ul_n = 0;
  list_check()
}

/* the same stores one by one, without the lock (the UNSAFE_NO_UNLINK_UNDER_LOCK control) */
inline unlink_unlocked(i) {
  ul_p = io[i].prev;
  ul_n = io[i].next;
  if :: ul_p != NIL -> io[ul_p].next = ul_n :: else -> head = ul_n fi;
  if :: ul_n != NIL -> io[ul_n].prev = ul_p :: else -> tail = ul_p fi;
  io[i].prev = NIL;
  io[i].next = NIL;
  atomic { io[i].linked = 0; clen--; ul_p = 0; ul_n = 0 }
}

/* ================================================================ io_end lifecycle (src/page-io.ts) */

/* the allocation itself (the pool lock's section): the lowest free record */
inline io_take(i) {
  i = 0;
  do :: io[i].state == IOS_FREE -> break :: else -> i++ od;
  io[i].state = IOS_ALLOCATED; io[i].unw = 0; io[i].lblk = NIL; io[i].page = NIL;
  io[i].next = NIL; io[i].prev = NIL; io[i].linked = 0; io[i].conv = 0;
  nfree--
}

/* allocIoEnd: take a free record. With the pool empty a mutex holder drains its own list (the
   worker would need that mutex); then kick the worker and wait for a free (Atomics.wait, retry). */
inline alloc_io_end(i, held) {
  do
  :: atomic { nfree > 0 -> io_take(i) };
     break
  :: atomic { nfree == 0 -> rung = 1 };                /* kickConversionWorker */
     if :: held -> flush_completed_io(0) :: else fi;
     atomic { (nfree > 0 || (held && head != NIL)) -> assert(spin != ME) }   /* the wait */
  od
}

/* freeIoEnd: the caller owns the record, unlinked; put its page pin, return it to the pool */
inline free_io_end(i) {
  assert(io[i].state == IOS_ALLOCATED);               /* freed exactly once, never used after */
  assert(!io[i].linked);                              /* not while on the completed list */
  if
  :: io[i].page != NIL ->
     lookup(io[i].lblk, fp);                          /* unpinRange: findPageSure, putPage */
     assert(fp != NIL && fp == io[i].page);           /* the pinned page is still cached */
     assert(pg[fp].ref > 0);
     pg[fp].ref--; fp = 0
  :: else
  fi;
  io[i].page = NIL; io[i].lblk = NIL; io[i].unw = 0; io[i].conv = 0; io[i].state = IOS_FREE; nfree++
}

/* queueConversion: put the inode on the ring once (I_WQ_QUEUED), then ring the doorbell */
inline queue_conversion(kick) {
  atomic { if :: queued == 0 -> queued = 1; qpush = 1 :: else -> qpush = 0 fi };
  if
  :: qpush ->
     atomic { assert(ring == 0); ring = 1; qpush = 0; if :: kick -> rung = 1 :: else fi }
  :: else
  fi
}

/* endIoNolock (ext4_end_io_nolock) of io_end i: if it is still EXT4_IO_UNWRITTEN, convert its
   block inside the inode seqlock section, clear the flag, and clear PG_UNINIT of its cached page.
   The caller holds i_mutex, which is what makes the flag test and the conversion one step. */
inline end_io_nolock(i) {
  assert(io[i].state == IOS_ALLOCATED);               /* never used after free */
  assert(mutex == ME);
  if
  :: io[i].unw ->
     assert(spin != ME);                              /* invariant 5: not across a conversion */
     assert(!io[i].conv);                             /* no double conversion */
     ext_section();
     if
     :: ext[io[i].lblk] == UNW ->
        assert(BLK(dev[epb[io[i].lblk]]) == io[i].lblk);   /* invariant 2: the data write completed first */
        ext[io[i].lblk] = WR
     :: else                                          /* a hole (truncated) is skipped */
     fi;
     io[i].unw = 0; io[i].conv = 1;
     if
     :: io[i].page != NIL ->
        lookup(io[i].lblk, cp);
        if :: cp != NIL -> pg[cp].flags = pg[cp].flags & ~PG_UNINIT :: else fi;
        cp = 0
     :: else
     fi
  :: else
  fi
}

/* flushCompletedIO (flush_completed_IO): the caller holds i_mutex. Peek the head under the
   spinlock, drop it, convert, retake it, unlink, drop it, free; until the list is empty.
   rel: the caller releases i_mutex right after (merged into the last step) */
inline flush_completed_io(rel) {
  assert(mutex == ME);
  do
  :: atomic {
       spin == 0 -> spin = ME;                        /* spin_lock */
       if
       :: head != NIL -> fio = head; fl_more = 1
       :: else -> fl_more = 0; spin = 0;              /* empty: spin_unlock, done */
          if :: rel -> mutex = 0 :: else fi
       fi;
#ifndef UNSAFE_HOLD_SPINLOCK_ACROSS_CONVERT
       if :: fl_more -> spin = 0 :: else fi           /* spin_unlock around the conversion */
#endif
     };
     if
     :: fl_more ->
        atomic { end_io_nolock(fio) };
#ifdef UNSAFE_NO_UNLINK_UNDER_LOCK
#ifdef UNSAFE_HOLD_SPINLOCK_ACROSS_CONVERT
        spin = 0;
#endif
        unlink_unlocked(fio);
        atomic { free_io_end(fio); fio = 0; fl_more = 0 };
#else
        atomic {
#ifndef UNSAFE_HOLD_SPINLOCK_ACROSS_CONVERT
          spin == 0 -> spin = ME;
#endif
          unlink_locked(fio); spin = 0;
          free_io_end(fio); fio = 0; fl_more = 0            /* after spin_unlock (a release: merged) */
        };
#endif
     :: else -> break
     fi
  od
}

/* ================================================================ writeback (src/page-io.ts) */

/* writeRun for one page p (block b) the caller holds locked: the device write, then for an UNINIT
   page the pin and endIoWrite (ext4_end_io_buffer_write): link under the spinlock, queue. The
   caller's unlock clears PG_WRITEBACK (set only while the page lock is held, it is invisible). */
inline write_run(p, b, uninit, i) {
  atomic {
    IO_POINT;
    assert(pg[p].lk == ME && pg[p].pblk != NIL && pg[p].data != TORN);
    pg[p].flags = pg[p].flags | PG_WRITEBACK;
    dev[pg[p].pblk] = pg[p].data;                     /* writeBlocks */
    pg[p].flags = pg[p].flags & ~PG_DIRTY
  };
  if
  :: uninit ->
     atomic {
       spin == 0 -> spin = ME;
       io[i].lblk = b;
#ifdef UNSAFE_UNPIN_AT_WRITEBACK
       pg[p].flags = pg[p].flags & ~PG_UNINIT;        /* an ordinary clean page now (dccaf33f) */
#else
       io[i].page = p; pg[p].ref++;                   /* the seed's get_page: pinned until freed */
#endif
       io[i].unw = 1;                                 /* EXT4_IO_UNWRITTEN */
       list_add_tail(i);
       spin = 0
     };
#ifndef UNSAFE_LOST_WAKEUP
     queue_conversion(1)
#else
     skip                                             /* the liveness control: nobody is told */
#endif
  :: else
  fi
}

/* writebackPage (reclaim, no i_mutex) of page p whose flags the CLOCK hand read into wb_f:
   allocIoEnd for an UNINIT page (waiting while the pool is empty: an allocation is a right mover,
   merged with the tryLockPage after it), then writeRun, unlockPage */
inline writeback_page(p) {
  do
  :: atomic {
       (!(wb_f & PG_UNINIT) || nfree > 0) ->
       if :: wb_f & PG_UNINIT -> io_take(wio) :: else -> wio = NIL fi;
       if
       :: pg[p].lk == 0 ->
          pg[p].lk = ME;                              /* tryLockPage */
          wb_f = pg[p].flags; wb_b = pg[p].idx;
          if
          :: !(wb_f & PG_DIRTY) || wb_b == NIL -> wb_go = 0
          :: else -> wb_go = !((wb_f & PG_UNINIT) && wio == NIL)   /* UNINIT but no io_end: changed, move on */
          fi;
          if :: !wb_go -> pg[p].lk = 0 :: else fi
       :: else -> wb_go = 0
       fi;
       if                                             /* not written: free the io_end, done */
       :: !wb_go ->
          if :: wio != NIL -> free_io_end(wio) :: else fi;
          in_wb--; wio = 0; wb_f = 0; wb_b = 0
       :: else
       fi
     };
     break
  :: atomic { (wb_f & PG_UNINIT) && nfree == 0 -> rung = 1 };    /* pool empty: kick the worker */
     atomic { nfree > 0 -> skip }                                  /* Atomics.wait for a free, retry */
  od;
  if
  :: wb_go ->
     write_run(p, wb_b, wb_f & PG_UNINIT, wio);
     atomic {                                         /* unlockPage (clears PG_WRITEBACK) */
       if :: wb_f & PG_UNINIT -> wio = NIL :: else fi;   /* the list owns it now */
       pg[p].flags = pg[p].flags & ~PG_WRITEBACK; pg[p].lk = 0;
       if :: wio != NIL -> free_io_end(wio) :: else fi;
       in_wb--; wio = 0; wb_f = 0; wb_b = 0; wb_go = 0
     }
  :: else
  fi
}

/* writebackInode (filemap_write_and_wait) in one-page runs; the caller holds i_mutex */
inline writeback_inode(held) {
  atomic { for (k : 0 .. NF - 1) { wsel[k] = (pg[k].idx != NIL) }; k = 0 };   /* inodePages */
  for (wk : 0 .. NF - 1) {
    if
    :: wsel[wk] ->
       do
       :: atomic {
            wi_f = pg[wk].flags;
            if :: !(wi_f & PG_DIRTY) && pg[wk].lk == 0 -> wi_go = 0 :: else -> wi_go = 1 fi   /* clean, unheld: skip */
          };
          if :: !wi_go -> break :: else fi;
          if :: spare == NIL && (wi_f & PG_UNINIT) -> alloc_io_end(spare, held) :: else fi;
          atomic {
            pg[wk].lk == 0 -> pg[wk].lk = ME;          /* lockPage: waits out writeback elsewhere */
            assert(spin != ME);
            wi_b = pg[wk].idx; wi_f = pg[wk].flags;
            if
            :: wi_b == NIL || !(wi_f & PG_DIRTY) -> pg[wk].lk = 0; wi_go = 0
            :: else -> wi_go = 1 + ((wi_f & PG_UNINIT) && spare == NIL)   /* 2: became UNINIT, retry */
            fi;
            if :: wi_go == 2 -> pg[wk].lk = 0 :: else fi
          };
          if
          :: wi_go == 0 -> break
          :: wi_go == 2 -> skip
          :: wi_go == 1 ->
             write_run(wk, wi_b, wi_f & PG_UNINIT, spare);
             atomic {
               if :: wi_f & PG_UNINIT -> spare = NIL :: else fi;
               pg[wk].flags = pg[wk].flags & ~PG_WRITEBACK; pg[wk].lk = 0
             };
             break
          fi
       od;
       atomic { wsel[wk] = 0; wi_f = 0; wi_b = 0; wi_go = 0 }
    :: else
    fi
  };
  wk = 0;
  if :: spare != NIL -> atomic { free_io_end(spare); spare = NIL } :: else fi
}

/* ================================================================ page cache (src/cache.ts) */

/* claim(): a frame nobody references or holds locked, clean, not under writeback, not UNINIT */
#define CLAIMABLE(p) (pg[p].ref == 0 && pg[p].lk == 0 && (pg[p].flags & (PG_DIRTY | PG_WRITEBACK | PG_UNINIT)) == 0)
/* a claimable frame that caches a page (claiming a free frame for another file changes nothing here) */
#define EVICTABLE(p) (CLAIMABLE(p) && pg[p].idx != NIL)
/* what the CLOCK hand writes back: an unreferenced, unlocked, dirty page */
#define WRITABLE(p) (pg[p].ref == 0 && pg[p].lk == 0 && (pg[p].flags & PG_DIRTY))

#if NP == 2
#define ANYFREE (!pused[0] || !pused[1])
#else
#define ANYFREE (!pused[0] || !pused[1] || !pused[2])
#endif
#if NF == 1
#define CACHED(b) (pg[0].idx == (b))
#define ANY(C) (C(0))
#define CHOOSE(p, C) if :: C(0) -> p = 0 fi
#elif NF == 2
#define CACHED(b) (pg[0].idx == (b) || pg[1].idx == (b))
#define ANY(C) (C(0) || C(1))
#define CHOOSE(p, C) if :: C(0) -> p = 0 :: C(1) -> p = 1 fi
#else
#define CACHED(b) (pg[0].idx == (b) || pg[1].idx == (b) || pg[2].idx == (b))
#define ANY(C) (C(0) || C(1) || C(2))
#define CHOOSE(p, C) if :: C(0) -> p = 0 :: C(1) -> p = 1 :: C(2) -> p = 2 fi
#endif

/* claim(p): unhash it inside a P_SEQ section; locked, refcount 1 (its old bytes stay) */
inline claim(p) {
  pg[p].lk = ME; pg[p].ref = 1;
  page_seq_touch(p);
  pg[p].idx = NIL; pg[p].pblk = NIL; pg[p].flags = 0;
  /* the old bytes stay in the frame; they matter only to a reader that sampled it */
  if :: psamp[0] != p && psamp[1] != p -> pg[p].data = 0 :: else fi
}

/* grabPage (find_or_create_page) for a thread that holds no inode mutex (heldIno -1): the page
   caching b, locked, with a reference. A miss claims a frame (allocFrame) and inserts it; with
   nothing claimable it waits (for a conversion to unpin, or an eviction). */
inline grab_page(b) {
  do
  :: atomic { CACHED(b) -> lookup(b, gp); pg[gp].ref++ };          /* hit: take a reference */
     atomic {
       pg[gp].lk == 0 -> pg[gp].lk = ME;                              /* lockPage */
       assert(spin != ME);
       if
       :: pg[gp].idx == b -> gp_ok = 1
       :: else -> page_unlock_put(gp); gp_ok = 0                      /* truncated or reclaimed: again */
       fi
     };
     if :: gp_ok -> gp_ok = 0; break :: else fi
  :: atomic {
       !CACHED(b) && ANY(CLAIMABLE) ->                                /* miss: claim, insert */
       CHOOSE(gp, CLAIMABLE); claim(gp);
       page_seq_touch(gp); pg[gp].idx = b
     };
     break
  od
}

/* grabPage for the holder of the inode mutex (heldIno = ino): the same, and with nothing
   claimable it drains its own completed list (the pins wait for conversions that need its mutex) */
inline grab_page_held(b) {
  do
  :: atomic { CACHED(b) -> lookup(b, gp); pg[gp].ref++ };
     atomic {
       pg[gp].lk == 0 -> pg[gp].lk = ME;
       assert(spin != ME);
       if
       :: pg[gp].idx == b -> gp_ok = 1
       :: else -> page_unlock_put(gp); gp_ok = 0
       fi
     };
     if :: gp_ok -> gp_ok = 0; break :: else fi
  :: atomic {
       !CACHED(b) && ANY(CLAIMABLE) ->
       CHOOSE(gp, CLAIMABLE); claim(gp);
       page_seq_touch(gp); pg[gp].idx = b
     };
     break
  :: atomic { !CACHED(b) && !ANY(CLAIMABLE) && head != NIL -> skip };   /* allocFrame: flushCompletedIO(heldIno) */
     flush_completed_io(0)
  od
}

/* ================================================================ readers (src/inode.ts, src/cache.ts) */

/* mapBlocksSeq: a consistent look-up of b (the table changes only in one-step sections), and the
   sample of I_SEQ that a later seqReadRetry compares against */
inline map_blocks_seq(r, b, mpb, mst) {
  atomic { isamp[r] = 1; imoved[r] = 0; mst = ext[b]; mpb = (mst == HOLE -> NIL : epb[b]) }
}

/* a read of blocks [b0, e0) by reader r begins: sample the ghost (what it may return). It is
   merged with the read's first access to shared state: nothing before that is visible. */
inline ghost_begin(r, b0, e0) {
  rmask[r] = 0;
  for (k : b0 .. e0 - 1) { slo[k] = lo[k]; szok[k] = zok[k]; rmask[r] = rmask[r] | (1 << k) };
  k = 0;
  rz[r] = tprog & rmask[r]
}

/* the read is over: forget the samples */
inline ghost_end(r) {
  isamp[r] = 0; imoved[r] = 0; umoved[r] = 0; rmask[r] = 0; rz[r] = 0;
  for (k : 0 .. NB - 1) { slo[k] = 0; szok[k] = 0 };
  k = 0; n++
}

/* reader r's read of block b returned v: the properties (a read that a truncate of b overlapped
   may also return zeros) */
inline check_read(r, b, v) {
  assert(v != STALE);                   /* invariant 1: never a block's pre-allocation bytes */
  assert(v != TORN);                    /* never a frame mid-change (the page seqcount) */
  assert(v != FOREIGN);                 /* invariant 12: never another file's bytes */
  if
  :: v == 0 -> assert(szok[b] || ((rz[r] >> b) & 1))   /* invariant 9: no zeros for data a completed write put there */
  :: else ->
     assert(BLK(v) == b);               /* invariant 1: only bytes written to this offset */
     assert(GEN(v) >= slo[b])           /* invariant 11: nothing older than the last completed write */
  fi
}

/* readPageFast, first step: lookup, sample P_SEQ (even), PG_UPTODATE, identity */
inline fast_sample(r, b) {
  lookup(b, fp);
  if
  :: fp != NIL && !pg[fp].odd && (pg[fp].flags & PG_UPTODATE) && pg[fp].idx == b ->
     psamp[r] = fp; pmoved[r] = 0; hit = 1
  :: else -> hit = 0
  fi
}

/* readPageFast, then: copy | P_SEQ unchanged, and a hit is checked in that step */
inline fast_copy(r, b) {
  if
  :: hit ->
     rv = pg[fp].data;
     atomic {
       hit = !pmoved[r] && !pg[fp].odd; psamp[r] = NIL; pmoved[r] = 0; fp = 0;
       if :: hit -> check_read(r, b, rv) :: else fi
     }
  :: else
  fi
}

/* fillPage (nolock) of the locked, not-uptodate page p: zeros for a hole or an UNWRITTEN block,
   else the device, then the mapping again: if the block moved, redo */
inline fill_page(r, p, b) {
  do
  :: map_blocks_seq(r, b, mpb, mst);
     if
     :: mst != WR ->                                       /* zeros; the page is locked and not */
        atomic { pg[p].data = 0; pg[p].pblk = mpb; pg[p].flags = pg[p].flags | PG_UPTODATE };   /* uptodate: one step */
        break
     :: else ->
        atomic { IO_POINT; pg[p].data = dev[mpb] };       /* readBlocks */
        atomic {                                          /* mapBlocksSeq again; uptodate if unmoved */
          isamp[r] = 1; imoved[r] = 0; m2st = ext[b]; m2pb = (m2st == HOLE -> NIL : epb[b]);
          if
          :: m2pb == mpb && m2st == WR -> pg[p].pblk = mpb; pg[p].flags = pg[p].flags | PG_UPTODATE; m2done = 1
          :: else
          fi
        };
        if :: m2done -> m2done = 0; break :: else fi
     fi
  od
}

/* ================================================================ processes */

/* the buffered writer: fileWrite -> bufferedWriteLocked */
proctype writer(byte mask) {
  byte b, gen, wpb, k, k2, gp, fp, cp, fio, ul_p, ul_n, lc_n, lc_prev, lc_i, n;
  bit unw, gp_ok, fl_more, enospc;
  do
  :: n < WOPS ->
W_map:                                                       /* lock i_mutex, mapRangeForWrite */
     atomic {
       mutex == 0 -> mutex = ME; assert(spin != ME);
#ifdef WSEQ
       b = (WSEQ >> n) & 1;                                  /* a scripted sequence of blocks */
#else
       if :: mask & 1 -> b = 0 :: mask & 2 -> b = 1 fi;
#endif
       if
       :: ext[b] == HOLE ->                                  /* allocate (ext4_get_block_write) */
          wpb = 0;
          do :: wpb < NP && pused[wpb] -> wpb++ :: else -> break od;
          if
          :: wpb == NP -> enospc = 1; mutex = 0              /* ENOSPC: the write fails, changes nothing */
          :: else ->
             pused[wpb] = 1;
             ext_section();
#ifdef UNSAFE_EARLY_WRITTEN
             ext[b] = WR;
#else
             ext[b] = UNW;                                   /* EXT4_GET_BLOCKS_IO_CREATE_EXT */
#endif
             epb[b] = wpb
          fi
       :: else -> wpb = epb[b]
       fi;
       if :: !enospc -> gen = nextgen; nextgen++; unw = (ext[b] == UNW) :: else -> n++; b = 0; wpb = 0 fi
     };
     if :: enospc -> enospc = 0; goto W_next :: else fi;
W_grab:
     grab_page_held(b);
W_copy:                                                      /* the copy, in a P_SEQ section */
     atomic { assert(!pg[gp].odd); pg[gp].odd = 1; page_seq_touch(gp); pg[gp].data = TORN };
     atomic { pg[gp].data = VAL(b, gen); pg[gp].odd = 0; page_seq_touch(gp) };
W_done:                                                      /* flags, unlock the page, unlock i_mutex */
     atomic {
       pg[gp].pblk = wpb;
       pg[gp].flags = pg[gp].flags | PG_UPTODATE | PG_DIRTY | (unw -> PG_UNINIT : 0);
       page_unlock_put(gp);
       assert(mutex == ME); mutex = 0;
       lo[b] = gen; zok[b] = 0;                              /* ghost: the write completed */
       n++; b = 0; gen = 0; wpb = 0; gp = 0; unw = 0
     };
W_next: skip
  :: else -> break
  od;
  ndone++
}

#ifndef NO_WORKER
/* the conversion worker: dio_unwritten_wq running ext4_end_io_work (workers/conversion-worker.ts) */
proctype worker() {
  byte k, k2, fp, cp, fio, ul_p, ul_n, lc_n, lc_prev, lc_i;
  bit got, busy, requeued, popped, fl_more, qpush;
end_CW_wait:
  do
  /* woke: the doorbell moved, or the retry timer of a requeued inode fired (polling a busy
     mutex is modelled as waiting for it to be free: the polls that fail change nothing);
     seen = doorbell, and the first wqPop of processQueued */
  :: atomic {
       (rung || (requeued && mutex == 0)) -> rung = 0; requeued = 0; busy = 0;
       if :: ring -> ring = 0; wk_idle = 0; popped = 1 :: else -> popped = 0 fi
     };
     do
     :: popped ->
        queued = 0;                                          /* completions from now on queue it again */
CW_trylock:
        atomic { popped = 0; if :: mutex == 0 -> mutex = ME; got = 1 :: else -> got = 0; busy = 1 fi };
        if
        :: got ->
CW_flush:  flush_completed_io(1)                             /* and unlock i_mutex */
        :: else
        fi;
        atomic {                                             /* the next wqPop */
          got = 0;
          if :: ring -> ring = 0; popped = 1 :: else -> if :: !busy -> wk_idle = 1 :: else fi fi
        }
     :: else -> break
     od;
     if
     :: busy ->                                              /* requeue; retry on the timer */
        queue_conversion(0);
        atomic { requeued = 1; busy = 0; wk_idle = 1 }
     :: else
     fi
  od
}
#endif

#ifndef NO_FLUSHER
/* memory pressure: reclaim writes back dirty pages without i_mutex (allocFrame -> writebackPage) */
proctype flusher() {
  byte k, k2, wbp, fp, cp, fio, wio, wb_f, wb_b, ul_p, ul_n, lc_n, lc_prev, lc_i;
  bit wb_go, fl_more, qpush;
end_WB:
  do
  :: atomic { CHOOSE(wbp, WRITABLE); wb_f = pg[wbp].flags; in_wb++ };
     writeback_page(wbp);
     wbp = 0
  od
}
#endif

#ifndef NO_EVICT
/* memory pressure: reclaim evicts clean pages for another file (allocFrame -> claim) */
proctype evictor() {
  byte k2, ep, n;
end_EV:
  do
  :: atomic { n < NEVICT && ANY(EVICTABLE) -> CHOOSE(ep, EVICTABLE); claim(ep); pg[ep].lk = 0; pg[ep].ref = 0; ep = 0; n++ }
  od
}
#endif

#ifndef NO_FSYNC
/* ext4_sync_file: fileSync -> syncLocked */
proctype fsync() {
  byte k, k2, wk, fp, cp, fio, spare, wi_f, wi_b, wi_go, ul_p, ul_n, lc_n, lc_prev, lc_i, b;
  bit wsel[NF], fl_more, qpush;
  spare = NIL;
  atomic { mutex == 0 -> mutex = ME; assert(spin != ME) };
S_writeback:
  writeback_inode(1);
S_flush:
  flush_completed_io(0);
S_done:                       /* invariant 6: every completed write is on the device, its extent written */
  atomic {
    for (b : 0 .. NB - 1) {
      if
      :: !zok[b] -> assert(ext[b] == WR && dev[epb[b]] == VAL(b, lo[b]))
      :: else
      fi
    };
    mutex = 0;
    ndone++
  }
}
#endif

/* dropPage(p): remove the page if it still caches what pageIndex said (caller holds i_mutex) */
inline drop_page(p) {
  atomic { if :: pg[p].idx != NIL -> pg[p].ref++; dp_ok = 1 :: else -> dp_ok = 0 fi };   /* pageIndex, getPageIfCaching */
  if
  :: dp_ok ->
     atomic {
       pg[p].lk == 0 -> pg[p].lk = ME; assert(spin != ME);   /* lockPage */
       page_seq_touch(p);                                    /* removePage */
       pg[p].idx = NIL; pg[p].pblk = NIL; pg[p].flags = 0;
       page_unlock_put(p); dp_ok = 0
     }
  :: else
  fi
}

#if NTRUNC > 0
/* ext4_truncate: fileTruncate to `keep` blocks, NTRUNC times, in the engine's order (53e93ce): unmap
   the dropped blocks first, clean their pages, free their io_ends, drop the pages, drop what a
   lockless reader cached meanwhile, and release the blocks last. UNSAFE_TRUNCATE_DROP_BEFORE_UNMAP
   is the order before it (bug 1 of docs/MODEL.md): clean, free io_ends, drop, then unmap and release. */
proctype truncate() {
  byte keep, k, k2, tk, b, fp, i, t, ul_p, ul_n, lc_n, lc_prev, lc_i;
  bit tsel[NF], dropped[NIO], dp_ok, tfree[NP];
  do
  :: t < NTRUNC ->
     atomic {
       mutex == 0 -> mutex = ME; assert(spin != ME);         /* lock i_mutex; ghost: the truncate begins */
       if :: TK & 1 -> keep = 0 :: TK & 2 -> keep = 1 fi;
       for (b : 0 .. NB - 1) { if :: b >= keep -> tprog = tprog | (1 << b) :: else fi };
       for (k : 0 .. NR - 1) { rz[k] = rz[k] | (rmask[k] & tprog) };
       b = 0
     };
#ifndef UNSAFE_TRUNCATE_DROP_BEFORE_UNMAP
T_unmap:                                                     /* 1. unmap (truncateExtents in the I_SEQ section, I_UNMAP_SEQ bumped); the blocks stay allocated */
     atomic {
#ifndef UNSAFE_UNMAP_SEQ_NOT_BUMPED
       unmap_section();
#else
       ext_section();
#endif
       for (b : 0 .. NB - 1) {
         if
         :: b >= keep && ext[b] != HOLE -> tfree[epb[b]] = 1; ext[b] = HOLE; epb[b] = 0
         :: else
         fi
       };
       b = 0
     };
#endif
     atomic { for (k : 0 .. NF - 1) { tsel[k] = (pg[k].idx != NIL && pg[k].idx >= keep) }; k = 0 };   /* inodePages */
T_clean:                                                     /* 2. clean the pages, wait out writeback */
     for (tk : 0 .. NF - 1) {
       if
       :: tsel[tk] ->
          atomic { if :: pg[tk].idx != NIL -> pg[tk].ref++; dp_ok = 1 :: else -> dp_ok = 0 fi };   /* pageIndex, getPageIfCaching */
          if
          :: dp_ok ->
             atomic {
               pg[tk].lk == 0 -> pg[tk].lk = ME; assert(spin != ME);   /* lockPage (waits out writeback) */
               pg[tk].flags = pg[tk].flags & ~PG_DIRTY;
               page_unlock_put(tk); dp_ok = 0
             }
          :: else
          fi
       :: else
       fi
     };
     tk = 0;
T_free_endio:                                                /* 3. freeIoEndsBeyond: unlink, free, no conversion */
     atomic {
       spin == 0 -> spin = ME;
       for (i : 0 .. NIO - 1) {
         if
         :: io[i].state == IOS_ALLOCATED && io[i].linked && io[i].lblk >= keep -> unlink_locked(i); dropped[i] = 1
         :: else
         fi
       };
       spin = 0;
       for (i : 0 .. NIO - 1) {                              /* then free them (releases: merged) */
         if
         :: dropped[i] -> io[i].unw = 0; free_io_end(i); dropped[i] = 0
         :: else
         fi
       };
       i = 0
     };
T_drop:                                                      /* 4. drop the pages */
     for (tk : 0 .. NF - 1) { if :: tsel[tk] -> drop_page(tk); tsel[tk] = 0 :: else fi };
     tk = 0;
#ifdef UNSAFE_TRUNCATE_DROP_BEFORE_UNMAP
T_extents:                                                   /* the old order: only now unmap and release the blocks */
     atomic {
       unmap_section();
       for (b : 0 .. NB - 1) {
         if
         :: b >= keep && ext[b] != HOLE -> pused[epb[b]] = 0; ext[b] = HOLE; epb[b] = 0
         :: else
         fi
       };
       b = 0
     };
#endif
T_drop_again:                                                /* 6. drop what a lockless reader cached meanwhile */
     atomic { for (k : 0 .. NF - 1) { tsel[k] = (pg[k].idx != NIL && pg[k].idx >= keep) }; k = 0 };   /* inodePages */
     for (tk : 0 .. NF - 1) { if :: tsel[tk] -> drop_page(tk); tsel[tk] = 0 :: else fi };
     tk = 0;
T_free:                                                      /* 7. release the blocks (freeBlocks), unlock i_mutex */
     atomic {
       for (b : 0 .. NP - 1) { if :: tfree[b] -> pused[b] = 0; tfree[b] = 0 :: else fi };
       mutex = 0;
       for (b : 0 .. NB - 1) { if :: b >= keep -> lo[b] = nextgen; zok[b] = 1 :: else fi };   /* ghost: done */
       tprog = 0;
       b = 0; keep = 0; t++
     }
  :: else -> break
  od;
  ndone++
}
#endif

#ifndef NO_READER
/* the dioread_nolock buffered reader: fileRead -> readHits (readPageFast) | readPageSlow */
proctype reader() {
  byte b, rv, k, k2, gp, fp, mpb, mst, m2pb, m2st, n;
  byte slo[NB];
  bit szok[NB], hit, gp_ok, m2done;
  do
  :: n < RREADS ->
R_fast:
     atomic { if :: RB & 1 -> b = 0 :: RB & 2 -> b = 1 fi; ghost_begin(0, b, b + 1); fast_sample(0, b) };
     fast_copy(0, b);
     if
     :: hit -> atomic { hit = 0; ghost_end(0); b = 0; rv = 0 }
     :: else ->
R_slow:  grab_page(b);                                    /* readPageSlow */
        if
        :: !(pg[gp].flags & PG_UPTODATE) ->
R_fill:    fill_page(0, gp, b)
        :: else
        fi;
R_copy:  atomic {
          rv = pg[gp].data; page_unlock_put(gp); check_read(0, b, rv);
          ghost_end(0); gp = 0; b = 0; rv = 0; mpb = 0; mst = 0; m2pb = 0; m2st = 0
        }
     fi
  :: else -> break
  od
}
#endif

#ifndef NO_DREADER
/* the direct reader: fileRead on a direct handle -> readHits, then readDirectSlow per block, which
   reads a run of blocks (DRUN: [0, 2) when the extent goes on and block 1 is not cached) in one
   device read */
proctype dreader() {
  byte b, e, cur, rv, rv2, k, k2, fp, dp, gp, mpb, mst, m2pb, m2st, n;
  byte slo[NB];
  bit szok[NB], hit, got, rrun, sampled, slow, gp_ok, m2done;
  do
  :: n < RREADS ->
D_fast:
     atomic {
       if
       :: DB & 1 -> b = 0; e = 1
       :: DB & 2 -> b = 1; e = 2
#ifdef DRUN
       :: b = 0; e = 2
#endif
       fi;
       cur = b; ghost_begin(1, b, e); fast_sample(1, cur); sampled = 1
     };
     do
     :: cur < e ->
        if :: sampled -> sampled = 0 :: else -> atomic { fast_sample(1, cur) } fi;
        fast_copy(1, cur);
        if
        :: hit -> hit = 0; cur++
        :: else ->
D_probe:   atomic { lookup(cur, dp); if :: dp != NIL -> pg[dp].ref++ :: else fi };   /* findGetPageFast */
           if
           :: dp != NIL ->
              atomic {
                pg[dp].lk == 0 -> pg[dp].lk = ME;            /* lockPage: a cached page is newer than the device */
                if :: pg[dp].flags & PG_UPTODATE -> rv = pg[dp].data; check_read(1, cur, rv); got = 1 :: else fi;
                page_unlock_put(dp); dp = 0
              }
           :: else
           fi;
           if
           :: got -> got = 0; cur++
           :: else ->
              do
              :: atomic {                                    /* mapBlocksSeq (and uncachedRun) */
                   isamp[1] = 1; imoved[1] = 0; umoved[1] = 0; mst = ext[cur]; mpb = (mst == HOLE -> NIL : epb[cur]); rrun = 0;
#ifdef DRUN
                   if
                   :: mst == WR && cur + 1 < e && ext[cur + 1] == WR && epb[cur + 1] == mpb + 1 && !CACHED(cur + 1) -> rrun = 1
                   :: else
                   fi
#endif
                 };
                 if
                 :: mst != WR ->                              /* zeros, unless the map moved */
                    atomic { if :: !imoved[1] -> check_read(1, cur, 0); got = 1 :: else fi }
                 :: else ->
D_io:               atomic {                                  /* readBlocks of the run; written: only */
                      IO_POINT; rv = dev[mpb]; if :: rrun -> rv2 = dev[mpb + 1] :: else fi;   /* I_UNMAP_SEQ must not have moved */
#ifndef UNSAFE_DIRECT_COMPARE_MAPPING
                      if :: !umoved[1] -> got = 1 :: else fi;
#ifdef REACH_WRITTEN_READ_OUTLIVES_SEQ
                      assert(!(got && imoved[1]));            /* probe: a written read kept although I_SEQ moved */
#endif
#else
                      if :: !imoved[1] -> got = 1 :: else fi
#endif
                    }
                 fi;
#ifndef UNSAFE_DIRECT_COMPARE_MAPPING
                 if
                 :: got -> break
                 :: else ->                                   /* the map moved: read again, or (after */
                    if                                        /* DIRECT_READ_RETRIES tries: any number */
                    :: skip                                   /* here) this block through the page cache */
                    :: slow = 1; break
                    fi
                 fi
#else
                 if                                           /* the old code (bug 2 of docs/MODEL.md): */
                 :: got -> break
                 :: !got && mst != WR -> skip
                 :: !got && mst == WR ->                      /* the map moved: compare the first block's mapping */
                    atomic {
                      isamp[1] = 1; imoved[1] = 0; umoved[1] = 0; m2st = ext[cur]; m2pb = (m2st == HOLE -> NIL : epb[cur]);
                      if :: m2pb == mpb && m2st == WR -> got = 1 :: else fi
                    };
                    if :: got -> break :: else fi
                 fi
#endif
              od;
              if
              :: slow ->
D_slow:          grab_page(cur);                              /* readPageSlow(locked false): grabPage, fillPage */
                 if
                 :: !(pg[gp].flags & PG_UPTODATE) -> fill_page(1, gp, cur)
                 :: else
                 fi;
                 atomic {
                   rv = pg[gp].data; page_unlock_put(gp); check_read(1, cur, rv);
                   cur++; slow = 0; got = 0; rrun = 0; gp = 0; rv = 0; rv2 = 0; mpb = 0; mst = 0; m2pb = 0; m2st = 0
                 }
              :: else ->
                 atomic {
                   if :: mst == WR -> check_read(1, cur, rv); if :: rrun -> check_read(1, cur + 1, rv2) :: else fi :: else fi;
                   cur = cur + 1 + rrun; got = 0; rrun = 0; rv = 0; rv2 = 0; mpb = 0; mst = 0; m2pb = 0; m2st = 0
                 }
              fi
           fi
        fi
     :: else -> break
     od;
     atomic { ghost_end(1); b = 0; e = 0; cur = 0 }
  :: else -> break
  od
}
#endif

#ifdef FOREIGN_FILE
/* another file sharing the block allocator: it takes a free block, its data lands there, and the
   file goes away (NFOREIGN times) */
proctype foreign() {
  byte fb, n;
end_FO:
  do
  :: atomic {
       n < NFOREIGN && ANYFREE ->
       fb = 0; do :: pused[fb] -> fb++ :: else -> break od;
       pused[fb] = 1; dev[fb] = FOREIGN; n++
     };
     atomic { pused[fb] = 0; fb = 0 }
  od
}
#endif

#ifndef NO_MONITOR
/* quiescence: the finite processes are done, the worker sleeps with nothing queued, no writeback
   is in flight. Then every completed io_end was converted (or dropped by truncate) and freed, and
   no page or extent waits for a conversion that nobody will do. */
proctype monitor() {
  byte k, b;
  bit found;
end_M:
  atomic {
    (ndone == NFIN && wk_idle && !ring && in_wb == 0) ->
    assert(head == NIL && tail == NIL && clen == 0);  /* every completed io_end converted or dropped */
    assert(nfree == NIO);                             /* every io_end freed */
    for (k : 0 .. NF - 1) {                           /* no clean page still waits for a conversion */
      assert(!(pg[k].idx != NIL && (pg[k].flags & PG_UNINIT) && !(pg[k].flags & PG_DIRTY)))
    };
    for (b : 0 .. NB - 1) {                           /* an UNWRITTEN block has its data in a dirty page */
      if
      :: ext[b] == UNW ->
         found = 0;
         for (k : 0 .. NF - 1) { if :: pg[k].idx == b && (pg[k].flags & PG_DIRTY) -> found = 1 :: else fi };
         assert(found)
      :: else
      fi
    }
  }
}
#endif

/* The journal (the commit protocol, pending frees, crash and replay) is model/journal.pml; the
   in-memory protocol here does not depend on it (a truncate's blocks are released at T_free, no
   later than the engine releases them after the commit: more behaviours, not fewer). */

/* LTL (checked with -a -f): every io_end that completes is eventually converted or dropped */
#ifdef LTL_CONVERTED
ltl converted { [] ((clen > 0) -> <> (clen == 0)) }
#endif

init {
  byte b;
  atomic {
    for (b : 0 .. NP - 1) { dev[b] = STALE };
    for (b : 0 .. NB - 1) { zok[b] = 1 };
    b = 0;
#ifndef NO_WORKER
    run worker();
#endif
    run writer(WB0);
#if NW > 1
    run writer(WB1);
#endif
#ifndef NO_FLUSHER
    run flusher();
#endif
#ifndef NO_EVICT
    run evictor();
#endif
#ifndef NO_FSYNC
    run fsync();
#endif
#if NTRUNC > 0
    run truncate();
#endif
#ifndef NO_READER
    run reader();
#endif
#ifndef NO_DREADER
    run dreader();
#endif
#ifdef FOREIGN_FILE
    run foreign();
#endif
#ifndef NO_MONITOR
    run monitor();
#endif
  }
}
