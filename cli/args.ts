// Shared argument parsing helpers for the dioread command line. No ext4 counterpart.
import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "64M", "1g", "4096", "2GiB" -> bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`not a size: ${JSON.stringify(text)} (use e.g. 4096, 64M, 1G)`);
  return Number(m[1]) * UNITS[m[2].toLowerCase()];
}

export function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`not a positive integer: ${JSON.stringify(text)}`);
  return n;
}

export function parseIntList(text: string): number[] {
  return text.split(',').map((t) => parsePositiveInt(t.trim()));
}
