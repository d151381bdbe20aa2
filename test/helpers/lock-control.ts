// Shared between locks-mutual-exclusion.test.ts and its worker: the control words and the job shape.
import type { SharedDescriptor } from '../../src/index.js';

export const C_READY = 0; // workers that reached the start line
export const C_COUNTER = 1; // the counter of the mutual-exclusion test (plain loads and stores)
export const C_WRITERS_DONE = 2; // seqlock writers finished
export const C_WORDS = 4;

export interface LockJob {
  desc: SharedDescriptor;
  /** Int32Array(C_WORDS) shared by the workers of one run. */
  control: SharedArrayBuffer;
  kind: 'mutex' | 'spin' | 'seq-writer' | 'seq-reader';
  bypass: boolean;
  workers: number;
  writers: number;
  iterations: number;
  deadlineMs: number;
  /** 0: the lock's default spin count; 1: sleep almost at once (the futex path and its handoff). */
  spinOverride: number;
  lockWord: number;
  seqWord: number;
  pairLo: number;
  pairHi: number;
}

export interface LockResult {
  kind: LockJob['kind'];
  done: number;
  torn: number;
  retries: number;
  firstTorn: string;
}

