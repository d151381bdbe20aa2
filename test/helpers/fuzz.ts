// The image fuzzer: structure-aware mutations (a field of a superblock, inode record, extent record,
// bitmap or journal block set to an edge value, then its checksums fixed so the damage gets past
// them) and blind damage (bytes flipped, a block zeroed or swapped, the image cut short). Used by
// fuzzed-images-are-refused-or-sane.test.ts and by `npm run fuzz`.
import {
  DI_ROOT,
  DI_ROOT_WORDS,
  INODES_PER_BLOCK,
  MB_HEADER_BYTES,
  crc32c,
  decodeSuperBlock,
  setU32,
  type SuperBlock,
} from '../../src/ondisk.js';
import { blockOf, resealBlock, resealInode, resealJournalSuper, resealSuper, inodeRecord, BLOCK } from './image-edit.js';

const EDGES = [0, 1, 2, 3, 15, 16, 255, 256, 4095, 4096, 32768, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export interface Mutation {
  what: string;
  apply(img: Uint8Array): Uint8Array;
}

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

function value(rand: () => number, old: number): number {
  const r = rand();
  if (r < 0.5) return pick(rand, EDGES);
  if (r < 0.75) return (old + (rand() < 0.5 ? 1 : -1)) >>> 0;
  return Math.floor(rand() * 2 ** 32);
}

function u32at(buf: Uint8Array, word: number): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(word * 4, true);
}

/** One random mutation for an image whose superblock is `sb`. */
export function randomMutation(rand: () => number, sb: SuperBlock): Mutation {
  const reseal = rand() < 0.75;
  const kind = Math.floor(rand() * 9);
  switch (kind) {
    case 0: {
      const word = Math.floor(rand() * 17);
      return {
        what: `superblock word ${word}${reseal ? ', resealed' : ''}`,
        apply(img) {
          const b = blockOf(img, 0);
          setU32(b, word, value(rand, u32at(b, word)));
          if (reseal) resealSuper(img);
          return img;
        },
      };
    }
    case 1:
    case 2: {
      const ino = Math.floor(rand() * sb.maxFiles);
      const word = Math.floor(rand() * 63);
      return {
        what: `inode ${ino} word ${word}${reseal ? ', resealed' : ''}`,
        apply(img) {
          const rec = inodeRecord(img, sb, ino);
          setU32(rec, word, value(rand, u32at(rec, word)));
          if (reseal) resealInode(img, sb, ino);
          else resealBlock(img, sb.inodeTable + Math.floor(ino / INODES_PER_BLOCK));
          return img;
        },
      };
    }
    case 3: {
      // The extent tree's root in the inode record: its header (entries, max, depth, generation)
      // or one of its entries (an extent's lblk, len, pblk, flags; an index's key and child block).
      const ino = Math.floor(rand() * Math.min(sb.maxFiles, 4));
      const word = DI_ROOT + Math.floor(rand() * DI_ROOT_WORDS);
      return {
        what: `inode ${ino} tree root word ${word - DI_ROOT}${reseal ? ', resealed' : ''}`,
        apply(img) {
          const rec = inodeRecord(img, sb, ino);
          setU32(rec, word, value(rand, u32at(rec, word)));
          if (reseal) resealInode(img, sb, ino);
          else resealBlock(img, sb.inodeTable + Math.floor(ino / INODES_PER_BLOCK));
          return img;
        },
      };
    }
    case 4: {
      const bit = Math.floor(rand() * sb.blockCount);
      return {
        what: `bitmap bit ${bit} flipped${reseal ? ', resealed' : ''}`,
        apply(img) {
          const block = sb.bitmap + Math.floor(bit / ((BLOCK - MB_HEADER_BYTES) * 8));
          const at = bit % ((BLOCK - MB_HEADER_BYTES) * 8);
          blockOf(img, block)[MB_HEADER_BYTES + (at >>> 3)] ^= 1 << (at & 7);
          if (reseal) resealBlock(img, block);
          return img;
        },
      };
    }
    case 5: {
      const jb = Math.floor(rand() * Math.min(sb.journalBlocks, 24));
      const word = Math.floor(rand() * 16);
      return {
        what: `journal block ${jb} word ${word}${reseal ? ', resealed' : ''}`,
        apply(img) {
          const b = blockOf(img, sb.journal + jb);
          setU32(b, word, value(rand, u32at(b, word)));
          if (reseal && jb === 0) resealJournalSuper(img, sb);
          else if (reseal && (u32at(b, 0) === 0x444a4453 || u32at(b, 0) === 0x444a434d)) {
            // descriptor: crc over the block with its crc word zero; commit: over its first 15 words
            if (u32at(b, 0) === 0x444a4453) {
              setU32(b, 3, 0);
              setU32(b, 3, crc32c(b));
            } else setU32(b, 15, crc32c(b.subarray(0, 60)));
          }
          return img;
        },
      };
    }
    case 6: {
      const block = Math.floor(rand() * sb.firstDataBlock);
      const n = 1 + Math.floor(rand() * 8);
      return {
        what: `${n} random bytes of metadata block ${block} flipped`,
        apply(img) {
          const b = blockOf(img, block);
          for (let i = 0; i < n; i++) b[Math.floor(rand() * BLOCK)] ^= 1 + Math.floor(rand() * 255);
          return img;
        },
      };
    }
    case 7: {
      const a = Math.floor(rand() * sb.firstDataBlock);
      const zero = rand() < 0.5;
      const c = Math.floor(rand() * sb.firstDataBlock);
      return {
        what: zero ? `metadata block ${a} zeroed` : `metadata blocks ${a} and ${c} swapped`,
        apply(img) {
          const x = blockOf(img, a);
          if (zero) x.fill(0);
          else {
            const y = blockOf(img, c);
            const t = x.slice();
            x.set(y);
            y.set(t);
          }
          return img;
        },
      };
    }
    default: {
      const frac = rand();
      return {
        what: `image cut to ${(frac * 100).toFixed(0)}% of its length`,
        apply(img) {
          return img.slice(0, Math.floor(img.length * frac));
        },
      };
    }
  }
}

