// Argument checks for every public entry: a bad value becomes a DioreadError that names it.
// ext4 counterpart: the -EINVAL checks at the top of the VFS entry points (rw_verify_area & co.).

import { DioreadError, showValue } from './errors.js';

/** Largest byte position or length dioread accepts: 2^31 blocks of 4 KiB. */
export const MAX_FILE_BYTES = 2 ** 31 * 4096;

export function checkOptions(where: string, opts: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new DioreadError('EINVAL', `${where}: options must be an object, got ${showValue(opts)}`);
  }
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) {
      throw new DioreadError('EINVAL', `${where}: unknown option ${JSON.stringify(k)} (known: ${allowed.join(', ')})`);
    }
  }
  return opts as Record<string, unknown>;
}

export function checkBool(where: string, name: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new DioreadError('EINVAL', `${where}: ${name} must be a boolean, got ${showValue(value)}`);
  return value;
}

export function checkInt(where: string, name: string, value: unknown, min: number, max: number, dflt?: number): number {
  if (value === undefined && dflt !== undefined) return dflt;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new DioreadError('EINVAL', `${where}: ${name} must be an integer from ${min} to ${max}, got ${showValue(value)}`);
  }
  return value;
}

export function checkBuffer(where: string, buf: unknown): Uint8Array {
  if (!(buf instanceof Uint8Array)) {
    throw new DioreadError('EINVAL', `${where}: buffer must be a Uint8Array or Buffer, got ${showValue(buf)}`);
  }
  return buf;
}

export function checkPosition(where: string, position: unknown): number {
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0 || position > MAX_FILE_BYTES) {
    throw new DioreadError('EINVAL', `${where}: position must be an integer from 0 to ${MAX_FILE_BYTES}, got ${showValue(position)}`);
  }
  return position;
}

export function checkEnd(where: string, position: number, length: number): void {
  if (position + length > MAX_FILE_BYTES) {
    throw new DioreadError('EINVAL', `${where}: position ${position} + length ${length} passes the largest file size ${MAX_FILE_BYTES}`);
  }
}

export function checkChoice<T extends string>(where: string, name: string, value: unknown, choices: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new DioreadError('EINVAL', `${where}: ${name} must be one of ${choices.join(', ')}, got ${showValue(value)}`);
  }
  return value as T;
}
