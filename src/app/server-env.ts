import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';
import { AppError } from '../errors/index.js';

/** BREAKGLASS_SHUTDOWN_TIMEOUT's default and ceiling. */
export const defaultShutdownTimeoutMs = 20_000;
const maxShutdownTimeoutMs = 3_600_000;

/** BREAKGLASS_DRIFT_INTERVAL's default and bounds: each scan verifies every staged secret (a login attempt on the target). */
export const defaultDriftIntervalMs = 5 * 60_000;
const minDriftIntervalMs = 10_000;
const maxDriftIntervalMs = 24 * 3_600_000;
// issue 13 (sched): BREAKGLASS_JOB_CONCURRENCY's bounds (the default is the scheduler's, 16).
const maxJobConcurrency = 256;
// issue 13 (per-target limit)
const maxTargetConnections = 64;

/** An optional whole number from 1 to `max` (unset or empty: undefined, the component's default). */
function wholeNumber(max: number, example: number) {
  return z
    .string()
    .optional()
    .transform((text, context) => {
      if (text === undefined || text === '') return undefined;
      const count = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isInteger(count) || count < 1 || count > max) {
        context.addIssue({ code: 'custom', message: `must be a whole number from 1 to ${max}, such as ${example}` });
        return z.NEVER;
      }
      return count;
    });
}

/**
 * The server's environment, parsed once and frozen. Settings that decide what the server
 * itself may execute or write live here, never in the catalog: a catalog arrives over the API,
 * and an admin token must not amount to running arbitrary programs as the server user.
 */
const schema = z.object({
  BREAKGLASS_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  BREAKGLASS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /** Colon-separated directories whose executables `type: exec` targets may run. */
  BREAKGLASS_EXEC_DIRS: z
    .string()
    .optional()
    .transform((text) => (text ?? '').split(':').filter((dir) => dir !== ''))
    .refine((dirs) => dirs.every((dir) => isAbsolute(dir)), 'every directory must be an absolute path'),
  /** Colon-separated directories where `type: ssh` targets may keep their KRL, besides the data directory. */
  BREAKGLASS_KRL_DIRS: z
    .string()
    .optional()
    .transform((text) => (text ?? '').split(':').filter((dir) => dir !== ''))
    .refine((dirs) => dirs.every((dir) => isAbsolute(dir)), 'every directory must be an absolute path'),
  /** Opens (and, at init, sets) a passphrase-sealed root key. Secret: never logged. */
  BREAKGLASS_PASSPHRASE: z.string().optional(),
  /** The new passphrase for `breakglass operator rekey`. */
  BREAKGLASS_NEW_PASSPHRASE: z.string().optional(),
  /** The token user PIN of a pkcs11-sealed root key. */
  BREAKGLASS_PKCS11_PIN: z.string().optional(),
  /** Where people reach this server: links in alerts point there (`https://breakglass.example.org`). */
  BREAKGLASS_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
    .optional(),
  /** A separate bearer token for Prometheus scrapes of /metrics (counts only). Secret: never logged. */
  BREAKGLASS_METRICS_TOKEN: z
    .string()
    .refine((token) => token === '' || token.length >= 32, 'must be at least 32 characters (openssl rand -hex 32)')
    .optional(),
  /** How long a stopping server lets requests in flight and the job in hand finish: `20s`, `2m`. */
  BREAKGLASS_SHUTDOWN_TIMEOUT: z
    .string()
    .optional()
    .transform((text, context) => {
      if (text === undefined || text === '') return defaultShutdownTimeoutMs;
      const ms = parseDuration(text);
      if (ms === undefined || ms > maxShutdownTimeoutMs) {
        context.addIssue({ code: 'custom', message: 'must be a duration such as 20s or 2m, at most 1h' });
        return z.NEVER;
      }
      return ms;
    }),
  /** How often the drift scan inspects the targets: `5m` (default), `30s`, `1h`; `0` turns it off. */
  BREAKGLASS_DRIFT_INTERVAL: z
    .string()
    .optional()
    .transform((text, context) => {
      if (text === undefined || text === '') return defaultDriftIntervalMs;
      if (text === '0') return 0;
      const ms = parseDuration(text);
      if (ms === undefined || ms < minDriftIntervalMs || ms > maxDriftIntervalMs) {
        context.addIssue({ code: 'custom', message: 'must be a duration such as 5m or 1h (at least 10s, at most 24h), or 0 for off' });
        return z.NEVER;
      }
      return ms;
    }),
  // issue 13 (sched)
  /**
   * How many jobs (expiries, revocations, rotations, staging) run at once: `16` (default), from
   * 1 to 256. Each still holds its own lease; raise it when many grants expire together and the
   * targets keep up, lower it to spare a slow target or a small store.
   */
  BREAKGLASS_JOB_CONCURRENCY: wholeNumber(maxJobConcurrency, 16),
  // issue 13 (per-target limit)
  /**
   * Admin connections kept to each pooled target (PostgreSQL, MariaDB/MySQL, Redis, LDAP), which
   * is also how many operations run on one target at once: `4` (default), from 1 to 64. Lower it
   * for a target that must not see many sessions of the admin user; raise it with the job
   * concurrency when one target holds most accounts and keeps up.
   */
  BREAKGLASS_TARGET_CONNECTIONS: wholeNumber(maxTargetConnections, 4),
});

