// The name cache: a hash of every named inode by (directory, name), so a path walk finds a name in
// one bucket instead of scanning the inode table.
// ext4 counterpart: the dentry cache of fs/dcache.c (d_hash, d_lookup, __d_rehash, __d_drop) in
// front of ext4_lookup; here it holds every name (this format keeps names in the inode records, so
// the table is the directory), and it is built at mount.
//
// Thread safety: buckets and each inode's I_DCACHE_NEXT change under namespace_lock, which every
// lookup also holds (namei.ts withNamespace): a chain is never walked while it changes.
// Invariants: an inode is on exactly one chain (the bucket of its directory and name) while it is
// named (INODE_USED with a name), and on none (I_DCACHE_NEXT = DCACHE_UNHASHED) otherwise.

import { InvariantError } from './errors.js';
import { DCACHE_UNHASHED, I_DCACHE_NEXT, I_NAME, I_NAME_LEN, I_PARENT, dcacheBucketWord, inodeWord, type Layout } from './shm/layout.js';

/** FNV-1a over the directory and the name's bytes. */
function hashOf(dir: number, bytes: Uint8Array): number {
  let h = (0x811c9dc5 ^ (dir + 2)) >>> 0;
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** The name bytes an inode holds now (a view into the meta buffer). */
function nameOf(i32: Int32Array, l: Layout, ino: number): Uint8Array {
  return new Uint8Array(i32.buffer, inodeWord(l, ino, I_NAME) * 4, i32[inodeWord(l, ino, I_NAME_LEN)]);
}

/** __d_rehash: put inode `ino` on the chain of its current directory and name. Under namespace_lock. */
export function dcacheAdd(i32: Int32Array, l: Layout, ino: number): void {
  const next = inodeWord(l, ino, I_DCACHE_NEXT);
  if (i32[next] !== DCACHE_UNHASHED) throw new InvariantError(`name cache: inode ${ino} is hashed twice`);
  const b = dcacheBucketWord(l, hashOf(i32[inodeWord(l, ino, I_PARENT)], nameOf(i32, l, ino)));
  i32[next] = i32[b];
  i32[b] = ino;
}

/** __d_drop: take inode `ino` off its chain (before its name or directory changes). Under namespace_lock. */
export function dcacheDrop(i32: Int32Array, l: Layout, ino: number): void {
  const next = inodeWord(l, ino, I_DCACHE_NEXT);
  if (i32[next] === DCACHE_UNHASHED) return;
  const b = dcacheBucketWord(l, hashOf(i32[inodeWord(l, ino, I_PARENT)], nameOf(i32, l, ino)));
  let prev = -1;
  let at = i32[b];
  for (let steps = 0; at !== ino; steps++) {
    if (at < 0 || steps > l.maxFiles) throw new InvariantError(`name cache: inode ${ino} is not on the chain of its name`);
    prev = at;
    at = i32[inodeWord(l, at, I_DCACHE_NEXT)];
  }
  if (prev < 0) i32[b] = i32[next];
  else i32[inodeWord(l, prev, I_DCACHE_NEXT)] = i32[next];
  i32[next] = DCACHE_UNHASHED;
}

/**
 * d_lookup: the hashed inode called `bytes` in directory `dir`, or -1. `named(ino)` confirms a
 * candidate (the caller checks its state). Under namespace_lock.
 */
export function dcacheLookup(i32: Int32Array, l: Layout, dir: number, bytes: Uint8Array): number {
  for (let ino = i32[dcacheBucketWord(l, hashOf(dir, bytes))], steps = 0; ino >= 0; ino = i32[inodeWord(l, ino, I_DCACHE_NEXT)], steps++) {
    if (steps > l.maxFiles) throw new InvariantError(`name cache: a chain of directory ${dir} does not end`);
    if (i32[inodeWord(l, ino, I_PARENT)] !== dir || i32[inodeWord(l, ino, I_NAME_LEN)] !== bytes.length) continue;
    const name = nameOf(i32, l, ino);
    let same = true;
    for (let i = 0; i < bytes.length && same; i++) same = name[i] === bytes[i];
    if (same) return ino;
  }
  return -1;
}
