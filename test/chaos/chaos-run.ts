/**
 * One chaos run: a fresh data dir and server, a catalog on the shared target (through a proxy
 * the run controls, with role names of its own), the scenario's faults, then the invariants.
 * The scenario drives the case through `RunContext`; this file owns setup, settling, the checks
 * and the cleanup, so every scenario is judged the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { catalogFor } from '../support/harness.js';
import { startNetProxy, type NetProxy } from '../support/net-proxy.js';
import type { PgCluster } from '../support/pg-cluster.js';
import { startChaosNode, type ChaosNode } from './chaos-node.js';
import type { ChaosRng } from './chaos-rng.js';
import { checkStore, finish, settle } from './case-checks.js';
import { BOUND_MS, checkBound, type Lateness } from './invariants.js';
import { watchTarget, type TargetWatch } from './target-watch.js';

export const TTL_MS = 4_000;
const SETTLE_WITHIN_MS = 90_000;

/** What a scenario may do to the run. */
export interface RunContext {
  readonly rng: ChaosRng;
  readonly node: ChaosNode;
  readonly proxy: NetProxy;
  readonly cluster: PgCluster;
  readonly aliceToken: string;
  /** Expiry of the main grant once invoked (ms). */
  readonly expiresAt: number;
  /** Invokes the main account; resolves with the answer, or rejects if the server died first. */
  invoke(account?: string): Promise<{ status: number; body: any }>;
  /** Invoke, reveal, and open `sessions` sessions with the password (the grant in use). */
  openGrant(sessions?: number): Promise<void>;
  /** After a kill: find what the invoke left, and use it if it is active. */
  adoptGrant(): Promise<void>;
  killAndRestart(): Promise<void>;
  /** Something was down at expiry and is back now: I1's bound counts from here. */
  comeback(at?: number): void;
  /** The store is gone for good (deleted): skip the store-side checks, judge the target only. */
  storeGone(): void;
  violation(text: string): void;
  note(text: string): void;
}

export interface RunResult {
  readonly scenario: string;
  readonly label: string;
  readonly violations: string[];
  readonly notes: string[];
  readonly lateness: Lateness | undefined;
  /** revokedAt of the main grant minus the bound's start (ms); undefined without a revocation. */
  readonly revokedAfterBoundMs: number | undefined;
  readonly durationMs: number;
}

export interface RunSetup {
  readonly cluster: PgCluster;
  /** A PostgreSQL database for the store; SQLite in the data dir without. */
  readonly databaseUrl?: string;
  /** A data dir prepared by the scenario (a small tmpfs); a temp dir without. */
  readonly dataDir?: string;
  /** Also require the revocation itself recorded within the bound of the comeback (target down). */
  readonly revocationWithinBound?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function applyCatalog(node: ChaosNode, cluster: PgCluster, proxy: NetProxy, role: string): Promise<void> {
  const base = catalogFor(cluster, { role });
  const catalog = {
    ...base,
    targets: base.targets.map((t) => ({ ...t, port: proxy.port })),
    accounts: [...base.accounts, { ...base.accounts[0], name: 'pg-probe', role: `${role}_p` }],
  };
  const applied = await node.call(node.adminToken, 'POST', '/v1/apply', catalog, 60_000);
  if (applied.status !== 200) throw new Error(`apply: ${applied.status} ${JSON.stringify(applied.body)}`);
  const pending = (applied.body.staging as { staging: string }[]).filter((s) => s.staging !== 'staged');
  if (pending.length > 0) throw new Error(`staging: ${JSON.stringify(applied.body.staging)}`);
}

async function dropRoles(cluster: PgCluster, roles: readonly string[]): Promise<void> {
  const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = any($1)', [roles]);
    for (const role of roles) await admin.query(`drop role if exists "${role}"`);
  } finally {
    await admin.end();
  }
}

/** Everything the run opened, closed in reverse; failures here never hide the run's result. */
type Cleanup = (() => Promise<unknown>)[];

async function openSessions(cluster: PgCluster, role: string, password: string, count: number, cleanup: Cleanup): Promise<number> {
  let opened = 0;
  for (let i = 0; i < count; i++) {
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: role, password, database: 'postgres', connectionTimeoutMillis: 3_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      opened += 1;
      cleanup.push(() => client.end().catch(() => undefined));
    } catch {
      break; // expired already: nothing to hold open
    }
  }
  return opened;
}

