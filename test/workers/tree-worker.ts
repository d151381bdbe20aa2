// Worker for extent-tree-matches-a-flat-map.test.ts: drives one file's extent tree (src/extents.ts)
// through random inserts, conversions, zero-range retags, punch holes and truncates from its own
// thread slot (writers need a thread that may block: the commits between changes), and checks after
// every step that the tree holds exactly the extents of a flat sorted map, that every structural
// invariant holds (extent-tree.ts checkTree), and that lookups agree with the map.
import { parentPort, workerData } from 'node:worker_threads';
import { allocBlocks, freeBlocks } from '../../src/alloc.js';
import { changeExtents, checkExtents, convertUnwrittenExtents, extentCount, insertExtent, listExtents, mapBlocks, markUnwrittenExtents, removeExtentRange, truncateExtents, HOLE_TO_END, MAP_MAPPED } from '../../src/extents.js';
import { treeDepth } from '../../src/extent-tree.js';
import { lockInode, unlockInode } from '../../src/inode.js';
import { xorshift32Sequence } from '../../src/prng.js';
import { EXT_UNWRITTEN, I_BLOCKS, SLOT_ROLE_USER, inodeWord } from '../../src/shm/layout.js';
import { commitNow, inHandle } from '../../src/transaction.js';
import { Volume } from '../../src/volume.js';

export interface TreeJob {
  desc: import('../../src/shm/layout.js').SharedDescriptor;
  ino: number;
  seed: number;
  steps: number;
  /** Logical blocks the file spans (inserts land in [0, span)). */
  span: number;
  /** Of every 10 steps, how many insert (the rest retag, punch, truncate, commit). */
  inserts: number;
}
export interface TreeResult {
  steps: number;
  extents: Array<[number, number, number, number]>;
  maxDepth: number;
  maxExtents: number;
  problems: string[];
}

const job = workerData as TreeJob;
const v = new Volume(job.desc, SLOT_ROLE_USER);
const rnd = xorshift32Sequence(job.seed);
const below = (n: number) => rnd() % n;
const ino = job.ino;

/** The flat map: per logical block, [pblk, flags] or undefined. */
const model = new Map<number, [number, number]>();

function change(f: () => void): void {
  changeExtents(v, ino, f);
}

function freeRuns(runs: Array<[number, number]>): void {
  if (runs.length > 0) inHandle(v, ino, () => runs.forEach(([p, n]) => freeBlocks(v, p, n)));
}

function step(): void {
  const r = below(10);
  const op = r < job.inserts ? 0 : 5 + Math.floor(((r - job.inserts) * 5) / (10 - job.inserts));
  const lblk = below(job.span);
  const len = 1 + below(op < 5 ? 4 : 64);
  if (op < 5) {
    // Insert over a hole: the first free run at lblk, up to len blocks.
    let n = 0;
    while (n < len && lblk + n < job.span && !model.has(lblk + n)) n++;
    if (n === 0) return;
    const unwritten = below(2) === 0;
    change(() => {
      const a = allocBlocks(v, -1, n, v.firstDataBlock);
      if (a.count === 0) throw new Error('tree worker: the device is full');
      if (!insertExtent(v, ino, lblk, a.count, a.pblk, unwritten)) throw new Error('tree worker: insert found no node block');
      v.i32[inodeWord(v.layout, ino, I_BLOCKS)] += a.count;
      for (let k = 0; k < a.count; k++) model.set(lblk + k, [a.pblk + k, unwritten ? EXT_UNWRITTEN : 0]);
    });
  } else if (op < 8) {
    const to = op === 5 ? 0 : EXT_UNWRITTEN;
    for (let at = lblk; at < lblk + len; ) {
      let next = at;
      change(() => {
        next = to === 0 ? convertUnwrittenExtents(v, ino, at, lblk + len - at) : markUnwrittenExtents(v, ino, at, lblk + len - at);
      });
      if (next < 0) throw new Error('tree worker: a retag found no node block');
      at = next;
    }
    for (let b = lblk; b < lblk + len; b++) {
      const m = model.get(b);
      if (m) m[1] = to;
    }
  } else if (op === 8) {
    const runs: Array<[number, number]> = [];
    change(() => {
      v.i32[inodeWord(v.layout, ino, I_BLOCKS)] -= removeExtentRange(v, ino, lblk, len * 4, (p, n) => runs.push([p, n]));
    });
    freeRuns(runs);
    for (let b = lblk; b < lblk + len * 4; b++) model.delete(b);
  } else if (below(8) === 0) {
    const from = Math.floor(lblk / 2) + Math.floor(job.span / 2);
    const runs: Array<[number, number]> = [];
    change(() => {
      v.i32[inodeWord(v.layout, ino, I_BLOCKS)] -= truncateExtents(v, ino, from, (p, n) => runs.push([p, n]));
    });
    freeRuns(runs);
    for (const b of [...model.keys()]) if (b >= from) model.delete(b);
  } else if (below(4) === 0) commitNow(v);
}

/** The map's extents as the tree must hold them: maximal runs within a leaf are merged, so compare blocks. */
function check(where: string): string[] {
  const problems = checkExtents(v, ino, v.firstDataBlock, v.layout.blockCount).map((p) => `${where}: ${p}`);
  const seen = new Map<number, [number, number]>();
  for (const [s, len, p, f] of listExtents(v, ino)) for (let k = 0; k < len; k++) seen.set(s + k, [p + k, f]);
  if (seen.size !== model.size) problems.push(`${where}: the tree maps ${seen.size} blocks, the model ${model.size}`);
  for (const [b, [p, f]] of model) {
    const t = seen.get(b);
    if (!t || t[0] !== p || t[1] !== f) problems.push(`${where}: block ${b}: tree ${JSON.stringify(t)}, model ${JSON.stringify([p, f])}`);
    if (problems.length > 5) return problems;
  }
  for (let k = 0; k < 16; k++) {
    const b = below(job.span + 8);
    const m = model.get(b);
    const r = mapBlocks(v, ino, b);
    if ((r === MAP_MAPPED) !== (m !== undefined) || (m && (v.mapPblk !== m[0] || v.mapUnwritten !== (m[1] !== 0)))) problems.push(`${where}: lookup of ${b}: ${r === MAP_MAPPED ? `pblk ${v.mapPblk}` : 'hole'}, model ${JSON.stringify(m)}`);
    if (r !== MAP_MAPPED && m === undefined) {
      // The hole's length reaches exactly the next mapped block (or HOLE_TO_END with none after it).
      let next = Infinity;
      for (const x of model.keys()) if (x > b && x < next) next = x;
      const want = next === Infinity ? HOLE_TO_END : next - b;
      if (v.mapLen !== want) problems.push(`${where}: hole at ${b} is ${v.mapLen} long, the model's ${want}`);
    }
  }
  return problems;
}

const tok = lockInode(v, ino);
let maxDepth = 0;
let maxExtents = 0;
let problems: string[] = [];
let done = 0;
try {
  for (; done < job.steps && problems.length === 0; done++) {
    step();
    maxDepth = Math.max(maxDepth, treeDepth(v, ino));
    if (done % 16 === 0 || done === job.steps - 1) {
      maxExtents = Math.max(maxExtents, extentCount(v, ino));
      problems = check(`step ${done}`);
    }
  }
  commitNow(v);
} finally {
  unlockInode(v, ino, tok);
}
const result: TreeResult = { steps: done, extents: listExtents(v, ino), maxDepth, maxExtents, problems };
parentPort!.postMessage(result);
v.detach();
