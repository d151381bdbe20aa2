// Reading an image's metadata into a plain model and checking it: what mount trusts and fsck reports.
// ext4 counterpart: the checks of ext4_fill_super / ext4_iget / ext4_ext_check (fs/ext4/super.c,
// inode.c, extents.c) and e2fsck's passes 1 (inodes, extents, blocks claimed twice) and 5 (bitmaps).
//
// One reader for both: mount passes a `Problems` that throws EFSCORRUPTED at the first problem, fsck
// one that collects them all. Every field is range-checked before it sizes anything, so a damaged
// image costs memory in proportion to its real size (the superblock's geometry was checked against
// it), never to what a damaged field claims. Journal replay is applied as an overlay first: mount
// then writes it in place; fsck -n and a read-only engine never write.

import type { BlockDevice } from './device.js';
import { DioreadError, detail } from './errors.js';
import { readJournalSuper, scanJournal } from './journal.js';
import {
  INODES_PER_BLOCK,
  INODE_DISK_BYTES,
  MAGIC_BITMAP,
  MAGIC_EXTENTS,
  MAGIC_INODES,
  MB_HEADER_BYTES,
  NODE_ENTRIES_MAX,
  checkBlock,
  checkNodeHeader,
  decodeInodeRecord,
  inodeRecordOffset,
  type DiskInode,
  type SuperBlock,
} from './ondisk.js';
import { BLOCK_SIZE, E_FLAGS, E_LBLK, E_LEN, E_PBLK, EXT_MAX_LEN, EXT_UNWRITTEN, EXTENT_WORDS } from './shm/layout.js';

/** Where problems go: mount throws at the first error, fsck collects. */
export interface Problems {
  error(msg: string): void;
  warn(msg: string): void;
}

/** The mount policy: the first error is EFSCORRUPTED; warnings are kept for the caller. */
export function throwingProblems(where: string, warnings: string[] = []): Problems {
  return {
    error(msg) {
      throw new DioreadError('EFSCORRUPTED', `${where}: ${msg}`);
    },
    warn(msg) {
      warnings.push(msg);
    },
  };
}

export interface ModelInode {
  ino: number;
  disk: DiskInode;
  /** Extent records, EXTENT_WORDS each (lblk, len, pblk, flags), as in shared memory. */
  extents: Int32Array;
  /** The tree's nodes below the root (the root is disk.root). */
  nodes: ModelNode[];
}

export interface ImageModel {
  sb: SuperBlock;
  inodes: ModelInode[];
  /** The bitmap as flat 32-bit words (bit b of the device is bit b%32 of word b>>5). */
  bitmap: Int32Array;
  /** Journal: transactions replayed from the log, the next sequence, and the overlay they form. */
  replayed: number;
  nextSeq: number;
  overlay: Map<number, Uint8Array>;
  /** Per device block: 1 + the inode whose extent claims it (0: none); blocks marked used that nothing claims. */
  owner: Int32Array;
  leaked: number[];
}

/** Read a metadata block through the replay overlay. */
function readBlock(dev: BlockDevice, overlay: Map<number, Uint8Array>, block: number): Uint8Array {
  const o = overlay.get(block);
  if (o !== undefined) return o.slice();
  const buf = new Uint8Array(BLOCK_SIZE);
  dev.readMeta(block * BLOCK_SIZE, buf);
  return buf;
}

/**
 * Scan the journal and build the replay overlay (later transactions win).
 * Model: model/journal.pml crash R_replay (docs/MODEL.md).
 */
export function replayOverlay(dev: BlockDevice, sb: SuperBlock, where: string): { overlay: Map<number, Uint8Array>; replayed: number; nextSeq: number } {
  const jsb = readJournalSuper(dev, sb, where);
  const scan = scanJournal(dev, sb, jsb, where);
  const overlay = new Map<number, Uint8Array>();
  for (const t of scan.transactions) for (const [target, image] of t.writes) overlay.set(target, image);
  return { overlay, replayed: scan.transactions.length, nextSeq: scan.nextSeq };
}

/**
 * Read and check every table of the image (through the journal's replay overlay). Problems go to `p`;
 * with a collecting `p` the model holds what could be read (bad inodes are left out).
 * Model: model/journal.pml crash R_replay, R_check (docs/MODEL.md).
 */
