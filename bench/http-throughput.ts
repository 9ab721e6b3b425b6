/**
 * Bench 7: authenticated reads per second. `autocannon` drives `GET /v1/grants/{id}` (bearer
 * token, the grant read from a populated store) on the real server, and the same number of
 * connections against a bare Fastify route in the server's process (bench/server-child.ts)
 * that answers the very same JSON body with no authentication and no store. Rounds alternate (bare, product, bare,
 * product, …), so a noisy neighbour slows both alike; the rate is requests / seconds summed
 * over the rounds. Only 2xx answers count: an error or a 429 is reported, never hidden.
 */
import autocannon from 'autocannon';
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
}

interface Round {
  readonly ok: number;
  readonly seconds: number;
  readonly bad: number;
  readonly latencyP99: number;
}

async function cannon(url: string, headers: Record<string, string>, options: ThroughputOptions): Promise<Round> {
  // The server closes a keep-alive socket after 1,000 requests (limits.ts maxRequestsPerSocket)
  // and answers 503 to what a client still sends on it; autocannon does not reconnect by itself,
  // so every connection reconnects after 900 requests, as a client honouring `Connection: close`
  // would. The bare route gets the same, so both sides pay the same reconnects.
  const result = await autocannon({ url, headers, connections: options.connections, duration: options.roundSeconds, pipelining: 1, reconnectRate: 900 });
  const ok = result['2xx'];
  return { ok, seconds: result.duration, bad: result.non2xx + result.errors + result.timeouts, latencyP99: result.latency.p99 };
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
      options.progress(`http: round ${round + 1}/${options.rounds}: ${rate(product.at(-1)!).toFixed(0)} vs bare ${rate(baseline.at(-1)!).toFixed(0)} req/s`);
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
      extra: { non2xxOrErrors: total(rounds, 'bad'), connections: options.connections, roundSeconds: options.roundSeconds, rounds: rounds.length, latencyIs: 'p99 per round (ms)' },
    });
    return [
      figure('http.grant-read.throughput', `GET /v1/grants/{id}, bearer token (autocannon, ${options.connections} conns)`, 'product', product, 'http.bare-route.throughput'),
      figure('http.bare-route.throughput', 'bare Fastify route, same JSON body, same process', 'baseline', baseline),
    ];
  }
}

const rate = (round: Round) => round.ok / round.seconds;
const total = (rounds: readonly Round[], key: 'ok' | 'seconds' | 'bad') => rounds.reduce((sum, r) => sum + r[key], 0);
