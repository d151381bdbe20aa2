// Engine options: what Engine.open and Engine.mkfs accept, validated into one config object.
// ext4 counterpart: parse_options() in fs/ext4/super.c (mount options) and mke2fs's arguments.

import { DioreadError, showValue } from './errors.js';
import { MAX_FILES_LIMIT, defaultMaxFiles } from './ondisk.js';
import { BLOCK_SIZE, STATS_COUNTERS, STATS_OFF, STATS_TIMING } from './shm/layout.js';
import { DEVICE_SEAM, FAULT_NO_TREE_NODES, SPLIT_COMMITS, UNSAFE_NO_NODE_HOLD, UNSAFE_EARLY_REUSE, UNSAFE_EARLY_WRITTEN, UNSAFE_NO_JOURNAL, UNSAFE_NO_RENAME_COUPLING, UNSAFE_RESET_SUPER_UNFLUSHED, UNSAFE_UNPIN_AT_WRITEBACK } from './testing-symbols.js';
import { checkBool, checkChoice, checkInt, checkOptions } from './validate.js';
import type { ReadLocking } from './volume.js';

export type LockStatsLevel = 'off' | 'counters' | 'timing';
export const STATS_LEVELS: readonly LockStatsLevel[] = ['off', 'counters', 'timing'];
export const LEVEL_CODE: Record<LockStatsLevel, number> = { off: STATS_OFF, counters: STATS_COUNTERS, timing: STATS_TIMING };

export interface EngineOptions {
  /** Backing image file. Omitted: an in-memory device (a SharedArrayBuffer). */
  path?: string;
  /** Format a missing or empty image file. */
  create?: boolean;
  /** Open for reading only: every write fails with EROFS; nothing is written to the image. */
  readOnly?: boolean;
  /** Device size when formatting (a multiple of 4096). Default 64 MiB. */
  sizeBytes?: number;
  /** Page-cache frames of 4 KiB. Default 1024 (4 MiB). */
  cachePages?: number;
  /**
   * How reads lock the inode: 'exclusive' (the inode mutex, ext4 before the seed), 'shared' (the
   * inode's rwsem shared: ext4 since 5.5, XFS) or 'none' (the seed's dioread_nolock). Default 'none'.
   */
  readLocking?: ReadLocking;
  /** The older switch: true is readLocking 'none', false is 'exclusive'. */
  dioreadNolock?: boolean;
  /** Open the image with O_DIRECT: 'auto' (when the filesystem allows), true (or fail), false. */
  deviceDirect?: 'auto' | boolean;
  /** Inode table size when formatting. Default: one inode per 64 KiB of the device, 64 to 1048576 (mke2fs's bytes-per-inode). */
  maxFiles?: number;
  /**
   * Journal size in 4 KiB blocks when formatting (mke2fs -J size=). Default: 1/32 of the device
   * within 64..8192 blocks. At least two of the largest transactions the geometry allows.
   */
  journalBlocks?: number;
  /** io_end pool size. Default 64. */
  ioEnds?: number;
  /** Thread slots (views that may attach at once, the engine's own workers included). Default 64. */
  maxThreads?: number;
  /** Lock statistics: 'off', 'counters' (default) or 'timing'. */
  lockStats?: LockStatsLevel;
  /** Worker threads behind the async API. Default 2. */
  poolThreads?: number;
  /** Trace events kept per thread (for startTrace/trace()). Default 0: no trace buffer. */
  traceEvents?: number;
}

const ENGINE_OPTIONS = [
  'path',
  'create',
  'readOnly',
  'sizeBytes',
  'cachePages',
  'dioreadNolock',
  'readLocking',
  'deviceDirect',
  'maxFiles',
  'journalBlocks',
  'ioEnds',
  'maxThreads',
  'lockStats',
  'poolThreads',
  'traceEvents',
] as const;

export const DEFAULT_SIZE_BYTES = 64 * 1024 * 1024;
const MAX_SIZE_BYTES = 2 ** 31 * BLOCK_SIZE;

/** Engine.open's options, checked, with every default filled in. */
export interface EngineConfig {
  path: string | null;
  create: boolean;
  readOnly: boolean;
  sizeBytes: number;
  cachePages: number;
  readLocking: ReadLocking;
  deviceDirect: 'auto' | boolean;
  maxFiles: number;
  /** null: mkfs's default for the geometry. */
  journalBlocks: number | null;
  ioEnds: number;
  maxThreads: number;
  statsLevel: LockStatsLevel;
  poolThreads: number;
  traceCapacity: number;
  /** Test-only broken modes (testing-symbols.ts). */
  unsafeEarlyWritten: boolean;
  unsafeUnpinAtWriteback: boolean;
  unsafeNoJournal: boolean;
  unsafeEarlyReuse: boolean;
  unsafeResetSuperUnflushed: boolean;
  unsafeNoRenameCoupling: boolean;
  faultNoTreeNodes: boolean;
  splitCommits: boolean;
  unsafeNoNodeHold: boolean;
  /** Test-only device seam (device-seam.ts), or null. */
  seam: SharedArrayBuffer | null;
}

export function checkSizeBytes(where: string, value: unknown, dflt: number): number {
  const n = checkInt(where, 'sizeBytes', value, BLOCK_SIZE, MAX_SIZE_BYTES - BLOCK_SIZE, dflt);
  if (n % BLOCK_SIZE !== 0) throw new DioreadError('EINVAL', `${where}: sizeBytes ${n} is not a multiple of ${BLOCK_SIZE}`);
  return n;
}