export function readImage(dev: BlockDevice, sb: SuperBlock, where: string, p: Problems): ImageModel {
  let overlay = new Map<number, Uint8Array>();
  let replayed = 0;
  let nextSeq = 1;
  try {
    ({ overlay, replayed, nextSeq } = replayOverlay(dev, sb, where));
  } catch (err) {
    if (!(err instanceof DioreadError)) throw err;
    p.error(detail(err));
  }
  const inodes = readInodes(dev, sb, overlay, p);
  const bitmap = readBitmap(dev, sb, overlay, p);
  const { owner, leaked } = crossCheck(sb, inodes, bitmap, p);
  return { sb, inodes, bitmap, replayed, nextSeq, overlay, owner, leaked };
}

function readInodes(dev: BlockDevice, sb: SuperBlock, overlay: Map<number, Uint8Array>, p: Problems): ModelInode[] {
  const out: ModelInode[] = [];
  const names = new Map<string, number>();
  const maxBlocks = sb.blockCount - sb.firstDataBlock;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const seen = new Uint8Array(sb.blockCount); // tree node blocks met so far (one walk per block)
  for (let b = 0; b < sb.inodeBlocks; b++) {
    const block = sb.inodeTable + b;
    const buf = readBlock(dev, overlay, block);
    try {
      checkBlock(buf, MAGIC_INODES, block, 0, 'inode table');
    } catch (err) {
      p.error(detail(err));
      continue;
    }
    for (let k = 0; k < INODES_PER_BLOCK; k++) {
      const ino = b * INODES_PER_BLOCK + k;
      const at = inodeRecordOffset(ino);
      const rec = buf.subarray(at, at + INODE_DISK_BYTES);
      if (ino >= sb.maxFiles) {
        if (!rec.every((x) => x === 0)) p.error(`inode table: record ${ino} is past maxFiles ${sb.maxFiles} and not zeroed`);
        continue;
      }
      let di: DiskInode;
      try {
        di = decodeInodeRecord(rec, ino, { maxBlocks, maxFiles: sb.maxFiles });
      } catch (err) {
        p.error(detail(err));
        continue;
      }
      if (!di.used) continue;
      if (di.orphan) {
        p.warn(`inode ${ino}: an orphan (unlinked while open when the image was last written); mount frees it and its ${di.blocks} block(s)`);
        const tree = readExtents(dev, sb, overlay, ino, di, p, seen);
        if (tree !== null) out.push({ ino, disk: di, ...tree });
        continue;
      }
      let name: string;
      try {
        name = decoder.decode(di.nameBytes);
      } catch {
        p.error(`inode ${ino}: name is not valid UTF-8`);
        continue;
      }
      const key = `${di.parent}/${name}`;
      const other = names.get(key);
      if (other !== undefined) p.error(`inode ${ino}: name ${JSON.stringify(name)} is also inode ${other}'s in the same directory (${di.parent < 0 ? 'the root' : `inode ${di.parent}`})`);
      names.set(key, ino);
      const tree = readExtents(dev, sb, overlay, ino, di, p, seen);
      if (tree !== null) out.push({ ino, disk: di, ...tree });
    }
  }
  checkParents(out, sb.maxFiles, p);
  return out;
}

/**
 * Every named inode's parent is the root or a named directory, and walking up from any inode
 * reaches the root (no cycle): what a path walk needs to find each file exactly once.
 */
function checkParents(inodes: ModelInode[], maxFiles: number, p: Problems): void {
  const byIno = new Map(inodes.map((m) => [m.ino, m.disk]));
  for (const m of inodes) {
    if (m.disk.orphan || m.disk.parent < 0) continue;
    const dir = byIno.get(m.disk.parent);
    if (dir === undefined || dir.orphan || (dir.mode & 0o170000) !== 0o040000) {
      p.error(`inode ${m.ino}: its parent, inode ${m.disk.parent}, is not a directory in use`);
      continue;
    }
    let at = m.disk.parent;
    for (let steps = 0; at >= 0; steps++) {
      if (steps > maxFiles) {
        p.error(`inode ${m.ino}: its parent directories form a cycle (through inode ${m.disk.parent})`);
        break;
      }
      at = byIno.get(at)?.parent ?? -1;
    }
  }
}

