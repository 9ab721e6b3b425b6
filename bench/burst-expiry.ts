/**
 * Bench 6: revocation lag when many grants expire in the same second. A real server as a child
 * process (bench/server-child.ts: SQLite store, logger off, no fake clock, its audit chain
 * seeded first with `auditEvents` events, lib/seed-audit.ts) against a private redis-server; every
 * grant is a real ephemeral ACL user made at invoke. N grants get TTLs chosen so that their
 * expiry instants fall in one second; the lag of each is observed ON THE TARGET: from the
 * grant's own `expiresAt` (as the server answered it) to the first poll of `ACL USERS` that
 * no longer lists its user (ACL DELUSER is what revocation does on Redis). The other active
 * grants are seeded through the same API (long TTL, real ACL users), so the store, the jobs
 * table and the target hold exactly what a busy server holds. The baseline is the bare
 * `ACL DELUSER` on a warm connection, sampled on the same server.
 *
 * The same loaded server then serves bench 7 (authenticated reads, http-throughput.ts), and
 * its peak RSS over the whole life (bench 8) is read from /proc at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { initDataDir } from '../src/app/init.js';
import { startRedisServer, type RedisServer } from '../test/support/redis-server.js';
import { httpThroughputBench, type ThroughputOptions } from './http-throughput.js';
import { apiClient, type ApiClient } from './lib/api-client.js';
import { burstId } from './lib/metrics.js';
import { seedAuditChain } from './lib/seed-audit.js';
import { seedActiveGrants } from './lib/seed-grants.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';
import type { Figure } from './lib/report.js';
import { sleep, summarize, type Deadline, type Summary } from './lib/stats.js';

export interface BurstSpec {
  /** Grants made to expire in the same second. */
  readonly n: number;
  /** Other active grants (long TTL) present while they expire. */
  readonly background: number;
  /**
   * The scale experiment (issue 13: lag flat from 10,000 to 100,000 active): the other grants
   * beyond those already made are inserted into the store directly (lib/seed-grants.ts), and the
   * burst runs after the reads and the RSS reading, so bench 8 stays at its stated size.
   */
  readonly seedInStore?: boolean;
}

export interface BurstBenchOptions {
  readonly bursts: readonly BurstSpec[];
  /** Invokes in flight at once while seeding and arming a burst. */
  readonly concurrency: number;
  /** Ephemeral accounts the invokes are spread over (invokes of one account take its lock in turn). */
  readonly accounts: number;
  /**
   * Time kept for arming, watching and the reads: seeding the other active grants stops when
   * less than this is left of the budget, and the figure names how many there were.
   */
  readonly reserveMs: number;
  /** How often the target is polled; the lag's resolution. */
  readonly pollMs: number;
  /** Longest wait for the last revocation of a burst after its expiry second. */
  readonly settleTimeoutMs: number;
  /** Audit events written to the chain before the measured server starts. */
  readonly auditEvents: number;
  /**
   * issue 13 (rss): the server child's `NODE_OPTIONS`, the V8 heap settings the README gives for
   * `breakglass serve`; undefined runs it with the bench's own environment (Node's defaults).
   */
  readonly serverNodeOptions?: string | undefined;
  /** Bench 7 on the loaded server after the bursts; undefined skips it. */
  readonly throughput?: Pick<ThroughputOptions, 'connections' | 'roundSeconds' | 'rounds'>;
  readonly deadline: Deadline;
  readonly progress: (message: string) => void;
}

export interface BurstResult {
  readonly spec: BurstSpec;
  /** Lag per grant, expiresAt → target no longer lists the user (ms), for the grants confirmed. */
  readonly lag: Summary;
  readonly confirmed: number;
  /** Users gone from the target before their grant's expiresAt (must be 0). */
  readonly revokedEarly: number;
  /** Latest minus earliest expiresAt of the burst: how close "the same second" was. */
  readonly expirySpreadMs: number;
  /** Grants that were active besides the burst when it expired. */
  readonly backgroundActive: number;
  /** Why the burst was not measured (or measured short), if it was. */
  readonly note?: string;
}

export interface BurstBenchResult {
  readonly bursts: readonly BurstResult[];
  readonly figures: Figure[];
  /** What could not be measured, and why. */
  readonly problems: Record<string, string>;
}


const accountName = (i: number) => `burst-${String(i).padStart(2, '0')}`;
const accountNames = (count: number) => Array.from({ length: count }, (_, i) => accountName(i));

