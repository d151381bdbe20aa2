// The lock_stat text table and its plain-language reading.
// kernel counterpart: /proc/lock_stat (Documentation/locking/lockstat.rst, version 0.4): the
// same column names, times printed in µs with two decimals (the JSON rows carry ns).

import type { LockStatRow } from '../lockstat.js';
import { OPS, type OpName } from '../shm/layout.js';

const COLUMNS = [
  'contentions',
  'waittime-min',
  'waittime-max',
  'waittime-total',
  'waittime-avg',
  'acquisitions',
  'holdtime-min',
  'holdtime-max',
  'holdtime-total',
  'holdtime-avg',
] as const;

const us = (ns: number) => (ns / 1000).toFixed(2);

/** Rows sorted by contentions, then acquisitions (lock_stat sorts by contentions). */
export function sortRows(rows: LockStatRow[]): LockStatRow[] {
  return [...rows].sort((a, b) => b.contentions - a.contentions || b.acquisitions - a.acquisitions);
}

export function formatLockStatTable(rows: LockStatRow[], opts: { all?: boolean } = {}): string {
  const shown = sortRows(rows).filter((r) => opts.all || r.acquisitions > 0 || r.contentions > 0);
  const nameWidth = Math.max(20, ...shown.map((r) => r.class.length + 1));
  const w = 15;
  const lines: string[] = [];
  lines.push('lock_stat version 0.4 (dioread; times in µs)');
  lines.push('-'.repeat(nameWidth + COLUMNS.length * (w + 1)));
  lines.push(`${'class name'.padStart(nameWidth)} ${COLUMNS.map((c) => c.padStart(w)).join(' ')}`);
  lines.push('-'.repeat(nameWidth + COLUMNS.length * (w + 1)));
  for (const r of shown) {
    const cells = COLUMNS.map((c) => (c === 'contentions' || c === 'acquisitions' ? String(r[c]) : us(r[c])).padStart(w));
    lines.push(`${(r.class + ':').padStart(nameWidth)} ${cells.join(' ')}`);
    const waiters = OPS.filter((op) => r.points[op].contentions > 0).map((op) => `${r.points[op].contentions} [${op}]`);
    const holders = OPS.filter((op) => r.points[op].contending > 0).map((op) => `${r.points[op].contending} [${op}]`);
    const takers = OPS.filter((op) => r.points[op].acquisitions > 0).map((op) => `${r.points[op].acquisitions} [${op}]`);
    if (takers.length) lines.push(`${''.padStart(nameWidth)}   acquired by   ${takers.join('  ')}`);
    if (waiters.length) lines.push(`${''.padStart(nameWidth)}   contentions   ${waiters.join('  ')}`);
    if (holders.length) lines.push(`${''.padStart(nameWidth)}   contending    ${holders.join('  ')}`);
    lines.push('');
  }
  return lines.join('\n');
}

const WHO: Record<OpName, [string, string]> = {
  read: ['readers', 'a reader'],
  write: ['writers', 'a writer'],
  writeback: ['writeback', 'writeback'],
  convert: ['the conversion worker', 'the conversion worker'],
  sync: ['sync calls', 'a sync'],
  truncate: ['truncates', 'a truncate'],
  other: ['other operations', 'another operation'],
};

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** One sentence per contended class: who waited behind whom, how long. */
export function readLockStats(rows: LockStatRow[]): string[] {
  const out: string[] = [];
  for (const r of sortRows(rows)) {
    if (r.contentions === 0) continue;
    let best: [OpName, OpName, number] = ['other', 'other', -1];
    for (const w of OPS) for (const h of OPS) if (r.behind[w][h] > best[2]) best = [w, h, r.behind[w][h]];
    const pct = Math.round((100 * best[2]) / r.contentions);
    let s =
      r.class === 'extent_seqlock'
        ? `${r.class}: ${fmt(r.contentions)} read retries (a lockless reader found the sequence odd or moved) in ${fmt(r.acquisitions)} extent lookups, ${pct}% of them ${WHO[best[0]][0]} retrying behind ${WHO[best[1]][1]}`
        : `${r.class}: ${fmt(r.contentions)} contentions in ${fmt(r.acquisitions)} acquisitions, ${pct}% of them ${WHO[best[0]][0]} waiting behind ${WHO[best[1]][1]}`;
    if (r['waittime-total'] > 0) s += `; ${us(r['waittime-total'] / 1000)} ms waited in all, ${us(r['waittime-avg'])} µs on average`;
    out.push(s);
  }
  const imutex = rows.find((r) => r.class === 'i_mutex');
  if (imutex) {
    const byReads = imutex.points.read.acquisitions;
    out.push(byReads === 0 ? 'i_mutex: readers never took it (dioread_nolock reads skip the inode mutex)' : `i_mutex: readers took it ${fmt(byReads)} times (reads serialize on the inode mutex)`);
  }
  if (out.length === 1 && rows.every((r) => r.contentions === 0)) out.unshift('no lock was contended');
  return out;
}
