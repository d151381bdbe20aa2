// Peer "lmdb": lmdb-js getBinary of blockSize values keyed by block number, from an environment
// filled beforehand (bench/peers.ts) — the embedded store Node users pick. An optional dependency:
// loaded with import(), absent means skipped. No fio counterpart.
import type { Reader } from '../read-loop.js';
import type { ReadTask } from '../tasks.js';

interface LmdbDb {
  getBinary(key: number): Uint8Array | undefined;
  close(): Promise<void>;
}

export class LmdbReader implements Reader {
  private constructor(
    private readonly db: LmdbDb,
    private readonly blockSize: number,
  ) {}

  static async open(t: ReadTask): Promise<LmdbReader> {
    if (!t.path) throw new Error('bench: an lmdb reader needs path');
    const lmdb = await import('lmdb');
    const db = lmdb.open({ path: t.path, encoding: 'binary', keyEncoding: 'uint32', compression: false, readOnly: true }) as unknown as LmdbDb;
    return new LmdbReader(db, t.blockSize);
  }

  read(position: number): number {
    const v = this.db.getBinary(position / this.blockSize);
    return v === undefined ? 0 : v.byteLength;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