function catalog(redis: RedisServer, accounts: number) {
  return {
    targets: [{ name: 'cache', type: 'redis', host: redis.host, port: redis.port }],
    policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '4h' }],
    accounts: Array.from({ length: accounts }, (_, i) => ({ name: accountName(i), target: 'cache', mode: 'ephemeral', rules: '~bench:* +get', policy: 'p0' })),
    users: [{ name: 'alice', roles: ['responder'] }],
  };
}

/** Runs `count` invokes, `concurrency` at a time; `ttlFor` is asked just before each is sent. */
async function invokeMany(
  api: ApiClient,
  token: string,
  options: Pick<BurstBenchOptions, 'concurrency' | 'accounts'>,
  count: number,
  ttlFor: () => string,
  onMade: (grant: { id: string; expiresAt: string }) => void = () => undefined,
  stop: () => boolean = () => false,
): Promise<{ id: string; expiresAt: string }[]> {
  const made: { id: string; expiresAt: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count && !stop()) {
      const i = next++;
      const body = { account: accountName(i % options.accounts), condition: 'outage', reason: 'bench: region down', incident: `INC-${i}`, ttl: ttlFor() };
      const granted = await api.expect<{ id: string; state: string; expiresAt: string }>(201, token, 'POST', '/v1/grants', body);
      if (granted.body.state !== 'active') throw new Error(`grant ${granted.body.id} is ${granted.body.state}, expected active`);
      made.push(granted.body);
      onMade(granted.body);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return made;
}

async function aclUsers(redis: Redis): Promise<Set<string>> {
  return new Set((await redis.call('ACL', 'USERS')) as string[]);
}

/** The bare target work of one revocation: ACL DELUSER on a warm connection (SETUSER untimed). */
async function deluserBaseline(redis: Redis, samples: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    await redis.call('ACL', 'SETUSER', 'bg_bench_baseline', 'reset', 'on', '>bench-baseline-secret', '~bench:*', '+get');
    const start = performance.now();
    await redis.call('ACL', 'DELUSER', 'bg_bench_baseline');
    ms.push(performance.now() - start);
  }
  return ms;
}

