// dioread mkfs, put, cat, ls, stat, fsck: the file-level commands. No single ext4 counterpart:
// these are the user-space tools (mkfs, cp in and out, ls, stat, e2fsck) over an image.
import fs from 'node:fs';
import type { Command } from 'commander';
import { Engine } from '../src/engine.js';
import { fsckImage } from '../src/fsck.js';
import { parseSize } from './args.js';

async function withEngine<T>(image: string, fn: (eng: Engine) => Promise<T>): Promise<T> {
  const eng = await Engine.open({ path: image, create: false });
  try {
    return await fn(eng);
  } finally {
    await eng.close();
  }
}

async function readAllInput(source: string | undefined): Promise<Buffer> {
  if (source && source !== '-') return fs.readFileSync(source);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The file-level commands, in the order --help lists them. */
export function register(program: Command): void {
  registerMkfs(program);
  registerPut(program);
  registerCat(program);
  registerLs(program);
  registerStat(program);
  registerFsck(program);
}

/** dioread mkfs: format an image file (metadata only, as mkfs). */
function registerMkfs(program: Command): void {
  program
    .command('mkfs')
    .description('format an image file (metadata only: data blocks keep what they held)')
    .argument('<image>', 'image file (created if missing)')
    .option('--size <bytes>', 'device size, e.g. 256M or 1G', parseSize, 64 * 1024 * 1024)
    .option('--max-files <n>', 'inode table size', (t) => Number(t), 64)
    .option('--extents-per-file <n>', 'extent records per file', (t) => Number(t), 4096)
    .option('--journal-blocks <n>', 'journal size in 4 KiB blocks (default: 1/32 of the device, 64..8192)', (t) => Number(t))
    .action(async (image: string, o: { size: number; maxFiles: number; extentsPerFile: number; journalBlocks?: number }) => {
      await Engine.mkfs(image, { sizeBytes: o.size, maxFiles: o.maxFiles, extentsPerFile: o.extentsPerFile, ...(o.journalBlocks === undefined ? {} : { journalBlocks: o.journalBlocks }) });
      const journal = o.journalBlocks === undefined ? '' : `, a journal of ${o.journalBlocks} blocks`;
      console.log(`formatted ${image}: ${o.size} bytes, ${o.maxFiles} files, ${o.extentsPerFile} extents per file${journal}`);
    });
}

/** dioread put: copy a host file (or stdin) into a file of the image, 1 MiB at a time. */
function registerPut(program: Command): void {
  program
    .command('put')
    .description('copy a host file (or stdin) into a file of the image')
    .argument('<image>', 'image file')
    .argument('<name>', 'file name inside the image')
    .argument('[source]', 'host file to copy; - or omitted: stdin')
    .option('--direct', 'write through a direct handle (bypass the page cache)')
    .option('--sync', 'fsync before closing', true)
    .action(async (image: string, name: string, source: string | undefined, o: { direct?: boolean; sync: boolean }) => {
      const data = await readAllInput(source);
      await withEngine(image, async (eng) => {
        const f = await eng.open(name, { create: true, direct: !!o.direct });
        await f.truncate(0);
        const chunk = 1 << 20;
        for (let at = 0; at < data.length; at += chunk) await f.write(data.subarray(at, at + chunk), { position: at });
        if (o.sync) await f.sync();
        await f.close();
      });
      console.error(`put ${data.length} bytes into ${name}`);
    });
}

/** dioread cat: write a file of the image to stdout, 1 MiB at a time. */
function registerCat(program: Command): void {
  program
    .command('cat')
    .description('write a file of the image to stdout')
    .argument('<image>', 'image file')
    .argument('<name>', 'file name inside the image')
    .option('--direct', 'read through a direct handle')
    .action(async (image: string, name: string, o: { direct?: boolean }) => {
      await withEngine(image, async (eng) => {
        const f = await eng.open(name, { direct: !!o.direct });
        const { size } = await f.stat();
        const buf = Buffer.alloc(1 << 20);
        for (let at = 0; at < size; ) {
          const { bytesRead } = await f.read(buf, { position: at });
          if (bytesRead === 0) break;
          await new Promise<void>((resolve, reject) => process.stdout.write(buf.subarray(0, bytesRead), (e) => (e ? reject(e) : resolve())));
          at += bytesRead;
        }
        await f.close();
      });
    });
}

/** dioread ls: list the files of an image (name and size). */
function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list the files of an image')
    .argument('<image>', 'image file')
    .option('--json', 'print JSON')
    .action(async (image: string, o: { json?: boolean }) => {
      const list = await withEngine(image, (eng) => eng.list());
      if (o.json) console.log(JSON.stringify(list, null, 2));
      else for (const f of list) console.log(`${String(f.size).padStart(14)}  ${f.name}`);
    });
}

/** dioread stat: a file's stat() as JSON. */
function registerStat(program: Command): void {
  program
    .command('stat')
    .description('show a file: size, blocks, extents, cached and dirty pages')
    .argument('<image>', 'image file')
    .argument('<name>', 'file name inside the image')
    .action(async (image: string, name: string) => {
      const st = await withEngine(image, async (eng) => {
        const f = await eng.open(name);
        const s = await f.stat();
        await f.close();
        return s;
      });
      console.log(JSON.stringify(st, null, 2));
    });
}

/** dioread fsck: check (and with -y repair) an image; exit codes as e2fsck. */
function registerFsck(program: Command): void {
  program
    .command('fsck')
    .description('check an image (journal, inodes, extents, bitmap); exit 0 clean, 1 errors fixed, 4 errors left, 8 operational error (as e2fsck)')
    .argument('<image>', 'image file')
    .option('-n, --no-repair', 'check only, change nothing (the default)')
    .option('-y, --repair', 'repair what can be repaired safely: replay the journal in place, free leaked blocks')
    .option('--json', 'print the report as JSON')
    .action((image: string, o: { repair?: boolean; json?: boolean }) => {
      let r;
      try {
        r = fsckImage(image, { repair: o.repair === true });
      } catch (err) {
        console.error(`dioread fsck: ${(err as Error).message}`);
        process.exitCode = 8;
        return;
      }
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else {
        const state = r.errors.length > 0 ? 'ERRORS' : r.fixed.length > 0 ? 'fixed' : 'clean';
        console.log(`${image}: ${state}, ${r.files.length} files, ${r.usedBlocks} blocks used, ${r.freeBlocks} free, ${r.journalTransactions} journal transaction(s) to replay`);
        for (const e of r.errors) console.log(`error: ${e}`);
        for (const w of r.warnings) console.log(`warning: ${w}`);
        for (const f of r.fixed) console.log(`fixed: ${f}`);
      }
      process.exitCode = r.exitCode;
    });
}
