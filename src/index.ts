// dioread's package entry: it only re-exports the public names (DESIGN.md's contract).
export { Engine, FileHandle, type EngineOptions, type EngineCounters, type LockStatsLevel } from './engine.js';
export { attach, AttachedEngine, SyncFileHandle, type OpenOptions } from './attach.js';
export { DioreadError, type DioreadErrorCode } from './errors.js';
export type { LockStatRow, PointStats } from './lockstat.js';
export type { FileStat } from './inode.js';
export type { SharedDescriptor } from './shm/layout.js';