export type ServerEnv = Readonly<{
  databaseUrl: string | undefined;
  logLevel: string | undefined;
  execDirs: readonly string[];
  krlDirs: readonly string[];
  /** Root key seal secrets (see README "Root key sealing"). */
  passphrase: string | undefined;
  newPassphrase: string | undefined;
  pkcs11Pin: string | undefined;
  /** BREAKGLASS_SHUTDOWN_TIMEOUT in ms (default 20 s). */
  shutdownTimeoutMs: number;
  /** BREAKGLASS_PUBLIC_URL: alerts link to the grant there. */
  publicUrl: string | undefined;
  /** BREAKGLASS_DRIFT_INTERVAL in ms (default 5 min; 0: no periodic scan). */
  driftIntervalMs: number;
  /** BREAKGLASS_METRICS_TOKEN: a scrape with it reads /metrics (and nothing else); not an actor. */
  metricsToken: string | undefined;
  // issue 13 (sched)
  /** BREAKGLASS_JOB_CONCURRENCY: jobs run at once; undefined for the scheduler's default (16). */
  jobConcurrency: number | undefined;
  // issue 13 (per-target limit)
  /** BREAKGLASS_TARGET_CONNECTIONS: admin connections (and operations at once) per pooled target; undefined for 4. */
  targetConnections: number | undefined;
}>;

export function serverEnv(env: Record<string, string | undefined>): ServerEnv {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('validation', `${String(issue?.path[0])}: ${issue?.message ?? 'invalid'}`, { path: String(issue?.path[0]) });
  }
  return Object.freeze({
    databaseUrl: parsed.data.BREAKGLASS_DATABASE_URL,
    logLevel: parsed.data.BREAKGLASS_LOG_LEVEL,
    execDirs: Object.freeze(parsed.data.BREAKGLASS_EXEC_DIRS),
    krlDirs: Object.freeze(parsed.data.BREAKGLASS_KRL_DIRS),
    passphrase: parsed.data.BREAKGLASS_PASSPHRASE || undefined,
    newPassphrase: parsed.data.BREAKGLASS_NEW_PASSPHRASE || undefined,
    pkcs11Pin: parsed.data.BREAKGLASS_PKCS11_PIN || undefined,
    shutdownTimeoutMs: parsed.data.BREAKGLASS_SHUTDOWN_TIMEOUT,
    publicUrl: parsed.data.BREAKGLASS_PUBLIC_URL,
    driftIntervalMs: parsed.data.BREAKGLASS_DRIFT_INTERVAL,
    metricsToken: parsed.data.BREAKGLASS_METRICS_TOKEN || undefined,
    // issue 13 (sched)
    jobConcurrency: parsed.data.BREAKGLASS_JOB_CONCURRENCY,
    // issue 13 (per-target limit)
    targetConnections: parsed.data.BREAKGLASS_TARGET_CONNECTIONS,
  });
}
