/**
 * Benches 1 and 2: a real server in-process (SQLite store, logger off) against a private
 * scram-sha-256 PostgreSQL cluster. Each iteration times invoke + reveal over HTTP, then
 * ends the grant and polls until it is revoked and then awaiting certification. The bare
 * target statements and the HTTP floor are sampled in the same iterations, so noise on a
 * shared machine falls on product and baseline alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { initDataDir } from '../src/app/init.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import { startPgCluster, type PgCluster } from '../test/support/pg-cluster.js';
import { plainRows, sqlitePlainInsert, type BaselineInsert } from './audit-append.js';
import { apiClient, type ApiClient } from './lib/api-client.js';
import { peakRssMb } from './lib/memory.js';
import type { Figure } from './lib/report.js';
import { sleep, summarize, type Deadline } from './lib/stats.js';
import { targetBaselines, type TargetBaselines } from './target-baselines.js';

export interface CaseBenchOptions {
  /** Pre-staged accounts in the catalog; iterations cycle through them. */
  readonly accounts: number;
  /** Iterations run first and thrown away (JIT, connection pools, page cache). */
  readonly warmup: number;
  /** Measured iterations with no session open, then as many with one live session. */
  readonly perRound: number;
  readonly pollMs: number;
  /** Longest a single revocation may take before the bench fails. */
  readonly revocationTimeoutMs: number;
  readonly deadline: Deadline;
  readonly progress: (message: string) => void;
}

interface GrantView {
  readonly id: string;
  readonly state: string;
  readonly revokedAt?: string;
  readonly rotatedAt?: string;
}

interface CaseSample {
  readonly credentialMs: number;
  readonly grantMs: number;
  readonly revealMs: number;
  readonly revokedMs: number;
  readonly certifiableMs: number;
  /** From the server's own revokedAt / rotatedAt (same process, same clock; 1 ms resolution). */
  readonly serverRevokedMs: number;
  readonly serverCertifiableMs: number;
  readonly sessionKilled: boolean | undefined;
  /** Each status poll (GET /v1/grants/{id}): an authenticated read. */
  readonly pollMs: readonly number[];
}

interface BaselineSample {
  readonly healthz: number;
  readonly alterLogin: number;
  readonly alterLoginCold: number;
  readonly nologin: number;
  readonly nologinSession: number;
  /** One row committed with fsync (better-sqlite3, WAL, synchronous=FULL). */
  readonly commit: number;
  /** The floor of invoke → credential: the target enable on a warm connection + one fsync'd commit. */
  readonly floor: number;
}

const accountName = (i: number) => `bench-${String(i).padStart(2, '0')}`;

function catalog(cluster: PgCluster, accounts: number) {
  return {
    targets: [
      {
        name: 'bench-pg',
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
        conditions: ['outage'],
        incidentPattern: '^INC-[0-9]+$',
        approval: { mode: 'post-hoc' },
        defaultTtl: '15m',
        maxTtl: '1h',
      },
    ],
    accounts: Array.from({ length: accounts }, (_, i) => ({
      name: accountName(i),
      target: 'bench-pg',
      mode: 'prestaged',
      role: `bg_bench_${String(i).padStart(2, '0')}`,
      policy: 'p0',
    })),
    users: [{ name: 'alice', roles: ['responder'] }],
  };
}

/** Opens a session with the revealed credential, as a responder would. */
async function openSession(cluster: PgCluster, username: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: cluster.host, port: cluster.port, user: username, password, database: 'postgres' });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('select 1');
  return client;
}

