// DioreadError codes to the errno a FUSE reply carries (the kernel hands it to the caller as is).
// libfuse counterpart: fuse_reply_err(req, errno); ext4's counterpart is every `return -EIO`.
import os from 'node:os';
import { DioreadError } from '../errors.js';

const E = os.constants.errno;

/** An operation the adapter cannot serve, with the errno the kernel expects for it. */
export class FuseErrno extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'FuseErrno';
  }
}

/**
 * The errno for a thrown value. DioreadError carries its own (-errno): EFSCORRUPTED is EUCLEAN
 * (117) as in ext4; EOWNERDEAD (an engine thread died holding a lock) becomes EIO, which is what
 * callers of read(2) and write(2) know how to report. The namespace API's ENOTDIR, EISDIR and
 * ENOTEMPTY go through by name. Anything unexpected is EIO, and is logged by the caller.
 */
export function errnoOf(err: unknown): number {
  if (err instanceof FuseErrno) return err.errno;
  if (err instanceof DioreadError) return err.code === 'EOWNERDEAD' ? E.EIO : -err.errno;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in E) return E[code as keyof typeof E];
  return E.EIO;
}

/** True when the error is one an application causes (ENOENT, EEXIST, ...), not a fault to log. */
export function isExpected(err: unknown): boolean {
  return err instanceof FuseErrno || (err instanceof DioreadError && err.code !== 'EIO' && err.code !== 'EOWNERDEAD' && err.code !== 'EFSCORRUPTED');
}
