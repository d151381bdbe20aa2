// dioread profile: run a workload on the benchmark's threads and print lock_stat for it, sorted by contentions, with a plain
// reading; optional JSON and Chrome trace. kernel counterpart: /proc/lock_stat, `perf lock contention`.
import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { MODES, MODE_ALIASES, type Mode } from '../bench/options.js';
import { formatLockStatTable, readLockStats, sortRows } from '../src/profile/lockstat-table.js';
import { fmtNs } from '../bench/format.js';
import { percentileKey } from '../bench/latency.js';
import { checkProfileOptions, runProfile } from '../bench/profile.js';
import { CliError, EXIT_USAGE, parsePositiveInt } from './args.js';

/** One of the three modes, or an older alias (lock: exclusive, nolock: none). */
function profileMode(text: string): Mode {
  const m = MODE_ALIASES[text.trim()] ?? text.trim();
  if (!(MODES as readonly string[]).includes(m)) throw new InvalidArgumentError(`unknown mode ${JSON.stringify(text)} (choose from ${MODES.join(', ')}; lock and nolock are aliases of exclusive and none)`);
  return m as Mode;
}

export function register(program: Command): void {
  program
    .command('profile')
    .description('run readers and writers on one file and print the lock contention profile (lock_stat)')
    .addOption(new Option('--mode <mode>', 'readLocking: exclusive (readers take the inode mutex), shared (the inode rwsem shared), none (dioread_nolock); lock and nolock are aliases of exclusive and none').argParser(profileMode).default('none'))
    .addOption(new Option('--workload <kind>', 'cached: page-cache hits; direct: O_DIRECT reads from the device').choices(['cached', 'direct']).default('cached'))
    .option('--threads <n>', 'reader threads', parsePositiveInt, 2)
    .option('--writers <n>', 'writer threads (buffered 4 KiB writes to other blocks of the file)', (t) => Number(t), 1)
    .option('--seconds <s>', 'how long the workload runs', (t) => Number(t), 3)
    .option('--file-mib <n>', 'MiB the readers read', parsePositiveInt, 16)
    .option('--image <path>', 'image file to use (default: a temporary one)')
    .addOption(new Option('--lock-stats <level>', 'statistics level').choices(['counters', 'timing']).default('timing'))
    .option('--json <file>', 'write { classes: [rows...] } as JSON to FILE, or - for stdout')
    .option('--trace <file>', 'write a Chrome trace-event file (open in Perfetto / chrome://tracing)')
    .option('--trace-events <n>', 'trace events kept per thread', parsePositiveInt, 200_000)
    .option('--all', 'list lock classes that were never taken too')
    .action(async (o) => {
      try {
        checkProfileOptions(o);
      } catch (err) {
        throw new CliError((err as Error).message, EXIT_USAGE);
      }
      const r = await runProfile({
        mode: o.mode,
        workload: o.workload,
        threads: o.threads,
        writers: o.writers,
        seconds: o.seconds,
        fileMib: o.fileMib,
        image: o.image,
        trace: Boolean(o.trace),
        traceEventsPerThread: o.traceEvents,
        lockStats: o.lockStats,
      });
      const toStdout = o.json === '-';
      const log = toStdout ? console.error : console.log;
      log(`dioread profile: mode ${o.mode}, workload ${o.workload}, ${o.threads} reader(s), ${o.writers} writer(s), ${o.seconds} s, O_DIRECT ${r.config.deviceDirect}`);
      log(`read ${r.readIops.toLocaleString('en-US')} IOPS (p50 ${fmtNs(r.read.clat_ns.percentile[percentileKey(50)])}, p99 ${fmtNs(r.read.clat_ns.percentile[percentileKey(99)])}), write ${r.writeIops.toLocaleString('en-US')} IOPS, conversions ${r.counters.conversions}`);
      log('');
      log(formatLockStatTable(r.classes, { all: o.all }));
      for (const line of readLockStats(r.classes)) log(line);
      if (o.json) {
        const text = JSON.stringify({ config: r.config, readIops: r.readIops, writeIops: r.writeIops, read: r.read, write: r.write, classes: sortRows(r.classes) }, null, 2);
        if (toStdout) console.log(text);
        else {
          fs.writeFileSync(o.json, text + '\n');
          log(`JSON: ${o.json}`);
        }
      }
      if (o.trace && r.trace) {
        fs.writeFileSync(o.trace, JSON.stringify(r.trace));
        log(`trace: ${o.trace} (${r.trace.traceEvents.length} events from ${r.trace.otherData.threads} threads, ${r.trace.otherData.droppedEvents} dropped)`);
      }
    });
}
