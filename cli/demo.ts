// dioread demo: a short workload on a temporary image that prints what the engine did.
// No ext4 counterpart.
import path from 'node:path';
import type { Command } from 'commander';
import { Engine } from '../src/engine.js';
import { intIn, withTempDir } from './args.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('write, read back and sync a file on a temporary image; print counters and lock statistics')
    .option('--mib <n>', 'file size in MiB (1..48)', intIn(1, 48), 8)
    .action(async (o: { mib: number }) => {
      // The temporary image goes when the demo ends, fails or is interrupted.
      await withTempDir('dioread-demo-', async (dir) => {
        const eng = await Engine.open({ path: path.join(dir, 'demo.img'), create: true, sizeBytes: 64 << 20, cachePages: 512 });
        try {
          await run(eng, o.mib);
        } finally {
          await eng.close();
        }
      });
    });
}

async function run(eng: Engine, mib: number): Promise<void> {
  console.log(`a temporary 64 MiB image (O_DIRECT: ${eng.deviceDirect}, dioreadNolock: ${eng.dioreadNolock})`);
  const f = await eng.open('demo', 'w+');
  try {
    const chunk = Buffer.alloc(256 * 1024);
    const bytes = mib << 20;
    let t = performance.now();
    for (let at = 0; at < bytes; at += chunk.length) {
      chunk.fill(at / chunk.length);
      await f.write(chunk, 0, chunk.length, at);
    }
    await f.sync();
    console.log(`wrote ${mib} MiB and synced in ${(performance.now() - t).toFixed(1)} ms`);
    t = performance.now();
    const out = Buffer.alloc(4096);
    let bad = 0;
    const reads = 20000;
    for (let i = 0; i < reads; i++) {
      const at = Math.floor(Math.random() * (bytes / 4096)) * 4096;
      await f.read(out, 0, out.length, at);
      if (out[0] !== Math.floor(at / chunk.length) % 256) bad++;
    }
    console.log(`${reads} random 4 KiB reads in ${(performance.now() - t).toFixed(1)} ms, ${bad} mismatches`);
    console.log('counters', eng.counters());
    console.log('lock classes taken:');
    for (const r of eng.lockStats().filter((x) => x.acquisitions > 0)) {
      console.log(`  ${r.class.padEnd(20)} acquisitions ${String(r.acquisitions).padStart(8)}  contentions ${r.contentions}`);
    }
    if (bad > 0) throw new Error(`the demo read ${bad} blocks that do not hold what was written`);
  } finally {
    await f.close();
  }
}