export function checkPath(where: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new DioreadError('EINVAL', `${where}: path must be a non-empty string, got ${showValue(value)}`);
  return value;
}

const READ_LOCKINGS: readonly ReadLocking[] = ['exclusive', 'shared', 'none'];

/** readLocking, with dioreadNolock as its older alias (true: 'none', false: 'exclusive'). */
function parseReadLocking(where: string, readLocking: unknown, dioreadNolock: unknown): ReadLocking {
  const rl = readLocking === undefined ? undefined : checkChoice(where, 'readLocking', readLocking, READ_LOCKINGS, 'none');
  const nl = checkBool(where, 'dioreadNolock', dioreadNolock, true);
  if (rl === undefined) return nl ? 'none' : 'exclusive';
  if (dioreadNolock !== undefined && nl !== (rl === 'none')) {
    throw new DioreadError('EINVAL', `${where}: dioreadNolock ${String(dioreadNolock)} contradicts readLocking ${JSON.stringify(rl)}`);
  }
  return rl;
}

/** Format options of Engine.mkfs (and of Engine.open with create). */
export interface MkfsConfig {
  sizeBytes: number;
  maxFiles: number;
  /** null: mkfs's default for the geometry (mkfs checks a given size against the geometry). */
  journalBlocks: number | null;
}

/** The largest journal mkfs takes (32 MiB of log per transaction would already be absurd). */
const MAX_JOURNAL_BLOCKS = 1 << 18;

function checkJournalBlocks(where: string, value: unknown): number | null {
  return value === undefined ? null : checkInt(where, 'journalBlocks', value, 1, MAX_JOURNAL_BLOCKS, 0);
}

export function parseMkfsOptions(where: string, opts: unknown): MkfsConfig {
  const o = checkOptions(where, opts, ['sizeBytes', 'maxFiles', 'journalBlocks']);
  const sizeBytes = checkSizeBytes(where, o.sizeBytes, DEFAULT_SIZE_BYTES);
  return {
    sizeBytes,
    maxFiles: checkInt(where, 'maxFiles', o.maxFiles, 1, MAX_FILES_LIMIT, defaultMaxFiles(sizeBytes)),
    journalBlocks: checkJournalBlocks(where, o.journalBlocks),
  };
}

export function parseEngineOptions(where: string, opts: unknown): EngineConfig {
  const o = checkOptions(where, opts, ENGINE_OPTIONS);
  const deviceDirect = o.deviceDirect === undefined ? 'auto' : o.deviceDirect;
  if (deviceDirect !== 'auto' && deviceDirect !== true && deviceDirect !== false) {
    throw new DioreadError('EINVAL', `${where}: deviceDirect must be 'auto', true or false, got ${showValue(deviceDirect)}`);
  }
  const symbols = (opts ?? {}) as Record<symbol, unknown>;
  return {
    path: o.path === undefined ? null : checkPath(where, o.path),
    create: checkBool(where, 'create', o.create, false),
    readOnly: checkBool(where, 'readOnly', o.readOnly, false),
    sizeBytes: checkSizeBytes(where, o.sizeBytes, DEFAULT_SIZE_BYTES),
    cachePages: checkInt(where, 'cachePages', o.cachePages, 8, 1 << 22, 1024),
    readLocking: parseReadLocking(where, o.readLocking, o.dioreadNolock),
    deviceDirect,
    maxFiles: checkInt(where, 'maxFiles', o.maxFiles, 1, MAX_FILES_LIMIT, defaultMaxFiles(checkSizeBytes(where, o.sizeBytes, DEFAULT_SIZE_BYTES))),
    journalBlocks: checkJournalBlocks(where, o.journalBlocks),
    ioEnds: checkInt(where, 'ioEnds', o.ioEnds, 1, 1 << 16, 64),
    maxThreads: checkInt(where, 'maxThreads', o.maxThreads, 4, 1024, 64),
    statsLevel: checkChoice(where, 'lockStats', o.lockStats, STATS_LEVELS, 'counters'),
    poolThreads: checkInt(where, 'poolThreads', o.poolThreads, 1, 64, 2),
    traceCapacity: checkInt(where, 'traceEvents', o.traceEvents, 0, 1 << 22, 0),
    unsafeEarlyWritten: symbols[UNSAFE_EARLY_WRITTEN] === true,
    unsafeUnpinAtWriteback: symbols[UNSAFE_UNPIN_AT_WRITEBACK] === true,
    unsafeNoJournal: symbols[UNSAFE_NO_JOURNAL] === true,
    unsafeEarlyReuse: symbols[UNSAFE_EARLY_REUSE] === true,
    unsafeResetSuperUnflushed: symbols[UNSAFE_RESET_SUPER_UNFLUSHED] === true,
    unsafeNoRenameCoupling: symbols[UNSAFE_NO_RENAME_COUPLING] === true,
    faultNoTreeNodes: symbols[FAULT_NO_TREE_NODES] === true,
    splitCommits: symbols[SPLIT_COMMITS] === true,
    unsafeNoNodeHold: symbols[UNSAFE_NO_NODE_HOLD] === true,
    seam: symbols[DEVICE_SEAM] instanceof SharedArrayBuffer ? (symbols[DEVICE_SEAM] as SharedArrayBuffer) : null,
  };
}