/** Every block inode `m` claims, as [pblk, count] runs: its tree's nodes, then its extents (freeing an orphan). */
export function claimedRuns(m: ModelInode): Array<[number, number]> {
  const runs: Array<[number, number]> = m.nodes.map((n) => [n.pblk, 1]);
  for (let i = 0; i < m.disk.extentCount; i++) runs.push([m.extents[i * EXTENT_WORDS + E_PBLK], m.extents[i * EXTENT_WORDS + E_LEN]]);
  return runs;
}

/** One tree node read from the image: its block and its words from the node header on (as in shared memory). */
export interface ModelNode {
  pblk: number;
  words: Int32Array;
}

/**
 * An inode's extent tree, read from its root down (ext4_ext_check of every node): node headers and
 * blocks, depths, keys equal to the first lblk below them, extents sorted, not overlapping, inside
 * the data area, and the counts in the inode. Returns the extents in order and the nodes, or null.
 */
function readExtents(dev: BlockDevice, sb: SuperBlock, overlay: Map<number, Uint8Array>, ino: number, di: DiskInode, p: Problems, seen: Uint8Array): { extents: Int32Array; nodes: ModelNode[] } | null {
  const tag = `inode ${ino}`;
  // The extents in order, 4 words each, in an Int32Array that doubles as it fills (a million
  // extents as a JS array of numbers cost several times the memory).
  let flat = new Int32Array(Math.min(EXTENT_WORDS * Math.max(di.extentCount, 4), EXTENT_WORDS * 1024));
  let words = 0;
  const nodes: ModelNode[] = [];
  let ok = true;
  let prevEnd = -1;
  const fail = (what: string): false => {
    p.error(`${tag}: ${what}`);
    ok = false;
    return false;
  };
  // Entries of a node (its header at `at` in `w`); `key`: what its parent says its first lblk is.
  const walk = (w: Int32Array, at: number, depth: number, key: number | null, where: string): boolean => {
    const n = w[at];
    if (key !== null && w[at + 4] !== key) return fail(`${where}: first lblk ${w[at + 4]}, its parent's key ${key}`);
    for (let j = 0; j < n && ok; j++) {
      const e = at + 4 + j * EXTENT_WORDS;
      if (depth === 0) {
        checkExtent(w[e + E_LBLK], w[e + E_LEN], w[e + E_PBLK], w[e + E_FLAGS], `${where} extent ${j}`);
        continue;
      }
      if (j > 0 && w[e] <= w[e - EXTENT_WORDS]) return fail(`${where} index ${j}: key ${w[e]} not after ${w[e - EXTENT_WORDS]}`);
      const child = w[e + 1];
      if (child < sb.firstDataBlock || child >= sb.blockCount) return fail(`${where} index ${j}: node block ${child} outside the data blocks`);
      if (seen[child] !== 0) return fail(`${where} index ${j}: node block ${child} is reached twice`);
      seen[child] = 1;
      const buf = readBlock(dev, overlay, child);
      try {
        checkBlock(buf, MAGIC_EXTENTS, child, ino, `${tag} extent tree`);
        const cw = new Int32Array(buf.buffer, buf.byteOffset + MB_HEADER_BYTES, (BLOCK_SIZE - MB_HEADER_BYTES) / 4);
        checkNodeHeader(cw, 0, NODE_ENTRIES_MAX, di.generation | 0, depth - 1, `${tag} node at block ${child}`);
        nodes.push({ pblk: child, words: cw.slice() });
        if (!walk(cw, 0, depth - 1, w[e], `${tag} node at block ${child}`)) return false;
      } catch (err) {
        return fail(detail(err));
      }
    }
    return ok;
  };
  const checkExtent = (lblk: number, len: number, pblk: number, flags: number, where: string) => {
    if (!(len >= 1 && len <= EXT_MAX_LEN)) fail(`${where}: length ${len} outside 1..${EXT_MAX_LEN}`);
    else if (lblk < 0 || lblk + len > 2 ** 31) fail(`${where}: logical range ${lblk}+${len} outside the file's 2^31 blocks`);
    else if (lblk < prevEnd) fail(`${where}: lblk ${lblk} overlaps or precedes the previous extent (ends ${prevEnd})`);
    else if (pblk < sb.firstDataBlock || pblk + len > sb.blockCount) fail(`${where}: pblk ${pblk}+${len} outside the data blocks ${sb.firstDataBlock}..${sb.blockCount - 1}`);
    if ((flags & ~EXT_UNWRITTEN) !== 0) fail(`${where}: unknown flags ${flags}`);
    if (!ok) return;
    prevEnd = lblk + len;
    if (words + EXTENT_WORDS > flat.length) {
      const bigger = new Int32Array(flat.length * 2);
      bigger.set(flat);
      flat = bigger;
    }
    flat[words + E_LBLK] = lblk;
    flat[words + E_LEN] = len;
    flat[words + E_PBLK] = pblk;
    flat[words + E_FLAGS] = flags;
    words += EXTENT_WORDS;
  };
  if (!walk(di.root, 0, di.root[2], null, `${tag} root`)) return null;
  const count = words / EXTENT_WORDS;
  if (count !== di.extentCount) return fail(`extent count ${di.extentCount}, its tree holds ${count}`) || null;
  let blocks = 0;
  for (let i = 0; i < count; i++) blocks += flat[i * EXTENT_WORDS + E_LEN];
  if (blocks !== di.blocks) return fail(`block count ${di.blocks}, its extents hold ${blocks}`) || null;
  return { extents: flat.slice(0, words), nodes };
}

