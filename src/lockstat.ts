// lock_stat rows: the per-thread counters of every lock class, summed, named as /proc/lock_stat.
// kernel counterpart: kernel/locking/lockdep_proc.c (lock_stat_show) and Documentation/locking/lockstat.rst.
//
// Each thread slot writes only its own counters (plain stores, no atomic read-modify-write); this
// module sums the slots. A sum taken while threads run is a snapshot that may be a few events old.

import {
  LOCK_CLASSES,
  OPS,
  ST_ACQ,
  ST_CONT,
  ST_HOLD_COUNT,
  ST_HOLD_MAX,
  ST_HOLD_MIN,
  ST_HOLD_TOTAL,
  ST_WAIT_MAX,
  ST_WAIT_MIN,
  ST_WAIT_TOTAL,
  type LockClassName,
  type OpName,
  statHolderField,
  statPointField,
  statRecordIndex,
} from './shm/layout.js';

export interface PointStats {
  /** Acquisitions by threads doing this operation. */
  acquisitions: number;
  /** Contentions suffered by threads doing this operation (lock_stat's contention points). */
  contentions: number;
  /** Contentions caused while the holder was doing this operation (lock_stat's contending points). */
  contending: number;
}

/**
 * One lock class. Times are in nanoseconds (lock_stat prints µs; the text table converts). Waits
 * are all timed; holds on a sample of the uncontended acquisitions, so holdtime-total is the
 * sampled average times acquisitions, and holdtime-min/max are those of the sample.
 */
export interface LockStatRow {
  class: LockClassName;
  contentions: number;
  'waittime-min': number;
  'waittime-max': number;
  'waittime-total': number;
  'waittime-avg': number;
  acquisitions: number;
  'holdtime-min': number;
  'holdtime-max': number;
  'holdtime-total': number;
  'holdtime-avg': number;
  /** Contention points: what the thread was doing when it took the lock. */
  points: Record<OpName, PointStats>;
  /** behind[waiterOp][holderOp]: contentions of a waiter doing waiterOp behind a holder doing holderOp. */
  behind: Record<OpName, Record<OpName, number>>;
}

export function collectLockStats(st: Float64Array, maxThreads: number): LockStatRow[] {
  const rows: LockStatRow[] = [];
  for (let cls = 0; cls < LOCK_CLASSES.length; cls++) {
    let acq = 0;
    let cont = 0;
    let wTot = 0;
    let wMin = 0;
    let wMax = 0;
    let hTot = 0;
    let hMin = 0;
    let hMax = 0;
    let hCount = 0;
    const points = Object.fromEntries(OPS.map((op) => [op, { acquisitions: 0, contentions: 0, contending: 0 }])) as Record<OpName, PointStats>;
    const behind = Object.fromEntries(OPS.map((w) => [w, Object.fromEntries(OPS.map((h) => [h, 0]))])) as Record<OpName, Record<OpName, number>>;
    for (let slot = 0; slot < maxThreads; slot++) {
      const b = statRecordIndex(slot, cls);
      acq += st[b + ST_ACQ];
      cont += st[b + ST_CONT];
      wTot += st[b + ST_WAIT_TOTAL];
      if (st[b + ST_WAIT_MIN] > 0 && (wMin === 0 || st[b + ST_WAIT_MIN] < wMin)) wMin = st[b + ST_WAIT_MIN];
      wMax = Math.max(wMax, st[b + ST_WAIT_MAX]);
      hTot += st[b + ST_HOLD_TOTAL];
      hCount += st[b + ST_HOLD_COUNT];
      if (st[b + ST_HOLD_MIN] > 0 && (hMin === 0 || st[b + ST_HOLD_MIN] < hMin)) hMin = st[b + ST_HOLD_MIN];
      hMax = Math.max(hMax, st[b + ST_HOLD_MAX]);
      for (let op = 0; op < OPS.length; op++) {
        points[OPS[op]].acquisitions += st[b + statPointField(op, 0)];
        points[OPS[op]].contentions += st[b + statPointField(op, 1)];
        for (let h = 0; h < OPS.length; h++) {
          const n = st[b + statHolderField(op, h)];
          behind[OPS[op]][OPS[h]] += n;
          points[OPS[h]].contending += n;
        }
      }
    }
    rows.push({
      class: LOCK_CLASSES[cls],
      contentions: cont,
      'waittime-min': Math.round(wMin),
      'waittime-max': Math.round(wMax),
      'waittime-total': Math.round(wTot),
      'waittime-avg': cont > 0 ? Math.round(wTot / cont) : 0,
      acquisitions: acq,
      'holdtime-min': Math.round(hMin),
      'holdtime-max': Math.round(hMax),
      // Holds are timed on a sample of uncontended acquisitions (src/sync/lock.ts): scale to all.
      'holdtime-total': hCount > 0 ? Math.round((hTot / hCount) * acq) : 0,
      'holdtime-avg': hCount > 0 ? Math.round(hTot / hCount) : 0,
      points,
      behind,
    });
  }
  return rows;
}
