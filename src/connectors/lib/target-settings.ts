/**
 * The checks every connector makes on its target when it is created: settings against the
 * driver's own schema, the per-operation timeout, and the admin secret where one is needed.
 * Messages name the connector type and the field, never a value.
 */
import type { z } from 'zod';
import { AppError } from '../../errors/index.js';

/** Per-operation timeout when the catalog names none. */
export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Parses `settings` with the driver's schema. `timeoutMs` is left out first: the catalog keeps
 * the target's timeout among its settings, and it reaches the connector as `target.timeoutMs`.
 *
 * @example parseSettings('postgres', settingsSchema, target.settings) // → {host, port, database, user}
 */
export function parseSettings<S extends z.ZodType>(type: string, schema: S, settings: Readonly<Record<string, unknown>>): z.output<S> {
  const rest = Object.fromEntries(Object.entries(settings).filter(([key]) => key !== 'timeoutMs'));
  const parsed = schema.safeParse(rest);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AppError('validation', `${type} target settings are invalid: ${issue?.message ?? 'unknown'}`, {
    path: `settings.${issue?.path.join('.') ?? ''}`,
  });
}

/**
 * The target's per-operation timeout in milliseconds: `DEFAULT_TIMEOUT_MS` when unset, else a
 * positive integer.
 *
 * @example parseTimeout('mysql', target.timeoutMs) // → 5000
 */
export function parseTimeout(type: string, timeoutMs: number | undefined): number {
  const ms = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new AppError('validation', `${type} target timeoutMs must be a positive integer`, { path: 'timeoutMs' });
  }
  return ms;
}

/**
 * The admin secret of a target that cannot work without one. An empty secret counts as none.
 *
 * @example requireAdminSecret('ldap', target.adminSecret)
 */
export function requireAdminSecret(type: string, adminSecret: string | undefined): string {
  if (adminSecret === undefined || adminSecret === '') {
    throw new AppError('validation', `${type} target has no admin secret`, { path: 'adminSecret' });
  }
  return adminSecret;
}
