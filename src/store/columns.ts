import { randomUUID } from 'node:crypto';
import { AppError } from '../errors/index.js';

/**
 * Conversions between domain values and columns. Absent optional fields are `null` in the
 * database and `undefined` in the domain (exactOptionalPropertyTypes); instants are epoch ms.
 */

/** A new row id: a prefix that names the kind (`usr_`, `tgt_`, …) and a random UUID. */
export function newId(prefix: 'usr_' | 'tgt_' | 'pol_' | 'acc_' | 'job_'): string {
  return `${prefix}${randomUUID()}`;
}

export function fromMs(ms: number | string): Date {
  return new Date(Number(ms));
}

export function fromOptionalMs(ms: number | string | null): Date | undefined {
  return ms === null ? undefined : new Date(Number(ms));
}

export function toOptionalMs(date: Date | undefined): number | null {
  return date === undefined ? null : date.getTime();
}

export function fromNullable<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

export function toNullable<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}

/** Parses a JSON column; a corrupt column is an integrity problem, not a crash with a raw SyntaxError. */
export function parseJson<T>(text: string, column: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new AppError('integrity', `column ${column} holds invalid JSON`, { cause });
  }
}

/** Narrows a text column to one of the values the domain allows. */
export function member<T extends string>(value: string, allowed: readonly T[], column: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new AppError('integrity', `column ${column} holds an unknown value "${value}"`);
}

/** Number of rows an UPDATE or DELETE touched, as Kysely reports it on both dialects. */
export function affected(result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number {
  return Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0n);
}
