// Test helpers that damage an image on purpose: read and change fields of its superblock, inode
// records, extent records, bitmap and journal, and (when asked) fix the checksums afterwards so
// the damage gets past them — what the structure-aware fuzzer and the damage tests do.
import {
  DI_CRC,
  INODE_DISK_BYTES,
  INODES_PER_BLOCK,
  JSB_CRC,
  MB_CRC,
  SB_CRC,
  crc32c,
  decodeSuperBlock,
  inodeRecordOffset,
  setU32,
  u32,
  type SuperBlock,
} from '../../src/ondisk.js';

export const BLOCK = 4096;

export function blockOf(img: Uint8Array, b: number): Uint8Array {
  return img.subarray(b * BLOCK, (b + 1) * BLOCK);
}

export function superOf(img: Uint8Array): SuperBlock {
  return decodeSuperBlock(blockOf(img, 0), 'image', img.byteLength);
}

/** Recompute the superblock's checksum. */
export function resealSuper(img: Uint8Array): void {
  const b = blockOf(img, 0);
  setU32(b, SB_CRC, crc32c(b.subarray(0, SB_CRC * 4)));
}

/** Recompute a metadata block's header checksum (inode table, extents, bitmap). */
export function resealBlock(img: Uint8Array, block: number): void {
  const b = blockOf(img, block);
  setU32(b, MB_CRC, 0);
  setU32(b, MB_CRC, crc32c(b));
}

/** Recompute inode `ino`'s record checksum and its block's. */
export function resealInode(img: Uint8Array, sb: SuperBlock, ino: number): void {
  const block = sb.inodeTable + Math.floor(ino / INODES_PER_BLOCK);
  const rec = blockOf(img, block).subarray(inodeRecordOffset(ino), inodeRecordOffset(ino) + INODE_DISK_BYTES);
  if (u32(rec, 0) !== 0) setU32(rec, DI_CRC, crc32c(rec.subarray(0, DI_CRC * 4)));
  resealBlock(img, block);
}

export function resealJournalSuper(img: Uint8Array, sb: SuperBlock): void {
  const b = blockOf(img, sb.journal);
  setU32(b, JSB_CRC, crc32c(b.subarray(0, JSB_CRC * 4)));
}

/** The record bytes of inode `ino`. */
export function inodeRecord(img: Uint8Array, sb: SuperBlock, ino: number): Uint8Array {
  const block = sb.inodeTable + Math.floor(ino / INODES_PER_BLOCK);
  return blockOf(img, block).subarray(inodeRecordOffset(ino), inodeRecordOffset(ino) + INODE_DISK_BYTES);
}

export { setU32, u32 };