/** The user the redis connector makes for a grant (ports/connector.ts `ephemeralPrincipal`). */
const userOf = (grantId: string) => `bg_${grantId.replace(/^gr_/, '').toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 32);

/**
 * Arms a burst and watches it on the target. Every grant's TTL (whole seconds, the API's unit)
 * is chosen so that it expires in the second starting at `expiryAt`, set far enough ahead for
 * all invokes to land first (from the invoke rate measured so far). The target is polled from
 * the first invoke on, so a user that goes early or while arming is still seen: gone before its
 * `expiresAt` counts as revoked early (a bug); gone after, its lag is the poll time minus
 * `expiresAt` (at most `pollMs` late, plus one ACL USERS round trip).
 */
async function armAndObserve(
  api: ApiClient,
  token: string,
  probe: Redis,
  options: BurstBenchOptions,
  n: number,
  perInvokeMs: number,
): Promise<{ lags: number[]; early: number; expiries: number[]; expiryAt: number; armedAt: number; pending: number }> {
  const expiryAt = Math.ceil((Date.now() + 5_000 + (n * perInvokeMs * 3) / options.concurrency) / 1000) * 1000;
  const ttlFor = () => `${Math.max(1, Math.ceil((expiryAt - Date.now()) / 1000))}s`;
  const pending = new Map<string, number>();
  const expiries: number[] = [];
  const lags: number[] = [];
  let early = 0;
  let arming = true;
  const watch = (async () => {
    while (arming || (pending.size > 0 && Date.now() < Math.max(...expiries) + options.settleTimeoutMs)) {
      const users = await aclUsers(probe);
      const now = Date.now();
      for (const [user, expiresAt] of pending) {
        if (users.has(user)) continue;
        pending.delete(user);
        if (now < expiresAt) early++;
        else lags.push(now - expiresAt);
      }
      await sleep(options.pollMs);
    }
  })();
  try {
    await invokeMany(api, token, options, n, ttlFor, (grant) => {
      const expiresAt = Date.parse(grant.expiresAt);
      expiries.push(expiresAt);
      pending.set(userOf(grant.id), expiresAt);
    });
  } finally {
    arming = false;
  }
  const armedAt = Date.now();
  await watch;
  // Never confirmed: counted at the give-up time (a lower bound of their lag), so p99 and max
  // cannot look better than they were by leaving the slowest out.
  const gaveUp = Date.now();
  for (const expiresAt of pending.values()) lags.push(gaveUp - expiresAt);
  return { lags, early, expiries, expiryAt, armedAt, pending: pending.size };
}

interface Fixture {
  readonly dataDir: string;
  readonly redis: RedisServer;
  readonly server: ServerProcess;
  readonly api: ApiClient;
  readonly token: string;
  readonly probe: Redis;
  /** RSS of the server right after it started on the seeded chain (MiB). */
  readonly startRssMb: number | undefined;
}

async function setUp(options: BurstBenchOptions, cleanups: (() => Promise<void>)[]): Promise<Fixture> {
  options.progress('burst: starting a private redis-server (the target)');
  const redis = await startRedisServer();
  cleanups.push(() => redis.stop());
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-bench-burst-'));
  cleanups.push(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
  const { adminToken } = await initDataDir({ dataDir });
  if (options.auditEvents > 0) {
    options.progress(`burst: seeding ${options.auditEvents.toLocaleString('en-US')} audit events into the chain (lib/seed-audit.ts)`);
    seedAuditChain(dataDir, options.auditEvents);
  }
  options.progress('burst: starting the server as a child process');
  const server = await startServerProcess(dataDir, options.serverNodeOptions);
  cleanups.push(() => server.stop());
  const startRssMb = server.rssMb();
  const api = apiClient(server.url);
  await api.expect(200, adminToken, 'POST', '/v1/apply', catalog(redis, options.accounts));
  const { code } = (await api.expect<{ code: string }>(201, adminToken, 'POST', '/v1/users/alice/invite', {})).body;
  const token = (await api.expect<{ token: string }>(201, undefined, 'POST', '/v1/tokens/redeem', { code })).body.token;
  const probe = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  probe.on('error', () => undefined);
  await probe.connect();
  cleanups.push(() => Promise.resolve(probe.disconnect()));
  return { dataDir, redis, server, api, token, probe, startRssMb };
}

/** Runs bench 6; see the module comment. Never throws for a burst that could not be measured. */
export async function burstExpiryBench(options: BurstBenchOptions): Promise<BurstBenchResult> {
  const cleanups: (() => Promise<void>)[] = [];
  const results: BurstResult[] = [];
  const figures: Figure[] = [];
  const problems: Record<string, string> = {};
  let deluser: number[] = [];
  let serverProcess: ServerProcess | undefined;
  let rss: { start: number | undefined; peak: number | undefined; active: number } | undefined;
  const ordered = options.bursts.filter((spec) => spec.seedInStore !== true);
  const scale = options.bursts.filter((spec) => spec.seedInStore === true);
  try {
    const fixture = await setUp(options, cleanups);
    const { api, token, probe, server, startRssMb } = fixture;
    serverProcess = server;
    const memory = (rss = { start: startRssMb, peak: undefined as number | undefined, active: 0 });
    deluser = await deluserBaseline(probe, 50);
    // A few invokes first (long TTL, they stay active): the rate that plans the first burst's expiry second.
    const warmup = options.concurrency * 5;
    const warmStart = performance.now();
    const warm = await invokeMany(api, token, options, warmup, () => '4h');
    let perInvokeMs = ((performance.now() - warmStart) * options.concurrency) / warmup;
    let active = warm.length;
    rss.active = active;
    let aLongGrant: string | undefined = warm[0]?.id;
    const runBurst = async (spec: BurstSpec): Promise<void> => {
      if (!spec.seedInStore) memory.active = active;
      if (options.deadline.expired()) {
        results.push(unmeasured(spec, 'time budget used up before this burst'));
        return;
      }
      if (spec.seedInStore && spec.background > active) {
        const count = spec.background - active;
        options.progress(`burst: inserting ${count} other active grants (TTL 4h) into the store directly (lib/seed-grants.ts)`);
        const start = performance.now();
        active += await seedActiveGrants(fixture.dataDir, count, accountNames(options.accounts), 'alice', 4 * 3_600_000);
        options.progress(`burst: ${active} active grants (inserted in ${((performance.now() - start) / 1000).toFixed(1)} s)`);
      }
      if (spec.background > active) {
        const count = spec.background - active;
        options.progress(`burst: seeding ${count} other active grants (TTL 4h) through the API`);
        const start = performance.now();
        const made = await invokeMany(api, token, options, count, () => '4h', undefined, () => options.deadline.remainingMs() < options.reserveMs);
        if (made.length < count) options.progress(`burst: time budget: seeded ${made.length} of ${count}`);
        if (made.length > 0) perInvokeMs = ((performance.now() - start) * options.concurrency) / made.length;
        aLongGrant ??= made[0]?.id;
        active += made.length;
        memory.active = active;
        options.progress(`burst: ${active} active grants (${perInvokeMs.toFixed(1)} ms per invoke at concurrency ${options.concurrency})`);
      }
      options.progress(`burst: arming ${spec.n} grants to expire in one second, ${active} other active`);
      const run = await armAndObserve(api, token, probe, options, spec.n, perInvokeMs);
      const notes = [
        run.armedAt > run.expiryAt ? `arming ended ${run.armedAt - run.expiryAt} ms after the expiry second began` : undefined,
        run.pending > 0 ? `${run.pending} never confirmed within ${options.settleTimeoutMs} ms (counted at that time: a lower bound)` : undefined,
        run.early > 0 ? `${run.early} revoked before their expiry` : undefined,
      ].filter((note) => note !== undefined);
      const result: BurstResult = {
        spec,
        lag: summarize(run.lags),
        confirmed: run.lags.length - run.pending + run.early,
        revokedEarly: run.early,
        expirySpreadMs: Math.max(...run.expiries) - Math.min(...run.expiries),
        backgroundActive: active,
        ...(notes.length === 0 ? {} : { note: notes.join('; ') }),
      };
      results.push(result);
      options.progress(`burst ${spec.n}/${spec.background}: p50 ${result.lag.p50.toFixed(0)} ms, p99 ${result.lag.p99.toFixed(0)} ms, max ${result.lag.max.toFixed(0)} ms, ${result.confirmed}/${spec.n} confirmed`);
    };
    for (const spec of ordered) await runBurst(spec);
    if (options.throughput !== undefined) {
      try {
        options.progress('http: authenticated reads vs the bare route (autocannon)');
        figures.push(...(await httpThroughputBench({ ...options.throughput, url: server.url, bareUrl: server.bareUrl, token, grantId: aLongGrant!, progress: options.progress })));
      } catch (error) {
        problems['http'] = error instanceof Error ? error.message : String(error);
      }
    }
    // Bench 8 is stated at the ordinary bursts' size: read before the scale experiment.
    if (scale.length > 0) memory.peak = server.peakRssMb();
    for (const spec of scale) await runBurst(spec);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    options.progress(`burst: stopped: ${why}`);
    problems['burst'] = why;
    for (const spec of [...ordered, ...scale].slice(results.length)) results.push(unmeasured(spec, why));
  } finally {
    if (rss !== undefined) rss.peak ??= serverProcess?.peakRssMb();
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
  if (rss?.peak !== undefined && rss.start !== undefined) figures.push(...rssFigures(rss.peak, rss.start, rss.active, options.auditEvents, options.serverNodeOptions));
  else problems['rss'] ??= 'the server process\'s peak RSS could not be read (/proc/<pid>/status)';
  return { bursts: results, figures: [...burstFigures(results, deluser), ...figures], problems };
}

/** Bench 8: peak RSS of the server process over its whole loaded life, beside its RSS at start. */
function rssFigures(peak: number, start: number, active: number, auditEvents: number, nodeOptions: string | undefined): Figure[] {
  const section = '8 server memory';
  const one = (value: number) => summarize([value]);
  // The V8 settings are part of what was measured: the same server peaks higher on Node's defaults.
  const settings = nodeOptions === undefined || nodeOptions === '' ? 'Node defaults' : nodeOptions;
  return [
    { id: 'server.peak-rss', section, role: 'product', label: `server peak RSS (${active} active grants, ${auditEvents} seeded audit events, bursts, reads; ${settings})`, latency: one(peak), memory: { peakRssMb: peak }, baseline: 'server.start-rss', extra: { unit: 'MiB in latency fields', activeGrants: active, auditEvents, nodeOptions: settings } },
    { id: 'server.start-rss', section, role: 'baseline', label: 'server RSS just after start on the same data', latency: one(start), memory: { peakRssMb: start } },
  ];
}

function unmeasured(spec: BurstSpec, note: string): BurstResult {
  return { spec, lag: summarize([]), confirmed: 0, revokedEarly: 0, expirySpreadMs: Number.NaN, backgroundActive: 0, note };
}


function burstFigures(results: readonly BurstResult[], deluser: number[]): Figure[] {
  const section = '6 burst expiry';
  return [
    ...results.map((r): Figure => ({
      id: burstId(r.spec),
      section,
      role: 'product',
      label: `${r.spec.n} expire in one second (${r.backgroundActive} other active): expiresAt → user gone on redis`,
      latency: r.lag,
      baseline: 'redis.deluser',
      extra: { confirmed: r.confirmed, revokedEarly: r.revokedEarly, expirySpreadMs: r.expirySpreadMs, ...(r.note === undefined ? {} : { note: r.note }) },
    })),
    { id: 'redis.deluser', section, role: 'baseline', label: 'ACL DELUSER (warm connection)', latency: summarize(deluser) },
  ];
}
