/**
 * Bench 7: authenticated reads per second. `autocannon` drives `GET /v1/grants/{id}` (bearer
 * token, the grant read from a populated store) on the real server, and the same number of
 * connections against a bare Fastify route in the server's process (bench/server-child.ts)
 * that answers the very same JSON body with no authentication and no store. Rounds alternate (bare, product, bare,
 * product, …), so a noisy neighbour slows both alike; the rate is requests / seconds summed
 * over the rounds. Only 2xx answers count: an error or a 429 is reported, never hidden.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { initDataDir } from '../src/app/init.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { apiClient } from './lib/api-client.js';
import { startServerProcess } from './lib/server-process.js';
import { serveNodeOptions } from './lib/memory.js';
import type { Figure } from './lib/report.js';
import { summarize } from './lib/stats.js';

export interface ThroughputOptions {
  readonly url: string;
  /** The bare route's base URL: `PUT /body` sets the JSON it answers, `GET /bare/:id` answers it. */
  readonly bareUrl: string;
  readonly token: string;
  readonly grantId: string;
  readonly connections: number;
  /** Seconds per round. */
  readonly roundSeconds: number;
  /** Rounds of each (product and bare, alternating). */
  readonly rounds: number;
  readonly progress: (message: string) => void;
  /** The server's process id, when it is a child: its CPU time per answer is reported too. */
  readonly serverPid?: number;
}

interface Round {
  readonly ok: number;
  readonly seconds: number;
  readonly bad: number;
  readonly latencyP99: number;
  /** CPU time of the server process over the round (ms), when known. */
  readonly cpuMs?: number;
}

/** User + system CPU time of a process so far (ms), from /proc (Linux); undefined elsewhere. */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces): state is the 3rd; utime and stime the 14th and 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

async function cannon(url: string, headers: Record<string, string>, options: ThroughputOptions): Promise<Round> {
  // The server closes a keep-alive socket after 1,000 requests (limits.ts maxRequestsPerSocket)
  // and answers 503 to what a client still sends on it; autocannon does not reconnect by itself,
  // so every connection reconnects after 900 requests, as a client honouring `Connection: close`
  // would. The bare route gets the same, so both sides pay the same reconnects.
  const cpuBefore = cpuMsOf(options.serverPid);
  const result = await autocannon({ url, headers, connections: options.connections, duration: options.roundSeconds, pipelining: 1, reconnectRate: 900 });
  const cpuAfter = cpuMsOf(options.serverPid);
  const ok = result['2xx'];
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? {} : { cpuMs: cpuAfter - cpuBefore };
  return { ok, seconds: result.duration, bad: result.non2xx + result.errors + result.timeouts, latencyP99: result.latency.p99, ...cpu };
}

