/**
 * The PostgreSQL pre-staged connector against a private scram-sha-256 cluster (a real server).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { inspect as utilInspect } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresConnector } from '../../src/connectors/postgres/postgres-connector.js';
import { connectorDrivers } from '../../src/connectors/index.js';
import { AppError } from '../../src/errors/index.js';
import type { Connector, PrestagedOperations } from '../../src/ports/index.js';

type PrestagedConnector = PrestagedOperations & Pick<Connector, 'close' | 'capabilities'>;
const prestagedOf = (c: Connector): PrestagedConnector => ({ ...c.prestaged!, capabilities: c.capabilities, close: () => c.close() });
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

const check = await requireService('PostgreSQL binaries (/usr/lib/postgresql/*/bin)', pgBinariesAvailable);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rejects with whatever the call throws, so tests can look at the AppError itself. */
async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

describe.skipIf(check.skip)('postgres connector (private scram cluster)', () => {
  let cluster: PgCluster;
  let connector: PrestagedConnector;
  let counter = 0;
  const nextRole = (prefix = 'bg_acct') => `${prefix}_${++counter}`;

  const settings = () => ({ host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser });

  /** A plain client logging in as the account, the way a human would. */
  async function login(user: string, password: string): Promise<pg.Client> {
    const client = new pg.Client({ ...settings(), user, password, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  /** Admin SQL on a short-lived client, so a test that takes the cluster down breaks nothing. */
  async function adminQuery<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
    const client = await login(cluster.adminUser, cluster.adminPassword);
    try {
      return await client.query<R>(sql, params);
    } finally {
      await client.end();
    }
  }

  async function loginError(user: string, password: string): Promise<pg.DatabaseError> {
    try {
      const client = await login(user, password);
      await client.end();
    } catch (err) {
      expect(err).toBeInstanceOf(pg.DatabaseError);
      return err as pg.DatabaseError;
    }
    throw new Error(`login as ${user} unexpectedly succeeded`);
  }

  beforeAll(async () => {
    cluster = await startPgCluster();
    connector = prestagedOf(createPostgresConnector({ type: 'postgres', settings: settings(), adminSecret: cluster.adminPassword }));
  });

  afterAll(async () => {
    await connector?.close();
    await cluster?.stop();
  });

  it('is registered under "postgres" with the right capabilities', () => {
    expect(connectorDrivers['postgres']?.create).toBe(createPostgresConnector);
    expect(connector.capabilities).toEqual({
      supportsSessionKill: true,
      supportsNativeExpiry: true,
      supportsPrestaged: true,
      supportsEphemeral: false,
    });
  });

  it('stage creates a disabled role whose secret is right but cannot log in; idempotent', async () => {
    const role = nextRole();
    expect(await connector.inspect(role)).toEqual({ exists: false, canLogin: false, validUntil: undefined, sessions: 0 });
    await connector.stage(role, 'first-secret');
    await connector.stage(role, 'staged-secret');

    const err = await loginError(role, 'staged-secret');
    expect(err.code).toBe('28000');
    expect(err.message).toMatch(/not permitted to log in/);
    expect(await connector.verify({ username: role, password: 'staged-secret' })).toBe('accepted');
    expect(await connector.verify({ username: role, password: 'first-secret' })).toBe('rejected');
    expect(await connector.inspect(role)).toEqual({ exists: true, canLogin: false, validUntil: undefined, sessions: 0 });
  });

  it('enable lets a real client log in until the native VALID UNTIL', async () => {
    const role = nextRole();
    await connector.stage(role, 's3cret-enable');
    const until = new Date(Date.now() + 3_600_000);
    await connector.enable(role, until);

    const client = await login(role, 's3cret-enable');
    const res = await client.query<{ one: number }>('select 1 as one');
    expect(res.rows[0]?.one).toBe(1);

    const state = await connector.inspect(role);
    expect(state.exists).toBe(true);
    expect(state.canLogin).toBe(true);
    expect(state.sessions).toBe(1);
    expect(Math.abs((state.validUntil?.getTime() ?? 0) - until.getTime())).toBeLessThan(1000);
    await client.end();
  });

  it('disable terminates a session opened before it and blocks new logins', async () => {
    const role = nextRole();
    await connector.stage(role, 'disable-me');
    await connector.enable(role, new Date(Date.now() + 3_600_000));
    const open = await login(role, 'disable-me');
    await open.query('select 1');

    await connector.disable(role);

    await expect(open.query('select 1')).rejects.toThrow();
    await open.end().catch(() => undefined);
    expect((await loginError(role, 'disable-me')).code).toBe('28000');
    expect(await connector.inspect(role)).toMatchObject({ exists: true, canLogin: false, sessions: 0 });
    // Revocation converges: disabling twice, or a role that is gone, is not an error.
    await connector.disable(role);
    await connector.disable(nextRole('never_staged'));
  });

  it('rotate replaces the secret, keeps the role disabled, and survives an expired VALID UNTIL', async () => {
    const role = nextRole();
    await connector.stage(role, 'old-secret');
    // A grant that already ran out: VALID UNTIL in the past makes even a right password fail.
    await connector.enable(role, new Date(Date.now() - 60_000));
    await connector.disable(role);
    expect(await connector.verify({ username: role, password: 'old-secret' })).toBe('rejected');

    await connector.rotate(role, 'new-secret');

    expect(await connector.verify({ username: role, password: 'old-secret' })).toBe('rejected');
    expect(await connector.verify({ username: role, password: 'new-secret' })).toBe('accepted');
    expect(await connector.inspect(role)).toMatchObject({ exists: true, canLogin: false, validUntil: undefined });
    expect((await loginError(role, 'new-secret')).code).toBe('28000');
    expect(await connector.verify({ username: role, password: '' })).toBe('rejected');
    expect(await connector.verify({ username: nextRole('no_such_role'), password: 'x' })).toBe('rejected');
  });

  it('non-ASCII secrets verify, whether hashed locally or (SASLprep-rewritten) by the server', async () => {
    for (const secret of ['pässwörd-日本語-🔑', 'ｗｉｄｅ\u00A0space\u00ADsoft']) {
      const role = nextRole();
      await connector.stage(role, secret);
      expect(await connector.verify({ username: role, password: secret })).toBe('accepted');
      expect(await connector.verify({ username: role, password: `${secret}x` })).toBe('rejected');
      await connector.enable(role, new Date(Date.now() + 60_000));
      await (await login(role, secret)).end();
      await connector.disable(role);
    }
  });

  it('a crashed target (kill -9) is retryable and the connector recovers after restart', async () => {
    const role = nextRole();
    await connector.stage(role, 'crash-secret');
    await cluster.kill9();
    try {
      const err = await thrown(connector.inspect(role));
      expect(err.code).toBe('target_unavailable');
      expect(err.retryable).toBe(true);
    } finally {
      await cluster.resume();
    }
    expect(await connector.inspect(role)).toMatchObject({ exists: true, canLogin: false });
  });

  it('sql-injection: hostile role names are quoted, never executed', async () => {
    const hostile = [
      'a"b',
      'x"; DROP ROLE admin; --',
      "o'brien'); DROP ROLE admin; --",
      'back\\slash\\',
      '\u0430dmin', // Cyrillic "а": looks like admin, is not
      'ADMIN',
      'with space',
      '$$dollar$$',
      'r'.repeat(63),
      `${'é'.repeat(31)}x`, // 63 bytes in UTF-8
    ];
    const password = `it's a \\ back'slash $$ and $tag$ "quote" ; --`;
    for (const role of hostile) {
      await connector.stage(role, password);
      await connector.enable(role, new Date(Date.now() + 600_000));
      const client = await login(role, password);
      await client.end();
      expect(await connector.verify({ username: role, password })).toBe('accepted');
      await connector.disable(role);
      await connector.rotate(role, `${password}2`);
      expect(await connector.verify({ username: role, password: `${password}2` })).toBe('accepted');
      expect(await connector.inspect(role)).toMatchObject({ exists: true, canLogin: false });
    }
    const names = await adminQuery<{ rolname: string; rolcanlogin: boolean; rolsuper: boolean }>(
      'select rolname, rolcanlogin, rolsuper from pg_roles where rolname = any($1)',
      [[...hostile, 'admin']],
    );
    expect(names.rows.map((r) => r.rolname).sort()).toEqual([...hostile, 'admin'].sort());
    expect(names.rows.find((r) => r.rolname === 'admin')).toMatchObject({ rolcanlogin: true, rolsuper: true });

    const rejected = ['', 'nul\0byte', 'r'.repeat(64), 'é'.repeat(32), '\uD800lone', cluster.adminUser];
    for (const role of rejected) {
      for (const call of [
        connector.stage(role, 'x'),
        connector.enable(role, new Date()),
        connector.disable(role),
        connector.rotate(role, 'x'),
      ]) {
        expect((await thrown(call)).code).toBe('validation');
      }
    }
    // Nothing truncated to 63 bytes was created behind our back.
    expect((await adminQuery("select 1 from pg_roles where rolname like 'nul%'")).rowCount).toBe(0);
  });

  it('secret-in-logs: secrets never appear in errors, causes, or the server log', async () => {
    const secret = 'Sup3r-secret-never-logged';
    const unicodeSecret = 'ｓｅｃｒｅｔ\u00A0wide'; // rewritten by SASLprep: hashed by the server
    const missing = nextRole('missing');
    for (const s of [secret, unicodeSecret]) {
      const err = await thrown(connector.rotate(missing, s));
      expect(err.code).toBe('target_error');
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('42704');
      expect(err.message).toContain(missing);
      expect(utilInspect(err, { depth: 10 })).not.toContain(s);
      expect(JSON.stringify(err)).not.toContain(s);
    }
    // A reserved name fails inside CREATE ROLE, the statement carrying the password.
    const reserved = await thrown(connector.stage('pg_breakglass', secret));
    expect(reserved.code).toBe('target_error');
    expect(utilInspect(reserved, { depth: 10 })).not.toContain(secret);

    // A failed statement is logged with its text by default (log_min_error_statement = error):
    // only the locally built SCRAM verifier may be in it, never the plaintext.
    expect(readFileSync(cluster.logFile, 'utf8')).toContain('SCRAM-SHA-256$');
    expect(readFileSync(cluster.logFile, 'utf8')).not.toContain(secret);

    // With the target down the error is retryable and still carries no secret.
    const role = nextRole();
    await connector.stage(role, 'before-outage');
    await cluster.pause();
    try {
      const down = await thrown(connector.rotate(role, secret));
      expect(down.code).toBe('target_unavailable');
      expect(down.retryable).toBe(true);
      expect(utilInspect(down, { depth: 10 })).not.toContain(secret);
      const verifyDown = await thrown(connector.verify({ username: role, password: secret }));
      expect(verifyDown.code).toBe('target_unavailable');
      expect(utilInspect(verifyDown, { depth: 10 })).not.toContain(secret);
    } finally {
      await cluster.resume();
    }
    // The pool recovers by itself once the target is back.
    await connector.rotate(role, secret);
    expect(await connector.verify({ username: role, password: secret })).toBe('accepted');
  });

  it('a stopped or silent target gives a retryable target_unavailable within the timeout', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    // A server that accepts and never answers: only the timeout can end the wait.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      for (const port of [closedPort, silentPort]) {
        const down = prestagedOf(createPostgresConnector({
          type: 'postgres',
          settings: { ...settings(), port },
          adminSecret: cluster.adminPassword,
          timeoutMs: 1000,
        }));
        for (const call of [() => down.disable('bg_x'), () => down.verify({ username: 'bg_x', password: 'pw' })]) {
          const started = Date.now();
          const err = await thrown(call());
          expect(err.code).toBe('target_unavailable');
          expect(err.retryable).toBe(true);
          expect(Date.now() - started).toBeLessThan(2500);
        }
        await down.close();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a wrong admin password is a target_error, not retryable', async () => {
    const wrong = prestagedOf(createPostgresConnector({ type: 'postgres', settings: settings(), adminSecret: 'not-the-password' }));
    const err = await thrown(wrong.inspect('bg_any'));
    expect(err.code).toBe('target_error');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('28P01');
    await wrong.close();
  });

  it('rejects bad settings at construction', () => {
    const make = (s: Record<string, unknown>, adminSecret: string | undefined) => () =>
      createPostgresConnector({ type: 'postgres', settings: s, adminSecret });
    expect(make({ ...settings(), port: 'x' }, 'pw')).toThrow(AppError);
    expect(make({ ...settings(), host: '' }, 'pw')).toThrow(AppError);
    expect(make({ host: 'h', port: 5432, database: 'd' }, 'pw')).toThrow(/settings/);
    expect(make(settings(), undefined)).toThrow(/admin secret/);
  });

  it('VALID UNTIL is enforced natively: the login dies with Breakglass down (belt and braces)', async () => {
    const role = nextRole();
    await connector.stage(role, 'short-lived');
    await connector.enable(role, new Date(Date.now() + 2000));
    const early = await login(role, 'short-lived');

    await sleep(3000);

    // The server itself refuses the expired credential: nobody called disable.
    expect((await loginError(role, 'short-lived')).code).toBe('28P01');
    // VALID UNTIL only gates authentication: a session opened before expiry lives on, which is
    // why disable must terminate sessions.
    await expect(early.query('select 1')).resolves.toBeDefined();
    await early.end();
  });
});
