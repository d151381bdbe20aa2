// dioread's package entry: it only re-exports the public names (DESIGN.md's contract).
export { Engine, type EngineOptions, type EngineCounters, type LockStatsLevel } from './engine.js';
export { FileHandle } from './file-handle.js';
export { attach, AttachedEngine, SyncFileHandle } from './attach.js';
export { Dirent, Stats } from './stats.js';
export type { StatFs } from './namei.js';
export type { ReadLocking } from './volume.js';
export type { CacheState } from './inode.js';
export { DioreadError, type DioreadErrorCode } from './errors.js';
export type { LockStatRow, PointStats } from './lockstat.js';
export type { SharedDescriptor } from './shm/layout.js';
