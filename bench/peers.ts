// Set-up of the peers' data (the baselines a cached read is compared with): a SharedArrayBuffer, a
// host file in the OS page cache, an lmdb environment; each the size of the dioread file's read
// region, filled with the same bytes. No fio counterpart (fio's peers are other ioengines).
import fs from 'node:fs';
import path from 'node:path';

/** The bytes of block `i` (of blockSize) in every copy of the data set: the block number, repeated. */
export function fillBlock(buf: Buffer, i: number): void {
  buf.fill(0);
  for (let at = 0; at + 4 <= buf.length; at += 4) buf.writeUInt32LE(i >>> 0, at);
}

export function makeSab(sizeBytes: number, blockSize: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(sizeBytes);
  const view = Buffer.from(sab);
  const block = Buffer.alloc(blockSize);
  for (let i = 0; i * blockSize < sizeBytes; i++) {
    fillBlock(block, i);
    block.copy(view, i * blockSize);
  }
  return sab;
}

/** A host file of sizeBytes, written and then read once so that it sits in the OS page cache. */
export function makeCachedHostFile(dir: string, sizeBytes: number, blockSize: number): string {
  const file = path.join(dir, 'node-fs.dat');
  const fd = fs.openSync(file, 'w+');
  try {
    const block = Buffer.alloc(blockSize);
    for (let i = 0; i * blockSize < sizeBytes; i++) {
      fillBlock(block, i);
      fs.writeSync(fd, block, 0, blockSize, i * blockSize);
    }
    fs.fsyncSync(fd);
    const buf = Buffer.alloc(1 << 20);
    for (let at = 0; at < sizeBytes; at += buf.length) fs.readSync(fd, buf, 0, Math.min(buf.length, sizeBytes - at), at);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** Is the optional dependency lmdb installed and loadable here? null when yes, else why not. */
export async function lmdbMissing(): Promise<string | null> {
  try {
    await import('lmdb');
    return null;
  } catch (err) {
    return `lmdb (a dev dependency of dioread: npm install lmdb, or npm ci in dioread's repository) is not installed or does not load here: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** An lmdb environment holding sizeBytes / blockSize values of blockSize bytes, keys 0..n-1. */
export async function makeLmdbEnv(dir: string, sizeBytes: number, blockSize: number): Promise<string> {
  const lmdb = await import('lmdb');
  const envDir = path.join(dir, 'lmdb');
  const db = lmdb.open({ path: envDir, encoding: 'binary', keyEncoding: 'uint32', compression: false, noSync: true });
  try {
    const block = Buffer.alloc(blockSize);
    db.transactionSync(() => {
      for (let i = 0; i * blockSize < sizeBytes; i++) {
        fillBlock(block, i);
        db.putSync(i, Buffer.from(block));
      }
    });
    await db.flushed;
  } finally {
    await db.close();
  }
  return envDir;
}
