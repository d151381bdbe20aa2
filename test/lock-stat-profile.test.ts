// Guards the lock_stat profile (issue 4) and DESIGN.md invariant 4: exact counts for a fixed
// single-thread sequence, contention with two threads on one lock (and what the holder was doing),
// nolock readers with zero i_mutex acquisitions, and a Chrome trace with events from every thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine } from '../src/index.js';
import type { LockStatRow } from '../src/lockstat.js';
import { runProfile } from '../bench/profile.js';
import { formatLockStatTable, readLockStats } from '../src/profile/lockstat-table.js';
import { I_MUTEX, inodeWord } from '../src/shm/layout.js';
import { runWorker } from './helpers/image.js';

const row = (rows: LockStatRow[], cls: string) => rows.find((r) => r.class === cls)!;

test('a fixed single-thread sequence gives exact lock counts per class and per operation', async () => {
  const eng = await Engine.open({ sizeBytes: 8 << 20, cachePages: 64, lockStats: 'counters' });
  try {
    const f = await eng.open('x', { create: true });
    await f.write(Buffer.alloc(4096, 1), { position: 0 });
    await f.sync();
    await f.read(Buffer.alloc(4096), { position: 0 }); // cached now
    await f.close();
    await eng.pauseConversion(); // nothing else may take a lock during the sequence
    eng.resetLockStats();
    await runWorker(new URL('./workers/lockstat-scenario.js', import.meta.url), { desc: eng.share() });
    const rows = eng.lockStats();
    const counts = Object.fromEntries(rows.map((r) => [r.class, r.acquisitions]));
    // openSync: the namespace lock. 100 cache hits: nothing. 10 overwrites: i_mutex, the mapping
    // lock (page lookup) and the page lock once each. fsync: i_mutex, the page lock for writeback,
    // the completed-list spinlock once to find the list empty; the writes changed mtime, so fsync
    // commits a transaction (the commit mutex once; the allocator lock twice: to copy the changed
    // bitmap blocks at the barrier, and to release the frees the commit made allocatable).
    assert.deepEqual(counts, {
      i_mutex: 11,
      i_completed_io_lock: 1,
      page_lock: 11,
      extent_seqlock: 0,
      mapping_lock: 10,
      alloc_lock: 2,
      io_end_pool: 0,
      namespace_lock: 1,
      wq_lock: 0,
      'i_rwsem-R': 0,
      'i_rwsem-W': 0,
      j_commit_mutex: 1,
    });
    assert.equal(row(rows, 'i_mutex').points.write.acquisitions, 10);
    assert.equal(row(rows, 'i_mutex').points.sync.acquisitions, 1);
    assert.equal(row(rows, 'i_mutex').points.read.acquisitions, 0);
    assert.equal(row(rows, 'page_lock').points.writeback.acquisitions, 1);
    assert.ok(rows.every((r) => r.contentions === 0), 'a single thread never contends');
  } finally {
    await eng.close();
  }
});

test('two threads on one lock: every round is a contention, charged to the waiter and to the holder', async () => {
  const eng = await Engine.open({ sizeBytes: 8 << 20, lockStats: 'timing' });
  try {
    eng.resetLockStats();
    const flags = new SharedArrayBuffer(8);
    const word = inodeWord(eng.layout, eng.layout.maxFiles - 1, I_MUTEX); // an unused inode's mutex
    const url = new URL('./workers/lock-contend.js', import.meta.url);
    const rounds = 20;
    await Promise.all([
      runWorker(url, { desc: eng.share(), word, role: 'holder', rounds, flags }),
      runWorker(url, { desc: eng.share(), word, role: 'waiter', rounds, flags }),
    ]);
    const m = row(eng.lockStats(), 'i_mutex');
    assert.equal(m.acquisitions, 2 * rounds);
    assert.equal(m.contentions, rounds);
    assert.equal(m.points.read.contentions, rounds, 'the waiter was reading');
    assert.equal(m.points.write.contending, rounds, 'the holder was writing');
    assert.equal(m.behind.read.write, rounds);
    assert.ok(m['waittime-total'] > 0 && m['waittime-max'] >= m['waittime-min'] && m['waittime-min'] > 0);
    assert.ok(m['holdtime-total'] > 0);
    assert.match(readLockStats([m]).join('\n'), /i_mutex: 20 contentions in 40 acquisitions, 100% of them readers waiting behind a writer/);
  } finally {
    await eng.close();
  }
});