async function runCase(
  api: ApiClient,
  token: string,
  cluster: PgCluster,
  account: string,
  withSession: boolean,
  options: CaseBenchOptions,
): Promise<CaseSample> {
  const invokeBody = { account, condition: 'outage', reason: 'bench: primary down', incident: 'INC-1', ttl: '15m' };
  const start = performance.now();
  const granted = await api.expect<GrantView>(201, token, 'POST', '/v1/grants', invokeBody);
  const revealed = await api.expect<{ username: string; password: string }>(200, token, 'POST', `/v1/grants/${granted.body.id}/reveal`);
  const credentialMs = performance.now() - start;
  const id = granted.body.id;

  const session = withSession ? await openSession(cluster, revealed.body.username, revealed.body.password) : undefined;

  const endStart = performance.now();
  const endWall = Date.now();
  await api.expect<GrantView>(200, token, 'POST', `/v1/grants/${id}/end`);
  let revokedMs: number | undefined;
  const pollMs: number[] = [];
  for (;;) {
    const { body: grant, ms } = await api.expect<GrantView>(200, token, 'GET', `/v1/grants/${id}`);
    pollMs.push(ms);
    const elapsed = performance.now() - endStart;
    // revoked and rotating are written in one transaction, so "revoked" shows as revokedAt.
    if (revokedMs === undefined && grant.revokedAt !== undefined) revokedMs = elapsed;
    if (grant.state === 'awaiting-certification') {
      let sessionKilled: boolean | undefined;
      if (session) {
        sessionKilled = await session.query('select 1').then(() => false, () => true);
        await session.end().catch(() => undefined);
      }
      return {
        credentialMs,
        grantMs: granted.ms,
        revealMs: revealed.ms,
        revokedMs: revokedMs ?? elapsed,
        certifiableMs: elapsed,
        serverRevokedMs: Date.parse(grant.revokedAt ?? '') - endWall,
        serverCertifiableMs: Date.parse(grant.rotatedAt ?? '') - endWall,
        sessionKilled,
        pollMs,
      };
    }
    if (grant.state === 'failed' || elapsed > options.revocationTimeoutMs) {
      await session?.end().catch(() => undefined);
      throw new Error(`grant ${id} did not reach awaiting-certification in ${Math.round(elapsed)} ms (state ${grant.state})`);
    }
    await sleep(options.pollMs);
  }
}

const commitRows = plainRows(1_000);
let committed = 0;

async function sampleBaselines(api: ApiClient, target: TargetBaselines, commit: BaselineInsert): Promise<BaselineSample> {
  const healthz = (await api.expect(200, undefined, 'GET', '/healthz')).ms;
  const alterLogin = await target.alterLogin();
  const row = commitRows[committed % commitRows.length]!;
  const commitMs = await commit({ ...row, seq: ++committed });
  return {
    healthz,
    alterLogin,
    commit: commitMs,
    floor: alterLogin + commitMs,
    alterLoginCold: await target.alterLoginCold(),
    nologin: await target.nologinTerminate(),
    nologinSession: await target.nologinTerminateSession(),
  };
}

interface Fixture {
  readonly cluster: PgCluster;
  readonly server: RunningServer;
  readonly dataDir: string;
  readonly target: TargetBaselines;
  readonly api: ApiClient;
  readonly token: string;
  readonly commit: BaselineInsert;
}