function readBitmap(dev: BlockDevice, sb: SuperBlock, overlay: Map<number, Uint8Array>, p: Problems): Int32Array {
  const words = Math.ceil(sb.blockCount / 32);
  const bitmap = new Int32Array(words);
  const perBlock = (BLOCK_SIZE - MB_HEADER_BYTES) / 4;
  for (let k = 0; k < sb.bitmapBlocks; k++) {
    const block = sb.bitmap + k;
    const buf = readBlock(dev, overlay, block);
    try {
      checkBlock(buf, MAGIC_BITMAP, block, 0, 'block bitmap');
    } catch (err) {
      p.error(detail(err));
      // What we cannot read we take as all used: nothing gets allocated over unknown claims.
      bitmap.fill(-1, k * perBlock, Math.min(words, (k + 1) * perBlock));
      continue;
    }
    const from = k * perBlock;
    const n = Math.min(perBlock, words - from);
    bitmap.set(new Int32Array(buf.buffer, MB_HEADER_BYTES, n), from);
  }
  return bitmap;
}

export function bitSet(bitmap: Int32Array, b: number): boolean {
  return (bitmap[b >>> 5] & (1 << (b & 31))) !== 0;
}

/**
 * e2fsck pass 5 against pass 1: no data block claimed twice, every claimed block marked used, every
 * metadata block marked used; blocks marked used that nothing claims are leaks (a crash between an
 * allocation and its commit leaves them): returned for the caller to free.
 * Model: model/journal.pml crash R_check (docs/MODEL.md).
 */
function crossCheck(sb: SuperBlock, inodes: ModelInode[], bitmap: Int32Array, p: Problems): { owner: Int32Array; leaked: number[] } {
  const owner = new Int32Array(sb.blockCount);
  for (const m of inodes) {
    for (const node of m.nodes) {
      const b = node.pblk;
      if (owner[b] !== 0) p.error(`block ${b}, an extent-tree node of inode ${m.ino}, is also claimed by inode ${owner[b] - 1}`);
      owner[b] = m.ino + 1;
      if (!bitSet(bitmap, b)) p.error(`bitmap: extent-tree node block ${b} of inode ${m.ino} is marked free`);
    }
    for (let i = 0; i < m.disk.extentCount; i++) {
      const e = i * EXTENT_WORDS;
      const pblk = m.extents[e + E_PBLK];
      const len = m.extents[e + E_LEN];
      for (let b = pblk; b < pblk + len; b++) {
        if (owner[b] !== 0) {
          p.error(`block ${b} is claimed by inode ${m.ino} and by inode ${owner[b] - 1}`);
          continue;
        }
        owner[b] = m.ino + 1;
        if (!bitSet(bitmap, b)) p.error(`bitmap: block ${b} of inode ${m.ino} is marked free`);
      }
    }
  }
  for (let b = 0; b < sb.firstDataBlock; b++) {
    if (!bitSet(bitmap, b)) {
      p.error(`bitmap: metadata block ${b} is marked free`);
      break;
    }
  }
  const leaked: number[] = [];
  for (let b = sb.firstDataBlock; b < sb.blockCount; b++) if (owner[b] === 0 && bitSet(bitmap, b)) leaked.push(b);
  return { owner, leaked };
}
