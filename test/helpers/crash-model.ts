// The expected contents of files under a crash: every version a file went through (one per engine
// call that changed it), and which version each sync covered. A crash state is judged against it.
import { PAGE, pattern } from './files.js';
import { rng } from './image.js';
import type { Engine, FileHandle } from '../../src/index.js';
import { offlineMount } from './seam.js';

export const SECTOR = 512;

export class VersionModel {
  /** Per file: its contents after each changing call, in order. */
  readonly versions = new Map<string, Buffer[]>();
  /** Marks: mark number → per file, the index of the version the sync covered. */
  readonly marks: Array<Map<string, number>> = [];
  private readonly synced = new Map<string, number>();

  current(name: string): Buffer {
    const v = this.versions.get(name);
    return v && v.length > 0 ? v[v.length - 1] : Buffer.alloc(0);
  }
  push(name: string, content: Buffer): void {
    if (!this.versions.has(name)) this.versions.set(name, []);
    this.versions.get(name)!.push(content);
  }
  /** A sync of `name` returned: its current version is durable. Returns the mark number. */
  synced_(name: string): number {
    this.synced.set(name, this.versions.get(name)!.length - 1);
    this.marks.push(new Map(this.synced));
    return this.marks.length - 1;
  }
  /** Everything (close returned). */
  syncedAll(): number {
    for (const [name, v] of this.versions) this.synced.set(name, v.length - 1);
    this.marks.push(new Map(this.synced));
    return this.marks.length - 1;
  }

  /**
   * Judge one file as a crash state shows it (`got` null: absent), knowing the last mark that
   * completed before the crash (-1: none). Returns a problem, or null when the state is allowed:
   * a synced version is intact unless a later version began; every 512-byte sector is what a page of
   * some allowed version holds there (its bytes, zeros past its end), or zeros where a later version
   * may have left unwritten blocks; nothing else (no stale sentinel, no other file's bytes).
   */
  judge(name: string, got: { size: number; bytes: Uint8Array } | null, lastMark: number): string | null {
    const all = this.versions.get(name) ?? [];
    const s = lastMark >= 0 ? (this.marks[lastMark].get(name) ?? -1) : -1;
    if (got === null) return s >= 0 ? `${name}: missing, though its version ${s} was synced` : null;
    const allowed = s >= 0 ? all.slice(s) : [Buffer.alloc(0), ...all];
    const laterExists = s < 0 || s < all.length - 1;
    if (!laterExists) {
      const want = all[s];
      if (got.size !== want.length) return `${name}: size ${got.size}, synced version ${s} has ${want.length} and nothing later began`;
      if (!Buffer.from(got.bytes).equals(want)) return `${name}: synced version ${s} is not intact (${firstDiffAt(got.bytes, want)})`;
      return null;
    }
    const maxSize = Math.max(...allowed.map((b) => b.length));
    if (got.size > maxSize) return `${name}: size ${got.size} above every allowed version's (${maxSize})`;
    for (let o = 0; o < got.size; o += SECTOR) {
      const end = Math.min(o + SECTOR, got.size);
      const sec = got.bytes.subarray(o, end);
      if (sec.every((x) => x === 0)) continue;
      if (allowed.some((b) => sectorFrom(sec, b, o))) continue;
      return `${name}: sector at byte ${o} matches no allowed version (${allowed.length} allowed, from version ${Math.max(s, 0)}) nor zeros`;
    }
    return null;
  }
}

/**
 * Is `sec` (the bytes at offset `o`) what a page of version `b` holds there? A page carries the
 * version's bytes and zeros past that version's end, so when a file grows, a block written back at
 * an older, shorter version shows zeros after the old end: allowed (old data or zeros).
 */
function sectorFrom(sec: Uint8Array, b: Buffer, o: number): boolean {
  for (let i = 0; i < sec.length; i++) if (sec[i] !== (o + i < b.length ? b[o + i] : 0)) return false;
  return true;
}

function firstDiffAt(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return `first difference at byte ${i}: ${a[i]} vs ${b[i]}`;
  return 'lengths differ';
}

/** One step of the crash workload, planned ahead so that a parent can know what a child does. */
export type WorkOp =
  | { op: 'rewrite'; name: string; size: number; tag: number }
  | { op: 'write'; name: string; pos: number; len: number; tag: number }
  | { op: 'truncate'; name: string; len: number }
  | { op: 'allocate'; name: string; pos: number; len: number; mode: AllocateMode }
  | { op: 'sync'; name: string }
  | { op: 'close'; name: string };

/** fallocate's modes as the workload uses them. */
export type AllocateMode = 'prealloc' | 'keep' | 'punch' | 'zero' | 'zeroKeep';
export const ALLOCATE_MODES: AllocateMode[] = ['prealloc', 'keep', 'punch', 'zero', 'zeroKeep'];
export const ALLOCATE_OPTS: Record<AllocateMode, { keepSize?: boolean; punchHole?: boolean; zeroRange?: boolean }> = {
  prealloc: {},
  keep: { keepSize: true },
  punch: { punchHole: true },
  zero: { zeroRange: true },
  zeroKeep: { zeroRange: true, keepSize: true },
};