export function superOfImage(img: Uint8Array): SuperBlock {
  return decodeSuperBlock(blockOf(img, 0), 'fuzz base', img.byteLength);
}

/**
 * Judge one (damaged) image: fsck reports without crashing (a DioreadError at most), and Engine.open
 * either refuses with a DioreadError or opens an engine that lists, reads (bounded), writes, syncs
 * and closes without any other error, after which fsck finds no errors. Returns what happened;
 * throws when the rule is broken.
 */
export async function judgeImage(img: Uint8Array, file: string): Promise<'refused' | 'opened'> {
  const { Engine, DioreadError } = await import('../../src/index.js');
  const { fsckImage } = await import('../../src/fsck.js');
  const fs = await import('node:fs');
  fs.writeFileSync(file, img);
  const bad = (where: string, err: unknown) => new Error(`${where}: not a DioreadError: ${(err as Error)?.stack ?? String(err)}`);
  try {
    const r = fsckImage(file);
    if (![0, 1, 4].includes(r.exitCode)) throw new Error(`fsck exit code ${r.exitCode}`);
  } catch (err) {
    if (!(err instanceof DioreadError)) throw bad('fsck', err);
  }
  let eng;
  try {
    eng = await Engine.open({ path: file, poolThreads: 1, cachePages: 16 });
  } catch (err) {
    if (!(err instanceof DioreadError)) throw bad('Engine.open', err);
    return 'refused';
  }
  try {
    for (const { name, size } of await eng.list()) {
      const f = await eng.open(name, 'r+');
      const st = await f.stat();
      if (st.size !== size || st.size < 0) throw new Error(`${name}: stat size ${st.size}, list says ${size}`);
      const probe = Buffer.alloc(Math.min(size, 64 * 4096));
      await f.read(probe, 0, probe.length, 0);
      if (size > 0) await f.read(Buffer.alloc(1), 0, 1, size - 1); // the last byte, however far
      await f.write(Buffer.from('fuzz'), 0, 4, Math.min(size, 8 * 4096));
      await f.sync();
      await f.close();
    }
  } catch (err) {
    if (!(err instanceof DioreadError)) throw bad('using the opened engine', err);
  } finally {
    await eng.close().catch((err: unknown) => {
      if (!(err instanceof DioreadError)) throw bad('close', err);
    });
  }
  const after = fsckImage(file);
  if (after.errors.length > 0) throw new Error(`an image that opened was left with fsck errors after use: ${after.errors.slice(0, 3).join('; ')}`);
  return 'opened';
}
