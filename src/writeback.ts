// Writeback: dirty pages to the device, in runs, with an io_end for pages over UNWRITTEN blocks.
// ext4 counterpart: ext4_writepage / ext4_writepages (fs/ext4/inode.c) with the seed's
// ext4_set_bh_endio (take the io_end, pin the page) and block_write_full_page_endio, and
// filemap_write_and_wait for sync.
//
// Thread safety: a page is written back under its page lock (which also waits out writeback in
// flight elsewhere); an UNINIT run's io_end is taken before the run's first page lock, so nobody
// waits for the io_end pool holding a page lock. writebackInode's caller holds the inode mutex;
// writebackPage (reclaim) holds none. It registers writebackPage with the page cache as the
// cache's writepage (the kernel's address_space_operations), so cache.ts need not import back up.

import { InvariantError } from './errors.js';
import {
  BLOCK_SIZE,
  H_DIRTY_PAGES,
  H_WRITEBACKS,
  OP_WRITEBACK,
  PG_DIRTY,
  PG_UNINIT,
  PG_WRITEBACK,
} from './shm/layout.js';
import {
  clearPageFlags,
  frameOf,
  inodePages,
  isPageLocked,
  lockPage,
  pageFlags,
  pageIndex,
  pageIno,
  pagePblk,
  setPageFlags,
  tryLockPage,
  unlockPage,
  registerReclaimOps,
} from './cache.js';
import { assertInodeLocked } from './extents.js';
import { allocIoEnd, endIoWrite, flushCompletedIO, freeIoEnd, ioEndIno, setBhEndio } from './page-io.js';
import { kickConversionWorker } from './workqueue.js';
import type { Volume } from './volume.js';


/**
 * Write back a run of pages the caller holds locked: consecutive indexes, consecutive physical
 * blocks, all dirty, all with the same PG_UNINIT state. For an UNINIT run `io` is a fresh io_end:
 * it pins the pages and goes on the completed list once the data is on the device.
 * Model: model/dioread.pml inline write_run (docs/MODEL.md).
 */
function writeRun(v: Volume, ino: number, pages: number[], uninit: boolean, io: number): void {
  const i32 = v.i32;
  const pblk = pagePblk(v, pages[0]);
  for (const p of pages) setPageFlags(v, p, PG_WRITEBACK);
  try {
    if (pages.length === 1) v.dev.writeBlocks(pblk, 1, v.frames, frameOf(v, pages[0]));
    else v.dev.writeBlockList(pblk, pages.map((p) => v.frames.subarray(frameOf(v, p), frameOf(v, p) + BLOCK_SIZE)));
  } catch (err) {
    for (const p of pages) clearPageFlags(v, p, PG_WRITEBACK);
    throw err;
  }
  for (const p of pages) {
    if (clearPageFlags(v, p, PG_DIRTY) & PG_DIRTY) Atomics.sub(i32, H_DIRTY_PAGES, 1);
  }
  if (uninit) {
    if (v.unsafeUnpinAtWriteback) {
      // Test-only broken mode: an ordinary clean page now, evictable before conversion (dccaf33f).
      setBhEndio(v, io, pageIndex(v, pages[0]), pages.length, null);
      for (const p of pages) clearPageFlags(v, p, PG_UNINIT);
    } else setBhEndio(v, io, pageIndex(v, pages[0]), pages.length, pages);
    endIoWrite(v, io);
  }
  for (const p of pages) clearPageFlags(v, p, PG_WRITEBACK);
  Atomics.add(i32, H_WRITEBACKS, pages.length);
}
/**
 * Write back one dirty page under memory pressure (ext4_writepage from reclaim). The io_end is taken
 * before the page lock, so nobody sleeps on the pool while holding a page lock. Skips a page
 * someone else holds locked. Returns true if it wrote.
 * Model: model/dioread.pml inline writeback_page (flusher) (docs/MODEL.md).
 */
export function writebackPage(v: Volume, p: number, heldIno: number): boolean {
  const f0 = pageFlags(v, p);
  if (!(f0 & PG_DIRTY)) return false;
  const savedOp = v.op;
  v.setOp(OP_WRITEBACK);
  let io = (f0 & PG_UNINIT) !== 0 ? allocIoEnd(v, pageIno(v, p), heldIno) : -1;
  try {
    const lt = tryLockPage(v, p);
    if (lt < 0) return false;
    try {
      const f = pageFlags(v, p);
      const ino = pageIno(v, p);
      if (!(f & PG_DIRTY) || ino < 0) return false;
      const uninit = (f & PG_UNINIT) !== 0;
      if (uninit && (io < 0 || ioEndIno(v, io) !== ino)) return false; // changed under us; reclaim moves on
      if (pagePblk(v, p) < 0) throw new InvariantError(`page ${p} (inode ${ino} index ${pageIndex(v, p)}) is dirty with no physical block`);
      writeRun(v, ino, [p], uninit, io);
      if (uninit) io = -1; // the completed list owns it now
      return true;
    } finally {
      unlockPage(v, p, lt);
    }
  } finally {
    if (io >= 0) freeIoEnd(v, io);
    v.setOp(savedOp);
  }
}
/** Most pages one writev carries. */
const MAX_RUN_PAGES = 64;
/**
 * Write back every dirty page of an inode (filemap_write_and_wait for sync, close, direct I/O).
 * Caller holds the inode mutex. Each page is locked, which also waits out writeback that another
 * thread has in flight, so when this returns every earlier write is on the device and its io_end is
 * on the completed list. Returns pages written.
 * Model: model/dioread.pml inline writeback_inode (fsync S_writeback) (docs/MODEL.md).
 */
