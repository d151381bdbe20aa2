// dioread mkfs, put, cat, ls, stat, fsck: the file-level commands. No single ext4 counterpart:
// these are the user-space tools (mkfs, cp in and out, ls, stat, e2fsck) over an image.
import { defaultMaxFiles } from '../src/ondisk.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Command } from 'commander';
import { Engine } from '../src/engine.js';
import { fsckImage } from '../src/fsck.js';
import { DISK_MAGIC } from '../src/ondisk.js';
import { CliError, EXIT_USAGE, intIn, progress, sizeIn } from './args.js';

/** The image must exist before a command other than mkfs opens it (a one-line hint, not an engine message). */
function checkImage(image: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(image);
  } catch {
    throw new CliError(`image ${image} does not exist (make one with: dioread mkfs ${image})`);
  }
  if (!st.isFile()) throw new CliError(`image ${image} is not a regular file`);
}

async function withEngine<T>(image: string, fn: (eng: Engine) => Promise<T>): Promise<T> {
  checkImage(image);
  const eng = await Engine.open({ path: image, create: false });
  try {
    return await fn(eng);
  } finally {
    await eng.close();
  }
}

/** True when `file` starts with a dioread superblock (the magic word at byte 0, little-endian). */
function holdsImage(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const word = Buffer.alloc(4);
    return fs.readSync(fd, word, 0, 4, 0) === 4 && word.readUInt32LE(0) === DISK_MAGIC;
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes per step of put and cat. */
const CHUNK_BYTES = 1 << 20;
/** put shows progress from this size on. */
const PROGRESS_FROM_BYTES = 16 << 20;

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
    .option('--size <bytes>', 'device size, e.g. 256M or 1G', sizeIn(4096, 2 ** 50), 64 * 1024 * 1024)
    .option('--max-files <n>', 'inode table size (default: one per 64 KiB of the device)', intIn(1, 1 << 20))
    .option('--journal-blocks <n>', 'journal size in 4 KiB blocks (default: 1/32 of the device, 64..8192)', intIn(1, 1 << 18))
    .option('-f, --force', 'format even if the file already holds a dioread image (its files are lost)')
    .action(async (image: string, o: { size: number; maxFiles?: number; journalBlocks?: number; force?: boolean }) => {
      const existed = fs.existsSync(image);
      if (existed && !fs.statSync(image).isFile()) throw new CliError(`${image} is not a regular file`, EXIT_USAGE);
      if (existed && !o.force && holdsImage(image)) {
        throw new CliError(`${image} already holds a dioread image; formatting it loses its files (use --force to format it anyway)`);
      }
      try {
        await Engine.mkfs(image, { sizeBytes: o.size, ...(o.maxFiles === undefined ? {} : { maxFiles: o.maxFiles }), ...(o.journalBlocks === undefined ? {} : { journalBlocks: o.journalBlocks }) });
      } catch (err) {
        // No half-made image left behind: a file this command created goes when it fails.
        if (!existed) fs.rmSync(image, { force: true });
        throw err;
      }
      const journal = o.journalBlocks === undefined ? '' : `, a journal of ${o.journalBlocks} blocks`;
      console.log(`formatted ${image}: ${o.size} bytes, ${o.maxFiles ?? defaultMaxFiles(o.size)} files${journal}`);
    });
}

/** dioread put: copy a host file (or stdin) into a file of the image, 1 MiB at a time, replacing it atomically. */
function registerPut(program: Command): void {
  program
    .command('put')
    .description('copy a host file (or stdin) into a file of the image')
    .argument('<image>', 'image file')
    .argument('<name>', 'file name inside the image')
    .argument('[source]', 'host file to copy; - or omitted: stdin')
    .option('--direct', 'write through a direct handle (bypass the page cache)')
    .option('--no-sync', 'do not fsync before closing (the default is to fsync)')
    .option('-q, --quiet', 'no progress lines')
    .action(async (image: string, name: string, source: string | undefined, o: PutOptions) => {
      const fromStdin = source === undefined || source === '-';
      const sizeBytes = fromStdin ? 0 : sourceSize(source);
      const input: AsyncIterable<Buffer> = fromStdin ? process.stdin : fs.createReadStream(source, { highWaterMark: CHUNK_BYTES });
      const written = await withEngine(image, async (eng) => {
        await checkTarget(eng, name);
        return putAtomically(eng, name, input, sizeBytes, o);
      });
      console.error(`put ${written} bytes into ${name}${o.sync ? '' : ' (not synced)'}`);
    });
}

interface PutOptions {
  direct?: boolean;
  sync: boolean;
  quiet?: boolean;
}

/** The size of a host file to copy; a missing source or a directory is a user error. */
function sourceSize(source: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(source);
  } catch {
    throw new CliError(`source ${source} does not exist`);
  }
  if (st.isDirectory()) throw new CliError(`source ${source} is a directory`);
  return st.size;
}

/** A name that cannot be created fails here, before any input is read. */
async function checkTarget(eng: Engine, name: string): Promise<void> {
  await eng.access(name).catch((err: { code?: string }) => {
    if (err.code !== 'ENOENT') throw err; // a bad name (EINVAL, ENAMETOOLONG), a path under a file
  });
  const parent = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) || '/' : '/';
  if (!(await eng.stat(parent).catch(() => null))?.isDirectory()) throw new CliError(`cannot create ${name} in the image: no directory ${parent}`);
}

/**
 * Write `input` under a temporary name, then rename it over `name` (atomic): a put that fails
 * leaves the old file as it was and no partial one. Resolves to the bytes written.
 */
async function putAtomically(eng: Engine, name: string, input: AsyncIterable<Buffer>, sizeBytes: number, o: PutOptions): Promise<number> {
  const temp = `.put-${crypto.randomBytes(6).toString('hex')}`;
  const f = await eng.open(temp, { create: true, exclusive: true, direct: !!o.direct });
  let written = 0;
  let done = false;
  try {
    const bar = progress(`put ${name}`, sizeBytes >= PROGRESS_FROM_BYTES ? sizeBytes : 0, 'bytes', { quiet: o.quiet });
    for await (const chunk of input) {
      await f.write(chunk, 0, chunk.length, written);
      written += chunk.length;
      bar.update(written);
    }
    bar.stop();
    if (o.sync) await f.sync();
    await f.close();
    await eng.rename(temp, name);
    done = true;
    return written;
  } finally {
    await f.close();
    if (!done) await eng.unlink(temp).catch(() => undefined);
  }
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
        try {
          const { size } = await f.stat();
          const buf = Buffer.alloc(CHUNK_BYTES);
          for (let at = 0; at < size; ) {
            const { bytesRead } = await f.read(buf, 0, buf.length, at);
            if (bytesRead === 0) break;
            if (!(await writeStdout(buf.subarray(0, bytesRead)))) break; // the reader went away (EPIPE)
            at += bytesRead;
          }
        } finally {
          await f.close();
        }
      });
    });
}

/** Write to stdout; false once the reader has closed the pipe (`dioread cat ... | head`). */
function writeStdout(bytes: Buffer): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) =>
    process.stdout.write(bytes, (e) => {
      if (!e) resolve(true);
      else if ((e as NodeJS.ErrnoException).code === 'EPIPE') resolve(false);
      else reject(e);
    }),
  );
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
        try {
          return await f.stat();
        } finally {
          await f.close();
        }
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
