// dioread demo: a short workload on a temporary image that prints what the engine did.
// No ext4 counterpart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { Engine } from '../src/engine.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('write, read back and sync a file on a temporary image; print counters and lock statistics')
    .option('--mib <n>', 'file size in MiB', (t) => Number(t), 8)
    .action(async (o: { mib: number }) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dioread-demo-'));
      const image = path.join(dir, 'demo.img');
      const eng = await Engine.open({ path: image, create: true, sizeBytes: 64 << 20, cachePages: 512 });
      console.log(`image ${image} (O_DIRECT: ${eng.deviceDirect}, dioreadNolock: ${eng.dioreadNolock})`);
      const f = await eng.open('demo', { create: true });
      const chunk = Buffer.alloc(256 * 1024);
      const bytes = o.mib << 20;
      let t = performance.now();
      for (let at = 0; at < bytes; at += chunk.length) {
        chunk.fill(at / chunk.length);
        await f.write(chunk, { position: at });
      }
      await f.sync();
      console.log(`wrote ${o.mib} MiB and synced in ${(performance.now() - t).toFixed(1)} ms`);
      t = performance.now();
      const out = Buffer.alloc(4096);
      let bad = 0;
      const reads = 20000;
      for (let i = 0; i < reads; i++) {
        const at = Math.floor(Math.random() * (bytes / 4096)) * 4096;
        await f.read(out, { position: at });
        if (out[0] !== Math.floor(at / chunk.length) % 256) bad++;
      }
      console.log(`${reads} random 4 KiB reads in ${(performance.now() - t).toFixed(1)} ms, ${bad} mismatches`);
      console.log('counters', eng.counters());
      console.log('lock classes taken:');
      for (const r of eng.lockStats().filter((x) => x.acquisitions > 0)) {
        console.log(`  ${r.class.padEnd(20)} acquisitions ${String(r.acquisitions).padStart(8)}  contentions ${r.contentions}`);
      }
      await f.close();
      await eng.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
}
