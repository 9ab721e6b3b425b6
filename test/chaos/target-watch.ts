/**
 * Watches one role on the target, straight to the cluster (never through the proxy Breakglass
 * uses), from before expiry until the case settles: is the credential usable (the role may log
 * in and is not past its VALID UNTIL; a login with the password succeeds when we know it), and
 * are sessions of that role still alive? It keeps the last instant either was true: I1 holds
 * when that instant is within 5 s of the bound's start.
 */
import pg from 'pg';
import type { PgCluster } from '../support/pg-cluster.js';
import { tryLogin } from '../support/harness.js';

export interface TargetWatch {
  /** Last time (ms) the credential was seen usable, or a session alive; undefined if never. */
  lastUsableAt(): number | undefined;
  /** First time (ms) the role was seen unable to log in (rolcanlogin false). */
  disabledAt(): number | undefined;
  /** Also try logging in with this password from now on. */
  knowPassword(password: string): void;
  stop(): Promise<void>;
}

interface Sample {
  readonly usable: boolean;
  readonly disabled: boolean;
}

async function sample(cluster: PgCluster, role: string, password: string | undefined): Promise<Sample> {
  const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres', connectionTimeoutMillis: 2_000 });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const roles = await admin.query<{ rolcanlogin: boolean; valid: boolean }>(
      'select rolcanlogin, (rolvaliduntil is null or rolvaliduntil > now()) as valid from pg_roles where rolname = $1',
      [role],
    );
    const sessions = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where usename = $1', [role]);
    const row = roles.rows[0];
    const canLogin = row !== undefined && row.rolcanlogin && row.valid;
    let loggedIn = false;
    if (password !== undefined && canLogin) {
      const attempt = await tryLogin(cluster, role, password);
      loggedIn = typeof attempt !== 'string';
      if (typeof attempt !== 'string') await attempt.end().catch(() => undefined);
    }
    return { usable: canLogin || loggedIn || (sessions.rows[0]?.n ?? 0) > 0, disabled: row !== undefined && !row.rolcanlogin };
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** Samples every `everyMs` until stopped. A target that does not answer counts as nothing usable. */
export function watchTarget(cluster: PgCluster, role: string, everyMs = 250): TargetWatch {
  let password: string | undefined;
  let lastUsable: number | undefined;
  let disabled: number | undefined;
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      const seen = await sample(cluster, role, password).catch(() => undefined);
      if (seen?.usable) lastUsable = Date.now();
      if (seen?.disabled && disabled === undefined) disabled = at;
      if (seen && !seen.disabled) disabled = undefined;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    lastUsableAt: () => lastUsable,
    disabledAt: () => disabled,
    knowPassword(secret) {
      password = secret;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