test('profile: readers in mode none take no i_mutex, exclusive-mode readers do, shared-mode readers take i_rwsem shared; a writer takes i_completed_io_lock', async (t) => {
  const common = { workload: 'cached' as const, threads: 2, writers: 1, seconds: 1, fileMib: 4, trace: false, traceEventsPerThread: 0, lockStats: 'counters' as const };
  const nolock = await runProfile({ ...common, mode: 'none' });
  const locked = await runProfile({ ...common, mode: 'exclusive' });
  const shared = await runProfile({ ...common, mode: 'shared' });
  const a = row(nolock.classes, 'i_mutex');
  const b = row(locked.classes, 'i_mutex');
  t.diagnostic(`nolock: ${nolock.readIops} read IOPS, i_mutex by reads ${a.points.read.acquisitions}; lock: ${locked.readIops} read IOPS, i_mutex by reads ${b.points.read.acquisitions}`);
  assert.ok(nolock.readIops > 0 && locked.readIops > 0);
  assert.equal(a.points.read.acquisitions, 0, 'dioread_nolock reads skip the inode mutex');
  assert.ok(a.points.write.acquisitions > 0, 'the writer did take it');
  assert.ok(b.points.read.acquisitions > 0, 'lock-mode reads take the inode mutex');
  assert.equal(row(shared.classes, 'i_mutex').points.read.acquisitions, 0, 'shared-mode reads skip the inode mutex');
  assert.ok(row(shared.classes, 'i_rwsem-R').points.read.acquisitions > 0, 'shared-mode reads take i_rwsem shared');
  assert.ok(row(shared.classes, 'i_rwsem-W').points.write.acquisitions > 0, 'and the writer takes it exclusive');
  assert.ok(row(nolock.classes, 'i_completed_io_lock').acquisitions > 0, 'writeback linked io_ends on the completed list');
  assert.ok(nolock.counters.conversions > 0, 'and they were converted');
  assert.match(formatLockStatTable(nolock.classes), /class name +contentions +waittime-min/);
});

test('profile --trace: a Chrome trace with events from every workload thread and the completed-list counter', async () => {
  const r = await runProfile({ mode: 'none', workload: 'cached', threads: 2, writers: 1, seconds: 1, fileMib: 4, trace: true, traceEventsPerThread: 50_000, lockStats: 'timing' });
  const trace = JSON.parse(JSON.stringify(r.trace)) as { traceEvents: Array<{ ph: string; tid: number; ts: number; name: string; cat?: string }> };
  assert.ok(trace.traceEvents.length > 0);
  for (const e of trace.traceEvents) {
    assert.ok(['X', 'C', 'M', 'i'].includes(e.ph), `phase ${e.ph}`);
    assert.equal(typeof e.ts, 'number');
    assert.equal(typeof e.tid, 'number');
  }
  for (const th of r.threads) {
    const mine = trace.traceEvents.filter((e) => e.tid === th.slot && e.ph !== 'M');
    assert.ok(mine.length > 0, `no events from the ${th.role} on slot ${th.slot}`);
  }
  assert.ok(trace.traceEvents.some((e) => e.ph === 'C' && e.name.startsWith('i_completed_io_list')), 'completed-list counter track');
  assert.ok(trace.traceEvents.some((e) => e.cat === 'io'), 'device I/O spans');
  assert.ok(trace.traceEvents.some((e) => e.name === 'convert unwritten'), 'conversion spans');
});
