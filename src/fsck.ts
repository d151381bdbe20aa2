// fsck: check an image offline — superblock, inode and extent checksums, extent invariants,
// blocks claimed twice, bitmap agreement.
// ext4 counterpart: e2fsck passes 1 (inodes and extents) and 5 (bitmaps), much reduced.

import fs from 'node:fs';
import { isBlockUsed } from './alloc.js';
import { FileDevice } from './device.js';
import { DioreadError } from './errors.js';
import { INODE_DISK_BYTES, SB_STATE_CLEAN, decodeInode, crc32 } from './ondisk.js';
import { BLOCK_SIZE, E_FLAGS, E_LBLK, E_LEN, E_PBLK, EXT_MAX_LEN, EXT_UNWRITTEN, EXTENT_WORDS } from './shm/layout.js';
import { readSuperBlock } from './super.js';

export interface FsckReport {
  clean: boolean;
  errors: string[];
  warnings: string[];
  files: Array<{ name: string; size: number; blocks: number; extents: number; unwrittenBlocks: number }>;
  blockCount: number;
  firstDataBlock: number;
  usedBlocks: number;
  freeBlocks: number;
}

export function fsckImage(path: string): FsckReport {
  if (!fs.existsSync(path)) throw new DioreadError('ENOENT', `fsck: no image at ${JSON.stringify(path)}`);
  const dev = new FileDevice(path, 1, false);
  try {
    const sb = readSuperBlock(dev, path);
    const errors: string[] = [];
    const warnings: string[] = [];
    if (sb.state !== SB_STATE_CLEAN) warnings.push('the image was not closed cleanly (it is open elsewhere, or a process died with it open)');
    const claimed = new Int32Array(sb.blockCount).fill(-1);
    const table = new Uint8Array(sb.inodeBlocks * BLOCK_SIZE);
    dev.readMeta(sb.inodeTable * BLOCK_SIZE, table);
    const files: FsckReport['files'] = [];
    const names = new Set<string>();
    for (let ino = 0; ino < sb.maxFiles; ino++) {
      let di;
      try {
        di = decodeInode(table.subarray(ino * INODE_DISK_BYTES, (ino + 1) * INODE_DISK_BYTES), ino);
      } catch (err) {
        errors.push((err as Error).message);
        continue;
      }
      if (!di.used) continue;
      const tag = `inode ${ino} (${JSON.stringify(di.name)})`;
      if (names.has(di.name)) errors.push(`${tag}: name used by another inode`);
      names.add(di.name);
      if (di.extentCount > sb.extentsPerFile) {
        errors.push(`${tag}: ${di.extentCount} extents, more than ${sb.extentsPerFile}`);
        continue;
      }
      const ext = new Uint8Array(di.extentCount * EXTENT_WORDS * 4);
      dev.readMeta(sb.extentTable * BLOCK_SIZE + ino * sb.extentsPerFile * EXTENT_WORDS * 4, ext);
      if (crc32(ext) !== di.extentCrc) errors.push(`${tag}: extent checksum mismatch`);
      const w = new Int32Array(ext.buffer, 0, di.extentCount * EXTENT_WORDS);
      let prevEnd = -1;
      let blocks = 0;
      let unwritten = 0;
      for (let i = 0; i < di.extentCount; i++) {
        const e = i * EXTENT_WORDS;
        const lblk = w[e + E_LBLK];
        const len = w[e + E_LEN];
        const pblk = w[e + E_PBLK];
        const flags = w[e + E_FLAGS];
        if (len < 1 || len > EXT_MAX_LEN) errors.push(`${tag} extent ${i}: length ${len}`);
        if (lblk < prevEnd) errors.push(`${tag} extent ${i}: lblk ${lblk} overlaps the previous extent`);
        if (flags & ~EXT_UNWRITTEN) errors.push(`${tag} extent ${i}: unknown flags ${flags}`);
        if (pblk < sb.firstDataBlock || pblk + len > sb.blockCount) {
          errors.push(`${tag} extent ${i}: pblk ${pblk}+${len} outside data blocks ${sb.firstDataBlock}..${sb.blockCount - 1}`);
          continue;
        }
        for (let b = pblk; b < pblk + Math.max(0, len); b++) {
          if (claimed[b] >= 0) errors.push(`${tag} extent ${i}: block ${b} also belongs to inode ${claimed[b]}`);
          claimed[b] = ino;
        }
        if (flags & EXT_UNWRITTEN) unwritten += len;
        blocks += len;
        prevEnd = lblk + len;
      }
      if (blocks !== di.blocks) errors.push(`${tag}: block count ${di.blocks}, its extents hold ${blocks}`);
      files.push({ name: di.name, size: di.size, blocks, extents: di.extentCount, unwrittenBlocks: unwritten });
    }
    const bitmap = new Int32Array(Math.ceil(sb.blockCount / 32));
    dev.readMeta(sb.bitmap * BLOCK_SIZE, new Uint8Array(bitmap.buffer));
    let used = 0;
    let leaked = 0;
    for (let b = 0; b < sb.blockCount; b++) {
      const set = isBlockUsed(bitmap, 0, b);
      if (b < sb.firstDataBlock) {
        if (!set) errors.push(`bitmap: metadata block ${b} is marked free`);
        continue;
      }
      if (set) used++;
      if (claimed[b] >= 0 && !set) errors.push(`bitmap: block ${b} of inode ${claimed[b]} is marked free`);
      if (claimed[b] < 0 && set) leaked++;
    }
    if (leaked > 0) warnings.push(`bitmap: ${leaked} block(s) marked used that no file holds (leaked)`);
    return {
      clean: errors.length === 0,
      errors,
      warnings,
      files,
      blockCount: sb.blockCount,
      firstDataBlock: sb.firstDataBlock,
      usedBlocks: used,
      freeBlocks: sb.blockCount - sb.firstDataBlock - used,
    };
  } finally {
    dev.close();
  }
}