export function writebackInode(v: Volume, ino: number, fromIndex = 0, toIndex = 0x7fffffff): number {
  const savedOp = v.op;
  v.setOp(OP_WRITEBACK);
  try {
    return writebackInodeRange(v, ino, fromIndex, toIndex);
  } finally {
    v.setOp(savedOp);
  }
}
/**
 * The run being gathered for one write (ext4's struct mpage_da_data): locked pages, consecutive in
 * index and physical block, all with the same PG_UNINIT state, and the io_end an UNINIT run takes
 * before its first page lock (`spare`).
 */
class WritebackRun {
  pages: number[] = [];
  tokens: number[] = [];
  uninit = false;
  // The io_end for an UNINIT run is taken before the run's first page lock, as writebackPage does:
  // allocIoEnd may wait for the pool, and a thread waiting there with page locks held deadlocked
  // with another writeback waiting for one of those locks (a pool of 1 under 4 writers).
  spare = -1;
  written = 0;

  constructor(
    private readonly v: Volume,
    private readonly ino: number,
  ) {}

  get empty(): boolean {
    return this.pages.length === 0;
  }

  /** Can locked page `p` extend the run (mpage_add_bh_to_extent's test)? */
  extendsRun(p: number, uninit: boolean): boolean {
    const v = this.v;
    const last = this.pages[this.pages.length - 1];
    return (
      uninit === this.uninit &&
      pageIndex(v, p) === pageIndex(v, last) + 1 &&
      pagePblk(v, p) === pagePblk(v, last) + 1 &&
      this.pages.length < MAX_RUN_PAGES
    );
  }

  add(p: number, lt: number, uninit: boolean): void {
    if (this.empty) this.uninit = uninit;
    this.pages.push(p);
    this.tokens.push(lt);
  }

  /** Write the run and unlock its pages (mpage_da_submit_io). */
  submit(): void {
    if (this.empty) return;
    const { pages, tokens, uninit } = this;
    this.pages = [];
    this.tokens = [];
    const io = uninit ? this.spare : -1;
    if (uninit) this.spare = -1;
    try {
      writeRun(this.v, this.ino, pages, uninit, io);
    } catch (err) {
      if (io >= 0) freeIoEnd(this.v, io);
      throw err;
    } finally {
      for (let i = 0; i < pages.length; i++) unlockPage(this.v, pages[i], tokens[i]);
    }
    this.written += pages.length;
  }

  /** On the way out (error or done): unlock what is still held, return the unused io_end. */
  release(): void {
    for (let i = 0; i < this.pages.length; i++) unlockPage(this.v, this.pages[i], this.tokens[i]);
    if (this.spare >= 0) freeIoEnd(this.v, this.spare);
  }
}

function writebackInodeRange(v: Volume, ino: number, fromIndex: number, toIndex: number): number {
  assertInodeLocked(v, ino, 'writeback of a whole file');
  const pages = inodePages(v, ino, fromIndex).filter((p) => pageIndex(v, p) < toIndex);
  const run = new WritebackRun(v, ino);
  try {
    for (let k = 0; k < pages.length; ) {
      const p = pages[k];
      // Skip clean pages nobody holds; a locked page may be under writeback elsewhere: wait it out.
      if (!(pageFlags(v, p) & PG_DIRTY) && !isPageLocked(v, p)) {
        k++;
        continue;
      }
      // PG_UNINIT is stable here: it is set and cleared only under the inode mutex, which we hold.
      if (run.empty && run.spare < 0 && pageFlags(v, p) & PG_UNINIT) run.spare = allocIoEnd(v, ino, ino);
      // With page locks held, only try: the page may have been reclaimed for another inode since
      // the scan, and its new owner may be waiting for one of ours. Without any, wait for it.
      const lt = run.empty ? lockPage(v, p) : tryLockPage(v, p);
      if (lt < 0) {
        run.submit();
        continue;
      }
      const f = pageFlags(v, p);
      if (pageIno(v, p) !== ino || !(f & PG_DIRTY)) {
        unlockPage(v, p, lt);
        k++;
        continue;
      }
      const uninit = (f & PG_UNINIT) !== 0;
      if (!run.empty && !run.extendsRun(p, uninit)) {
        // Start a new run with no page lock held (it may need an io_end first).
        unlockPage(v, p, lt);
        run.submit();
        continue;
      }
      if (run.empty && uninit && run.spare < 0) {
        unlockPage(v, p, lt);
        continue; // became UNINIT after the peek (cannot under the mutex; cheap to handle)
      }
      run.add(p, lt, uninit);
      k++;
    }
    run.submit();
  } finally {
    run.release();
  }
  return run.written;
}
export function dirtyPages(v: Volume): number {
  return Atomics.load(v.i32, H_DIRTY_PAGES);
}

registerReclaimOps({ writepage: writebackPage, flushCompletedIO, kickConversion: kickConversionWorker });