/** Runs bench 7; see the module comment. */
export async function httpThroughputBench(options: ThroughputOptions): Promise<Figure[]> {
  const path = `/v1/grants/${options.grantId}`;
  const auth = { authorization: `Bearer ${options.token}` };
  const sample = await fetch(`${options.url}${path}`, { headers: auth });
  if (sample.status !== 200) throw new Error(`GET ${path}: expected 200, got ${sample.status}`);
  const body = await sample.text();
  const put = await fetch(`${options.bareUrl}/body`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
  if (put.status !== 200) throw new Error(`PUT /body on the bare server: ${put.status}`);
  const bareUrl = options.bareUrl;
  {
    // One short untimed round each first: JIT, keep-alive sockets, caches.
    await cannon(`${bareUrl}/bare/${options.grantId}`, {}, { ...options, roundSeconds: 1 });
    await cannon(`${options.url}${path}`, auth, { ...options, roundSeconds: 1 });
    const product: Round[] = [];
    const baseline: Round[] = [];
    for (let round = 0; round < options.rounds; round++) {
      baseline.push(await cannon(`${bareUrl}/bare/${options.grantId}`, {}, options));
      product.push(await cannon(`${options.url}${path}`, auth, options));
      options.progress(`http: round ${round + 1}/${options.rounds}: ${rate(product.at(-1)!).toFixed(0)} vs bare ${rate(baseline.at(-1)!).toFixed(0)} req/s${cpuNote(product.at(-1)!, baseline.at(-1)!)}`);
    }
    const section = '7 http reads';
    const figure = (id: string, label: string, role: Figure['role'], rounds: Round[], base?: string): Figure => ({
      id,
      section,
      role,
      label,
      latency: summarize(rounds.map((r) => r.latencyP99)),
      ratePerS: total(rounds, 'ok') / total(rounds, 'seconds'),
      ...(base === undefined ? {} : { baseline: base }),
      extra: {
        non2xxOrErrors: total(rounds, 'bad'),
        connections: options.connections,
        roundSeconds: options.roundSeconds,
        rounds: rounds.length,
        latencyIs: 'p99 per round (ms)',
        // Less noisy than the rate on a shared machine: the server's own CPU per answer.
        ...(rounds.every((r) => r.cpuMs !== undefined) ? { serverCpuUsPerRequest: cpuPerRequestUs(rounds) } : {}),
      },
    });
    return [
      figure('http.grant-read.throughput', `GET /v1/grants/{id}, bearer token (autocannon, ${options.connections} conns)`, 'product', product, 'http.bare-route.throughput'),
      figure('http.bare-route.throughput', 'bare Fastify route, same JSON body, same process', 'baseline', baseline),
    ];
  }
}

const rate = (round: Round) => round.ok / round.seconds;
const cpuPerRequestUs = (rounds: readonly Round[]) => (rounds.reduce((sum, r) => sum + (r.cpuMs ?? 0), 0) * 1000) / Math.max(1, total(rounds, 'ok'));
const cpuNote = (product: Round, bare: Round) =>
  product.cpuMs === undefined || bare.cpuMs === undefined ? '' : ` (server CPU ${cpuPerRequestUs([product]).toFixed(0)} vs ${cpuPerRequestUs([bare]).toFixed(0)} µs per answer)`;
const total = (rounds: readonly Round[], key: 'ok' | 'seconds' | 'bad') => rounds.reduce((sum, r) => sum + r[key], 0);

/** `--only http`: bench 7 alone, on a server child with a few grants (no bursts, no seeded chain). */
export interface HttpReadBenchOptions extends Pick<ThroughputOptions, 'connections' | 'roundSeconds' | 'rounds' | 'progress'> {
  /** Active grants made through the API before the reads (the first is the one read). */
  readonly grants: number;
}

/**
 * Runs bench 7 on a server of its own: a private redis-server as the target, a data directory
 * made by `initDataDir`, the server as a child process (bench/server-child.ts), `grants` active
 * grants made through the API; then the autocannon comparison of `httpThroughputBench`.
 */
export async function httpReadBench(options: HttpReadBenchOptions): Promise<Figure[]> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const redis = await startRedisServer();
    cleanups.push(() => redis.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'bg-bench-http-'));
    cleanups.push(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
    const { adminToken } = await initDataDir({ dataDir });
    options.progress('http: starting the server as a child process');
    const server = await startServerProcess(dataDir, serveNodeOptions); // as bench 8's server, and as the README runs serve
    cleanups.push(() => server.stop());
    const api = apiClient(server.url);
    const catalog = {
      targets: [{ name: 'cache', type: 'redis', host: redis.host, port: redis.port }],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '4h' }],
      accounts: Array.from({ length: options.grants }, (_, i) => ({ name: `http-${i}`, target: 'cache', mode: 'ephemeral', rules: '~bench:* +get', policy: 'p0' })),
      users: [{ name: 'alice', roles: ['responder'] }],
    };
    await api.expect(200, adminToken, 'POST', '/v1/apply', catalog);
    const { code } = (await api.expect<{ code: string }>(201, adminToken, 'POST', '/v1/users/alice/invite', {})).body;
    const token = (await api.expect<{ token: string }>(201, undefined, 'POST', '/v1/tokens/redeem', { code })).body.token;
    const grantIds: string[] = [];
    for (let i = 0; i < options.grants; i++) {
      const body = { account: `http-${i}`, condition: 'outage', reason: 'bench: region down', incident: `INC-${i}`, ttl: '4h' };
      grantIds.push((await api.expect<{ id: string }>(201, token, 'POST', '/v1/grants', body)).body.id);
    }
    options.progress(`http: ${grantIds.length} active grants; authenticated reads vs the bare route (autocannon)`);
    return await httpThroughputBench({ ...options, url: server.url, bareUrl: server.bareUrl, token, grantId: grantIds[0]!, serverPid: server.pid });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}
