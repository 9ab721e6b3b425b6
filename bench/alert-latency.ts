/**
 * Bench 5: activation → webhook receiver. A real server in-process (SQLite store, logger off),
 * a private PostgreSQL cluster as the target (ephemeral roles: one per activation), and a
 * node:http receiver on loopback. Each sample is the time from the activation committed (the
 * invoke answer) to the signed POST arriving at the receiver. The baseline is the same POST
 * sent straight to the receiver, sampled in the same iterations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir } from '../src/app/init.js';
import { startServer } from '../src/app/server.js';
import { startPgCluster } from '../test/support/pg-cluster.js';
import { apiClient } from './lib/api-client.js';
import type { Figure } from './lib/report.js';
import { sleep, summarize, type Deadline } from './lib/stats.js';

export interface AlertBenchOptions {
  readonly activations: number;
  readonly warmup: number;
  readonly deadline: Deadline;
  readonly progress: (message: string) => void;
}

/** A receiver that notes when each alert (by grant) arrived. */
async function receiver() {
  const arrivals = new Map<string, number>();
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const at = performance.now();
      const grant = (JSON.parse(body) as { grant?: string }).grant;
      if (grant !== undefined) arrivals.set(grant, at);
      response.writeHead(200).end();
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return { arrivals, url: `http://127.0.0.1:${port}/hook`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export async function alertLatencyBench(options: AlertBenchOptions): Promise<{ figures: Figure[] }> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    options.progress('alerts: starting a target cluster and a webhook receiver');
    const cluster = await startPgCluster();
    cleanups.push(() => cluster.stop());
    const hook = await receiver();
    cleanups.push(() => hook.close());
    const dataDir = mkdtempSync(join(tmpdir(), 'bg-bench-alerts-'));
    cleanups.push(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
    const { adminToken } = await initDataDir({ dataDir });
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
    cleanups.push(() => server.close());
    const api = apiClient(server.url);
    await api.expect(200, adminToken, 'POST', '/v1/apply', {
      targets: [{ name: 'bench-pg', type: 'postgres', host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser, password: cluster.adminPassword }],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [{ name: 'bench-jit', target: 'bench-pg', mode: 'ephemeral', policy: 'p0' }],
      users: [{ name: 'alice', roles: ['responder'] }],
      channels: [{ name: 'bench-hook', type: 'webhook', url: hook.url, secret: 'bench-webhook-secret' }],
      routes: [{ events: ['grant.activated'], channels: ['bench-hook'] }],
    });
    const { code } = (await api.expect<{ code: string }>(201, adminToken, 'POST', '/v1/users/alice/invite', {})).body;
    const token = (await api.expect<{ token: string }>(201, undefined, 'POST', '/v1/tokens/redeem', { code })).body.token;

    const alertMs: number[] = [];
    const directMs: number[] = [];
    const total = options.warmup + options.activations;
    options.progress(`alerts: ${total} activations`);
    for (let i = 0; i < total && !options.deadline.expired(); i++) {
      const invoke = { account: 'bench-jit', condition: 'outage', reason: 'bench: primary down', incident: 'INC-1', ttl: '15m' };
      const granted = await api.expect<{ id: string }>(201, token, 'POST', '/v1/grants', invoke);
      const committed = performance.now();
      for (;;) {
        const arrived = hook.arrivals.get(granted.body.id);
        if (arrived !== undefined) {
          if (i >= options.warmup) alertMs.push(Math.max(0, arrived - committed));
          break;
        }
        if (performance.now() - committed > 30_000) throw new Error(`no alert for ${granted.body.id} within 30 s`);
        await sleep(2);
      }
      const direct = performance.now();
      await fetch(hook.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: 'baseline' }) });
      if (i >= options.warmup) directMs.push(performance.now() - direct);
    }
    const section = 'alerts';
    return {
      figures: [
        { id: 'alerts.activation-to-webhook', section, role: 'product', label: `activation committed → webhook received (n=${alertMs.length}; goal p99 ≤ 1 s)`, latency: summarize(alertMs), baseline: 'alerts.direct-post' },
        { id: 'alerts.direct-post', section, role: 'baseline', label: 'the same POST straight to the receiver', latency: summarize(directMs) },
      ],
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}
