// The journal's log on the device: write a transaction (descriptor, data and commit blocks), scan
// and replay the committed ones, reset the log. It knows blocks, not inodes: transaction.ts decides
// what a transaction holds.
// ext4 counterpart: fs/jbd2 — jbd2_journal_commit_transaction's write phases (commit.c), the
// recovery passes of recovery.c (PASS_SCAN, PASS_REPLAY), and jbd2_journal_update_sb_log_tail.
//
// Ordering (what makes a commit atomic): the descriptor and metadata blocks are written and flushed
// before the commit block is written and flushed; replay applies a transaction only when its commit
// block names it and the crc32c over all its blocks matches, so a torn or half-written transaction
// is never applied. The caller flushes file data before calling writeTransaction (ordered mode,
// DESIGN.md invariant 2). A transaction never wraps: when it does not fit before the end of the log,
// the log is reset to its first block, which needs every earlier transaction checkpointed (written in
// place) and flushed first, and the journal superblock to say so.
//
// Thread safety: the caller holds the journal's commit mutex (transaction.ts) or is the only thread
// (mount, fsck).

import type { BlockDevice } from './device.js';
import { DioreadError } from './errors.js';
import {
  TAGS_PER_DESCRIPTOR,
  crc32cUpdate,
  decodeCommit,
  decodeDescriptor,
  decodeJournalSuper,
  encodeCommit,
  encodeDescriptor,
  encodeJournalSuper,
  type JournalSuper,
} from './ondisk.js';
import { BLOCK_SIZE } from './shm/layout.js';

/** Where the journal sits (a subset of the superblock; the shared DiskGeometry has it too). */
export interface JournalGeometry {
  inodeTable: number;
  journal: number;
  journalBlocks: number;
  /** Extent-tree nodes live in the data area: journal targets too. */
  firstDataBlock: number;
  blockCount: number;
}

/** One metadata block to write: its final place and its 4 KiB image. */
export type BlockWrite = [target: number, image: Uint8Array];

/** First log block (index within the journal area; block 0 is the journal superblock). */
export const LOG_FIRST = 1;

export function readJournalSuper(dev: BlockDevice, sb: JournalGeometry, where: string): JournalSuper {
  const buf = new Uint8Array(BLOCK_SIZE);
  dev.readMeta(sb.journal * BLOCK_SIZE, buf);
  return decodeJournalSuper(buf, sb.journalBlocks, where);
}

// Model: model/journal.pml the M_JS write in C_log (docs/MODEL.md).
export function writeJournalSuper(dev: BlockDevice, sb: JournalGeometry, j: JournalSuper): void {
  dev.writeMeta(sb.journal * BLOCK_SIZE, encodeJournalSuper(j));
}

/**
 * Blocks a transaction of `n` metadata blocks takes in the log: descriptors, data, commit.
 * Model: model/journal.pml C_log_room (k + 2) (docs/MODEL.md).
 */
export function transactionLogBlocks(n: number): number {
  return Math.ceil(n / TAGS_PER_DESCRIPTOR) + n + 1;
}

/**
 * True when `target` may be named by a journal tag: a block of the inode table or the bitmap, or an
 * extent-tree node (a block of the data area); never the superblock or the journal itself.
 */
export function isJournalTarget(sb: JournalGeometry, target: number): boolean {
  return (target >= sb.inodeTable && target < sb.journal) || (target >= sb.firstDataBlock && target < sb.blockCount);
}

/**
 * Write transaction `seq` at log block `pos`: descriptors and data, flush, commit block, flush.
 * Returns the log block after it. The caller checked that it fits before the end of the log.
 * Model: model/journal.pml commit_locked C_log, C_flush_log, C_commit_block, C_flush_commit (docs/MODEL.md).
 */