/** Runs `scenario` once; never throws for a violation, only records it. */
export async function chaosRun(scenario: string, label: string, rng: ChaosRng, setup: RunSetup, drive: (ctx: RunContext) => Promise<void>): Promise<RunResult> {
  const started = Date.now();
  const violations: string[] = [];
  const notes: string[] = [];
  const cleanup: Cleanup = [];
  const role = `bgc_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${rng.between(0, 36 ** 4).toString(36)}`;
  const dataDir = setup.dataDir ?? mkdtempSync(join(tmpdir(), 'bg-chaos-'));
  if (setup.dataDir === undefined) cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  let lateness: Lateness | undefined;
  let revokedAfterBoundMs: number | undefined;
  try {
    const node = await startChaosNode(dataDir, setup.databaseUrl);
    cleanup.push(() => node.stop(5_000));
    const proxy = await startNetProxy({ host: setup.cluster.host, port: setup.cluster.port });
    cleanup.push(() => proxy.close());
    cleanup.push(() => dropRoles(setup.cluster, [role, `${role}_p`]));
    await applyCatalog(node, setup.cluster, proxy, role);
    const aliceToken = await node.enrol('alice');
    const watches = [watchTarget(setup.cluster, role), watchTarget(setup.cluster, `${role}_p`)];
    cleanup.push(() => Promise.all(watches.map((w) => w.stop())));
    const state: RunState = { expiresAt: 0, comeback: 0, storeGone: false };
    const ctx = runContext({ rng, node, proxy, cluster: setup.cluster, aliceToken, role, watch: watches[0]!, state, violations, notes, cleanup });
    await drive(ctx);
    let views: any[] = [];
    if (state.storeGone) {
      // Nothing left to settle or read: judge the target only, once the bound has passed.
      await sleep(Math.max(state.expiresAt, state.comeback) + BOUND_MS + 1_000 - Date.now());
    } else {
      views = await settle(node, aliceToken, violations, SETTLE_WITHIN_MS);
      await checkStore(node, views, violations);
    }
    ({ lateness, revokedAfterBoundMs } = judgeTarget(views, watches, state, setup, violations));
    if (state.storeGone) await node.stop(15_000).then((took) => took === undefined && violations.push('shutdown: still running 15 s after SIGTERM (killed)'));
    else await finish(node, violations);
  } catch (error) {
    violations.push(`run failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500));
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  }
  return { scenario, label, violations, notes, lateness, revokedAfterBoundMs, durationMs: Date.now() - started };
}

type RunState = { expiresAt: number; comeback: number; storeGone: boolean };

/** I1 on the target for the main grant (and the probe grant, if a fault let one through). */
function judgeTarget(views: readonly any[], watches: readonly TargetWatch[], state: RunState, setup: RunSetup, violations: string[]): Pick<RunResult, 'lateness' | 'revokedAfterBoundMs'> {
  const boundStart = Math.max(state.expiresAt, state.comeback);
  let lateness: Lateness | undefined;
  let revokedAfterBoundMs: number | undefined;
  if (state.expiresAt > 0) {
    const bound = checkBound(watches[0]!.lastUsableAt(), state.expiresAt, boundStart, 'pg-breakglass');
    violations.push(...bound.violations);
    lateness = bound.lateness;
  }
  const main = views.find((v) => v.account === 'pg-breakglass');
  if (main?.revokedAt !== undefined) revokedAfterBoundMs = new Date(main.revokedAt).getTime() - boundStart;
  if (setup.revocationWithinBound && revokedAfterBoundMs !== undefined && revokedAfterBoundMs > BOUND_MS) {
    violations.push(`I1: revocation recorded ${revokedAfterBoundMs} ms after the target came back (bound ${BOUND_MS} ms)`);
  }
  const probe = views.find((v) => v.account === 'pg-probe');
  if (probe !== undefined) {
    const expiry = new Date(probe.expiresAt).getTime();
    violations.push(...checkBound(watches[1]!.lastUsableAt(), expiry, Math.max(expiry, state.comeback), 'pg-probe').violations);
  }
  return { lateness, revokedAfterBoundMs };
}

interface ContextParts {
  rng: ChaosRng;
  node: ChaosNode;
  proxy: NetProxy;
  cluster: PgCluster;
  aliceToken: string;
  role: string;
  watch: TargetWatch;
  state: RunState;
  violations: string[];
  notes: string[];
  cleanup: Cleanup;
}

function runContext(p: ContextParts): RunContext {
  const use = async (grant: any, sessions: number) => {
    p.state.expiresAt = new Date(grant.expiresAt).getTime();
    if (grant.state !== 'active') return void p.notes.push(`grant ${grant.state} after invoke`);
    const revealed = await p.node.call(p.aliceToken, 'POST', `/v1/grants/${grant.id}/reveal`);
    if (typeof revealed.body?.password !== 'string') return void p.notes.push(`reveal: ${revealed.status}`);
    p.watch.knowPassword(revealed.body.password);
    const opened = await openSessions(p.cluster, p.role, revealed.body.password, sessions, p.cleanup);
    if (opened < sessions) p.notes.push(`${opened} of ${sessions} sessions opened`);
  };
  const ctx: RunContext = {
    rng: p.rng,
    node: p.node,
    proxy: p.proxy,
    cluster: p.cluster,
    aliceToken: p.aliceToken,
    get expiresAt() {
      return p.state.expiresAt;
    },
    invoke: (account = 'pg-breakglass') =>
      p.node.call(p.aliceToken, 'POST', '/v1/grants', { account, condition: 'outage', reason: 'chaos', incident: 'INC-8', ttl: `${TTL_MS / 1000}s` }, 60_000),
    async openGrant(sessions = 2) {
      const answer = await ctx.invoke();
      if (answer.status !== 201) throw new Error(`invoke: ${answer.status} ${JSON.stringify(answer.body)}`);
      await use(answer.body, sessions);
    },
    async adoptGrant() {
      const list = await p.node.call(p.aliceToken, 'GET', '/v1/grants');
      const grant = (list.body.grants as any[]).find((g) => g.account === 'pg-breakglass');
      if (grant === undefined) return void p.notes.push('the kill came before the invoke was stored');
      await use(grant, 2);
    },
    async killAndRestart() {
      await p.node.kill9();
      await p.node.restart();
      ctx.comeback(p.node.readyAt);
    },
    comeback(at = Date.now()) {
      p.state.comeback = Math.max(p.state.comeback, at);
    },
    storeGone() {
      p.state.storeGone = true;
    },
    violation: (text) => void p.violations.push(text),
    note: (text) => void p.notes.push(text),
  };
  return ctx;
}
