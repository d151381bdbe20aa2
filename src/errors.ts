// DioreadError: the one error type of the public surface, with errno-style codes.
// ext4 counterpart: the negative errno values every ext4 function returns (-EINVAL, -ENOSPC, ...).

/** The errno family dioread uses: DESIGN.md's contract, the namespace's ENOTDIR, EISDIR, ENOTEMPTY, EACCES, and fallocate's EFBIG. */
export type DioreadErrorCode =
  | 'EINVAL'
  | 'ENOENT'
  | 'EEXIST'
  | 'ENOSPC'
  | 'EBADF'
  | 'EIO'
  | 'EFSCORRUPTED'
  | 'EOWNERDEAD'
  | 'ENAMETOOLONG'
  | 'EMFILE'
  | 'EBUSY'
  | 'EROFS'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ENOTEMPTY'
  | 'EACCES'
  | 'EFBIG';

const ERRNO: Record<DioreadErrorCode, number> = {
  EINVAL: 22,
  ENOENT: 2,
  EEXIST: 17,
  ENOSPC: 28,
  EBADF: 9,
  EIO: 5,
  EFSCORRUPTED: 117, // ext4 aliases EFSCORRUPTED to EUCLEAN
  EOWNERDEAD: 130,
  ENAMETOOLONG: 36,
  EMFILE: 24,
  EBUSY: 16,
  EROFS: 30,
  ENOTDIR: 20,
  EISDIR: 21,
  ENOTEMPTY: 39,
  EACCES: 13,
  EFBIG: 27,
};

export class DioreadError extends Error {
  readonly code: DioreadErrorCode;
  readonly errno: number;
  constructor(code: DioreadErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'DioreadError';
    this.code = code;
    this.errno = -ERRNO[code];
  }
}

/**
 * Rebuild a DioreadError that crossed a thread boundary. A worker's error reaches the main thread
 * by structured clone, which keeps only the message (a plain Error: the class and `code` are lost);
 * the message still starts with "CODE: ", which is enough to restore both. Anything else passes.
 */
export function reviveError(err: unknown): unknown {
  if (err instanceof DioreadError || !(err instanceof Error)) return err;
  const m = /^([A-Z]+): /.exec(err.message);
  if (m === null || !Object.hasOwn(ERRNO, m[1])) return err;
  const revived = new DioreadError(m[1] as DioreadErrorCode, err.message.slice(m[0].length), { cause: err });
  if (err.stack) revived.stack = `${revived.name}: ${revived.message}\n    (in a worker thread)\n${err.stack.split('\n').slice(1).join('\n')}`;
  return revived;
}

/**
 * What a caller gets for any failure: a DioreadError. One that crossed a thread boundary is revived;
 * anything else (an InvariantError, a worker that died, a TypeError from a bug) becomes EIO naming
 * the call, with the original as `cause`. `internal` is set then, so the caller can take the engine
 * read-only (ext4_error's errors=remount-ro): state a bug touched is not written to further.
 */
export function publicError(where: string, err: unknown): { error: DioreadError; internal: boolean } {
  const revived = reviveError(err);
  if (revived instanceof DioreadError) return { error: revived, internal: false };
  const what = revived instanceof Error ? `${revived.name}: ${revived.message}` : String(revived);
  return { error: new DioreadError('EIO', `${where}: internal failure, the engine is now read-only (close it and run fsck): ${what}`, { cause: revived }), internal: true };
}

/** Show a value the way an error message should: strings quoted, everything else inspected briefly. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'object') return `object {${Object.keys(value as object).slice(0, 6).join(', ')}}`;
  return typeof value;
}

/**
 * Thrown when a shared-memory invariant is broken. Not a DioreadError: it means a bug in dioread,
 * and the message names the structure and the index, as TigerBeetle's asserts do.
 */
export class InvariantError extends Error {
  constructor(message: string) {
    super(`dioread invariant violated: ${message}`);
    this.name = 'InvariantError';
  }
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** A DioreadError's message without its "CODE: " prefix (to wrap it in another message). */
export function detail(err: unknown): string {
  if (err instanceof DioreadError) return err.message.slice(err.code.length + 2);
  return err instanceof Error ? err.message : String(err);
}