async function setUp(options: CaseBenchOptions, cleanups: (() => Promise<void>)[]): Promise<Fixture> {
  options.progress('starting a private PostgreSQL cluster (the target)');
  const cluster = await startPgCluster();
  cleanups.push(() => cluster.stop());
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-bench-'));
  cleanups.push(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
  const { adminToken } = await initDataDir({ dataDir });
  const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
  cleanups.push(() => server.close());
  const target = await targetBaselines(cluster);
  cleanups.push(() => target.close());
  const api = apiClient(server.url);
  // Beside the data directory, not in it: the server owns what is inside.
  const floorDir = mkdtempSync(join(tmpdir(), 'bg-bench-floor-'));
  cleanups.push(() => Promise.resolve(rmSync(floorDir, { recursive: true, force: true })));
  const commitDb = sqlitePlainInsert(join(floorDir, 'floor.db'));
  cleanups.push(() => Promise.resolve(commitDb.close()));
  options.progress(`applying a catalog of ${options.accounts} pre-staged accounts`);
  const applied = await api.expect<{ staging: { staging: string }[] }>(200, adminToken, 'POST', '/v1/apply', catalog(cluster, options.accounts));
  const unstaged = applied.body.staging.filter((s) => s.staging !== 'staged');
  if (unstaged.length > 0) throw new Error(`apply left accounts unstaged: ${JSON.stringify(unstaged)}`);
  // alice enrols as a person does: the admin invites, she redeems the one-time code with no token.
  const { code } = (await api.expect<{ code: string }>(201, adminToken, 'POST', '/v1/users/alice/invite', {})).body;
  const token = (await api.expect<{ token: string }>(201, undefined, 'POST', '/v1/tokens/redeem', { code })).body.token;
  return { cluster, server, dataDir, target, api, token, commit: commitDb.insert };
}

/** Runs benches 1 and 2; see the module comment. */
export async function caseLatencyBench(options: CaseBenchOptions): Promise<{ figures: Figure[]; environment: Record<string, unknown> }> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const { cluster, target, api, token, commit } = await setUp(options, cleanups);
    const plain: CaseSample[] = [];
    const withSession: CaseSample[] = [];
    const baselines: BaselineSample[] = [];
    const total = options.warmup + 2 * options.perRound;
    for (let i = 0; i < total && !options.deadline.expired(); i++) {
      const measured = i >= options.warmup;
      const sessionRound = i >= options.warmup + options.perRound;
      const sample = await runCase(api, token, cluster, accountName(i % options.accounts), sessionRound, options);
      const base = await sampleBaselines(api, target, commit);
      if (measured) {
        (sessionRound ? withSession : plain).push(sample);
        baselines.push(base);
      }
      if ((i + 1) % 10 === 0) options.progress(`case ${i + 1}/${total}`);
    }
    if (options.deadline.expired()) options.progress('case bench: time budget used up, reporting the samples taken');
    const notKilled = withSession.filter((s) => s.sessionKilled === false).length;
    if (notKilled > 0) console.error(`WARNING: ${notKilled} live session(s) survived revocation`);
    return {
      figures: caseFigures(plain, withSession, baselines),
      environment: { targetPostgres: await target.serverVersion(), sessionsSurvivingRevocation: notKilled },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

function caseFigures(plain: CaseSample[], withSession: CaseSample[], baselines: BaselineSample[]): Figure[] {
  const all = [...plain, ...withSession];
  const pick = <T>(samples: T[], key: keyof T) => summarize(samples.map((s) => s[key] as number));
  const rss = peakRssMb();
  const server = (samples: CaseSample[]) => ({
    serverRecordedRevokedMs: pick(samples, 'serverRevokedMs'),
    serverRecordedCertifiableMs: pick(samples, 'serverCertifiableMs'),
  });
  const invoke = '1 invoke';
  const revoke = '2 revocation';
  return [
    { id: 'invoke.credential', section: invoke, role: 'product', label: 'invoke → credential (POST grants + reveal)', latency: pick(all, 'credentialMs'), baseline: 'pg.alter-login', memory: { peakRssMb: rss } },
    { id: 'invoke.grant', section: invoke, role: 'product', label: 'POST /v1/grants (enables on target)', latency: pick(all, 'grantMs'), baseline: 'pg.alter-login' },
    { id: 'invoke.reveal', section: invoke, role: 'product', label: 'POST /v1/grants/{id}/reveal', latency: pick(all, 'revealMs'), baseline: 'http.healthz' },
    { id: 'pg.alter-login', section: invoke, role: 'baseline', label: 'ALTER ROLE … LOGIN VALID UNTIL (warm conn)', latency: pick(baselines, 'alterLogin') },
    { id: 'access.floor', section: invoke, role: 'baseline', label: 'floor: ALTER ROLE … LOGIN (warm) + 1 fsync\'d commit', latency: pick(baselines, 'floor') },
    { id: 'sqlite.fsync-commit', section: invoke, role: 'baseline', label: '1 row, BEGIN IMMEDIATE … COMMIT (WAL, sync=FULL)', latency: pick(baselines, 'commit') },
    { id: 'pg.alter-login-cold', section: invoke, role: 'baseline', label: 'connect + ALTER ROLE … LOGIN + close', latency: pick(baselines, 'alterLoginCold'), baseline: 'pg.alter-login' },
    { id: 'http.grant-read', section: invoke, role: 'product', label: 'GET /v1/grants/{id} (auth + read; the polls)', latency: summarize(all.flatMap((s) => s.pollMs)), baseline: 'http.healthz' },
    { id: 'http.healthz', section: invoke, role: 'baseline', label: 'GET /healthz (HTTP floor)', latency: pick(baselines, 'healthz') },
    { id: 'revoke.revoked', section: revoke, role: 'product', label: 'end → revoked (no live session)', latency: pick(plain, 'revokedMs'), baseline: 'pg.nologin-terminate', extra: server(plain) },
    { id: 'revoke.certifiable', section: revoke, role: 'product', label: 'end → awaiting-certification (no session)', latency: pick(plain, 'certifiableMs'), baseline: 'pg.nologin-terminate', extra: server(plain) },
    { id: 'revoke.revoked-session', section: revoke, role: 'product', label: 'end → revoked (1 live session)', latency: pick(withSession, 'revokedMs'), baseline: 'pg.nologin-terminate-session', extra: server(withSession) },
    { id: 'revoke.certifiable-session', section: revoke, role: 'product', label: 'end → awaiting-certification (1 session)', latency: pick(withSession, 'certifiableMs'), baseline: 'pg.nologin-terminate-session', extra: server(withSession), memory: { peakRssMb: rss } },
    { id: 'pg.nologin-terminate', section: revoke, role: 'baseline', label: 'ALTER ROLE NOLOGIN + pg_terminate_backend', latency: pick(baselines, 'nologin') },
    { id: 'pg.nologin-terminate-session', section: revoke, role: 'baseline', label: 'same, 1 live session terminated', latency: pick(baselines, 'nologinSession') },
  ];
}