/** A file's bytes after fallocate(mode, pos, len), as Linux gives them (zeros where it punches or zeroes). */
function allocated(cur: Buffer, mode: AllocateMode, pos: number, len: number): Buffer {
  const end = pos + len;
  const grows = mode === 'prealloc' || mode === 'zero';
  const next = Buffer.alloc(grows ? Math.max(cur.length, end) : cur.length);
  cur.copy(next);
  if (mode === 'punch' || mode === 'zero' || mode === 'zeroKeep') next.fill(0, Math.min(pos, next.length), Math.min(end, next.length));
  return next;
}

/**
 * Plan a metadata-heavy workload over a few files — whole rewrites (truncate to 0 then write),
 * overwrites that extend, truncates, fallocate in every mode, syncs, handle closes — and fill `model` with the versions each
 * step makes and the marks its syncs set. Deterministic for a seed; needs no engine.
 */
export function planWorkload(model: VersionModel, seed: number, steps: number): WorkOp[] {
  const rand = rng(seed);
  const names = ['alpha', 'beta', 'gamma', 'delta'];
  const ops: WorkOp[] = [];
  let tag = seed * 10_000;
  for (let step = 0; step < steps; step++) {
    const name = names[Math.floor(rand() * names.length)];
    if (!model.versions.has(name)) model.push(name, Buffer.alloc(0));
    const cur = model.current(name);
    const r = rand();
    if (r < 0.25) {
      const size = 1 + Math.floor(rand() * 10 * PAGE);
      ops.push({ op: 'rewrite', name, size, tag: ++tag });
      model.push(name, Buffer.alloc(0));
      model.push(name, pattern(tag, 0, size));
    } else if (r < 0.55) {
      const pos = Math.floor(rand() * (cur.length + 2 * PAGE));
      const len = 1 + Math.floor(rand() * 3 * PAGE);
      ops.push({ op: 'write', name, pos, len, tag: ++tag });
      const next = Buffer.alloc(Math.max(cur.length, pos + len));
      cur.copy(next);
      pattern(tag, pos, len).copy(next, pos);
      model.push(name, next);
    } else if (r < 0.65) {
      const len = Math.floor(rand() * cur.length);
      ops.push({ op: 'truncate', name, len });
      model.push(name, Buffer.from(cur.subarray(0, len)));
    } else if (r < 0.75) {
      const mode = ALLOCATE_MODES[Math.floor(rand() * ALLOCATE_MODES.length)];
      const pos = Math.floor(rand() * (cur.length + PAGE));
      const len = 1 + Math.floor(rand() * 4 * PAGE);
      ops.push({ op: 'allocate', name, pos, len, mode });
      model.push(name, allocated(cur, mode, pos, len));
    } else if (r < 0.93) {
      ops.push({ op: 'sync', name });
      model.synced_(name);
    } else ops.push({ op: 'close', name });
  }
  return ops;
}

/** Run planned steps on an engine; `onSynced(n)` after the n-th sync (0-based) returns. */
export async function runWorkload(eng: Engine, ops: WorkOp[], onSynced: (n: number) => void): Promise<void> {
  const handles = new Map<string, FileHandle>();
  let syncs = 0;
  for (const o of ops) {
    let f = handles.get(o.name);
    if (!f) {
      f = await eng.open(o.name, { create: true });
      handles.set(o.name, f);
    }
    if (o.op === 'rewrite') {
      await f.truncate(0);
      await f.write(pattern(o.tag, 0, o.size), 0, o.size, 0);
    } else if (o.op === 'write') await f.write(pattern(o.tag, o.pos, o.len), 0, o.len, o.pos);
    else if (o.op === 'truncate') await f.truncate(o.len);
    else if (o.op === 'allocate') await f.allocate(o.pos, o.len, ALLOCATE_OPTS[o.mode]);
    else if (o.op === 'sync') {
      await f.sync();
      onSynced(syncs++);
    } else {
      await f.close();
      handles.delete(o.name);
    }
  }
  for (const f of handles.values()) await f.close();
}

/** Plan and run (the in-process crash tests). */
export async function crashWorkload(eng: Engine, model: VersionModel, seed: number, steps: number, onSynced: (m: number) => void): Promise<void> {
  await runWorkload(eng, planWorkload(model, seed, steps), onSynced);
}

/**
 * Judge a whole crash state (an image as the device would hold it): it mounts offline with the
 * engine's own reader (journal replay, every check), and every file is one its history allows.
 * Returns the first problem, or null.
 */
export function judgeCrashState(model: VersionModel, image: Uint8Array, lastMark: number): string | null {
  let mounted;
  try {
    mounted = offlineMount(image);
  } catch (err) {
    return `does not mount: ${(err as Error).message}`;
  }
  for (const name of model.versions.keys()) {
    const problem = model.judge(name, mounted.files.get(name) ?? null, lastMark);
    if (problem !== null) return problem;
  }
  for (const name of mounted.files.keys()) if (!model.versions.has(name)) return `a file ${JSON.stringify(name)} nobody created`;
  return null;
}
