/**
 * Starts a real Breakglass server in-process on a temp data dir, against a private
 * scram-sha-256 PostgreSQL cluster as the target, on either store dialect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Writable } from 'node:stream';
import { initDataDir } from '../../src/app/init.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import type { PgCluster } from './pg-cluster.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Harness {
  readonly server: RunningServer;
  readonly dataDir: string;
  readonly adminToken: string;
  readonly logs: string[];
  call(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** A token for a declared user: the admin invites, the user redeems. */
  enrol(user: string): Promise<string>;
  stop(): Promise<void>;
}

/** A fresh PostgreSQL database for the store on the shared server (trust auth). */
export async function createStoreDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bg_e2e_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop() {
      const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startHarness(options: { dialect: Dialect; databaseUrl?: string; dataDir?: string; adminToken?: string; execDirs?: string[]; metricsToken?: string; driftIntervalMs?: number }): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'bg-e2e-'));
  const databaseUrl = options.dialect === 'postgres' ? options.databaseUrl : undefined;
  const adminToken = options.adminToken ?? (await initDataDir({ dataDir, databaseUrl })).adminToken;
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const server = await startServer({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    databaseUrl,
    retry: { baseMs: 200, maxMs: 1_000 },
    ...(options.execDirs ? { execDirs: options.execDirs } : {}),
    ...(options.driftIntervalMs === undefined ? {} : { driftIntervalMs: options.driftIntervalMs }),
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    schedulerPollMs: 200,
    logger: { level: 'debug', stream } as unknown as { level: string },
  });
  return {
    server,
    dataDir,
    adminToken,
    logs,
    async call(token, method, path, body) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON (export) */
      }
      return { status: response.status, body: parsed };
    },
    enrol: (user) => enrol(server.url, adminToken, user),
    async stop() {
      await server.close();
    },
  };
}

/**
 * A token for `user`, the way a person gets one: the admin issues a one-time enrolment code and
 * the user redeems it (no bearer token) for a token only they hold.
 */
export async function enrol(url: string, adminToken: string, user: string): Promise<string> {
  const post = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const { code } = await post(`/v1/users/${encodeURIComponent(user)}/invite`, {}, adminToken);
  return (await post('/v1/tokens/redeem', { code })).token as string;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The catalog of the example, pointed at a private cluster. */
export function catalogFor(cluster: PgCluster, extra: { role?: string } = {}) {
  return {
    targets: [
      {
        name: 'prod-pg',
        type: 'postgres',
        host: cluster.host,
        port: cluster.port,
        database: 'postgres',
        user: cluster.adminUser,
        password: cluster.adminPassword,
      },
    ],
    policies: [
      {
        name: 'p0',
        conditions: ['outage', 'lockout', 'security-incident'],
        incidentPattern: '^INC-[0-9]+$',
        approval: { mode: 'post-hoc' },
        defaultTtl: '15m',
        maxTtl: '1h',
      },
    ],
    accounts: [{ name: 'pg-breakglass', target: 'prod-pg', mode: 'prestaged', role: extra.role ?? 'bg_admin', policy: 'p0' }],
    users: [
      { name: 'alice', roles: ['responder'] },
      { name: 'bob', roles: ['incident-owner'] },
    ],
  };
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Tries to log in to the target as a role; returns the connected client or the SQLSTATE. */
export async function tryLogin(cluster: PgCluster, user: string, password: string): Promise<pg.Client | string> {
  const client = new pg.Client({ host: cluster.host, port: cluster.port, user, password, database: 'postgres', connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    return (error as { code?: string }).code ?? 'unknown';
  }
}