export function writeTransaction(dev: BlockDevice, sb: JournalGeometry, pos: number, seq: number, writes: BlockWrite[]): number {
  const need = transactionLogBlocks(writes.length);
  if (writes.length === 0 || pos < LOG_FIRST || pos + need > sb.journalBlocks) {
    throw new DioreadError('EIO', `journal: a transaction of ${writes.length} blocks (${need} in the log) does not fit at log block ${pos} of ${sb.journalBlocks}`);
  }
  let at = pos;
  let crc = 0;
  for (let i = 0; i < writes.length; i += TAGS_PER_DESCRIPTOR) {
    const chunk = writes.slice(i, i + TAGS_PER_DESCRIPTOR);
    for (const [target] of chunk) {
      if (!isJournalTarget(sb, target)) throw new DioreadError('EIO', `journal: block ${target} is not a metadata block (${sb.inodeTable}..${sb.journal - 1}, or a tree node in ${sb.firstDataBlock}..${sb.blockCount - 1})`);
    }
    const desc = encodeDescriptor(seq, chunk.map(([t]) => t));
    dev.writeMeta((sb.journal + at++) * BLOCK_SIZE, desc);
    crc = crc32cUpdate(crc, desc);
    for (const [, image] of chunk) {
      dev.writeMeta((sb.journal + at++) * BLOCK_SIZE, image);
      crc = crc32cUpdate(crc, image);
    }
  }
  dev.flush(); // the transaction's blocks are durable before the commit block names them
  dev.writeMeta((sb.journal + at) * BLOCK_SIZE, encodeCommit(seq, at - pos, crc, Date.now()));
  dev.flush();
  return at + 1;
}

/** A committed transaction found in the log. */
export interface LoggedTransaction {
  seq: number;
  writes: BlockWrite[];
}

/** What a scan of the log found: the committed transactions in order, and where the log ends. */
export interface JournalScan {
  transactions: LoggedTransaction[];
  /** Log block after the last committed transaction (LOG_FIRST for an empty log). */
  end: number;
  /** Sequence the next transaction gets. */
  nextSeq: number;
}

/**
 * PASS_SCAN: from the journal superblock's start, the consecutive transactions whose descriptors,
 * data and commit block check. The first block that is not the expected descriptor ends the log
 * (a torn transaction is where the crash happened). A committed transaction naming a block outside
 * the metadata areas is damage: EFSCORRUPTED.
 * Model: model/journal.pml crash R_replay (docs/MODEL.md).
 */
export function scanJournal(dev: BlockDevice, sb: JournalGeometry, j: JournalSuper, where: string): JournalScan {
  const transactions: LoggedTransaction[] = [];
  if (j.start === 0) return { transactions, end: LOG_FIRST, nextSeq: j.sequence };
  let pos = j.start;
  let seq = j.sequence;
  const buf = new Uint8Array(BLOCK_SIZE);
  for (;;) {
    const t = readTransaction(dev, sb, pos, seq, buf);
    if (t === null) break;
    for (const [target] of t.writes) {
      if (!isJournalTarget(sb, target)) throw new DioreadError('EFSCORRUPTED', `${where}: journal transaction ${seq} writes block ${target}, outside the metadata areas and the data area`);
    }
    transactions.push({ seq, writes: t.writes });
    pos = t.next;
    seq = (seq + 1) >>> 0;
  }
  return { transactions, end: transactions.length > 0 ? pos : LOG_FIRST, nextSeq: seq };
}

// Model: model/journal.pml crash R_replay (docs/MODEL.md).
function readTransaction(dev: BlockDevice, sb: JournalGeometry, pos: number, seq: number, buf: Uint8Array): { writes: BlockWrite[]; next: number } | null {
  const writes: BlockWrite[] = [];
  let at = pos;
  let crc = 0;
  const readAt = (i: number, into: Uint8Array) => dev.readMeta((sb.journal + i) * BLOCK_SIZE, into);
  for (;;) {
    if (at >= sb.journalBlocks) return null;
    readAt(at, buf);
    const commit = decodeCommit(buf, seq);
    if (commit !== null) {
      if (writes.length === 0 || commit.blocks !== at - pos || commit.dataCrc !== crc) return null;
      return { writes, next: at + 1 };
    }
    const tags = decodeDescriptor(buf, seq);
    if (tags === null || at + 1 + tags.length >= sb.journalBlocks) return null;
    crc = crc32cUpdate(crc, buf);
    at++;
    for (const target of tags) {
      const image = new Uint8Array(BLOCK_SIZE);
      readAt(at++, image);
      crc = crc32cUpdate(crc, image);
      writes.push([target, image]);
    }
  }
}
