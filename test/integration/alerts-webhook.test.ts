/**
 * Nobody misses a break-glass use (issue 9), end to end: a catalog applied from a file with
 * `channels:` and `routes:` (the contract), a real HTTP receiver, the built server as a
 * process. The signature is checked here with node:crypto, independently of src/notify. The
 * server is killed (kill -9) after an activation committed and while its alert was on its way:
 * after the restart the alert arrives again under the same event id — at least once, one id.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { catalogFor, enrol, eventually } from '../support/harness.js';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());

const HOOK_SECRET = 'whsec-3f1b9a7c5e2d4f60a8b7c6d5e4f3a2b1';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: Record<string, unknown>;
}

/** A receiver as a customer would write one: on /hook, `ok` answers 200, `hang` never answers, `fail` answers 500. */
function receiver() {
  const got: Received[] = [];
  const hanging: ServerResponse[] = [];
  let mode: 'ok' | 'hang' | 'fail' = 'ok';
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      got.push({ path: request.url ?? '', headers: request.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      // `hang` and `fail` are about /hook; any other path (the backup channel) answers 200.
      if (request.url !== '/hook' || mode === 'ok') response.writeHead(200).end();
      else if (mode === 'hang') hanging.push(response);
      else response.writeHead(500).end();
    });
  });
  return {
    got,
    setMode: (next: typeof mode) => (mode = next),
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))),
    close: () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The receiver's side of the signature (README "Alerts"), written without src/notify. */
function verifySignature(received: Received, secret: string, now = Date.now()): boolean {
  const timestamp = String(received.headers['breakglass-timestamp']);
  const given = String(received.headers['breakglass-signature']);
  if (Math.abs(now / 1000 - Number(timestamp)) > 300) return false; // the 5-minute replay window
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${received.body}`).digest('hex')}`;
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

describe.skipIf(binaries.skip)('alerts over a webhook', () => {
  let cluster: PgCluster;
  let hook: ReturnType<typeof receiver>;
  let server: ServeProcess | undefined;
  let dataDir: string;
  let port: number;
  let env: Record<string, string>;
  let catalogPath: string;
  let hookUrl: string;
  beforeAll(async () => {
    cluster = await startPgCluster();
    hook = receiver();
    const hookPort = await hook.listen();
    hookUrl = `http://127.0.0.1:${hookPort}`;
    dataDir = mkdtempSync(join(tmpdir(), 'bg-alerts-'));
    const init = runCliProcess(['init', '--data-dir', dataDir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    port = await freePort();
    env = {
      BREAKGLASS_ADDR: `http://127.0.0.1:${port}`,
      BREAKGLASS_TOKEN: (JSON.parse(init.stdout) as { adminToken: string }).adminToken,
      PG_ADMIN_PASSWORD: cluster.adminPassword,
      HOOK_SECRET,
    };
    server = await serveProcess(dataDir, port, { BREAKGLASS_PUBLIC_URL: 'https://breakglass.example.org' });
    // The contract's file: the usual sections plus channels and routes, secrets named by variable.
    const { targets, ...rest } = catalogFor(cluster, { role: 'bg_alerted' });
    const target: Record<string, unknown> = { ...targets[0]!, passwordEnv: 'PG_ADMIN_PASSWORD' };
    delete target['password'];
    const file = {
      targets: [target],
      ...rest,
      channels: [{ name: 'secops-hook', type: 'webhook', url: `http://127.0.0.1:${hookPort}/hook`, secretEnv: 'HOOK_SECRET' }],
      routes: [{ events: ['grant.activated', 'grant.revoked', 'grant.revocation-overdue'], channels: ['secops-hook'] }],
    };
    catalogPath = join(dataDir, 'catalog.yaml');
    writeFileSync(catalogPath, JSON.stringify(file, null, 2)); // JSON is YAML
    const applied = runCliProcess(['apply', '-f', catalogPath, '--json'], env);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
    await hook?.close();
    await cluster?.stop();
  });

  const invoke = async (token: string, incident: string, ttl = '15m', account = 'pg-breakglass') => {
    const response = await fetch(`${server!.url}/v1/grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ account, condition: 'outage', reason: 'primary database down', incident, ttl }),
    });
    return (await response.json()) as { id: string; state: string; expiresAt: string };
  };

  it('contract: one signed POST per routed event, with who, what and why, and no secret', async () => {
    const alice = await enrol(server!.url, env['BREAKGLASS_TOKEN']!, 'alice');
    const grant = await invoke(alice, 'INC-101', '5s');
    expect(grant.state).toBe('active');
    const activated = await eventually(async () => hook.got.find((r) => r.json['event'] === 'grant.activated' && r.json['grant'] === grant.id), 60_000, 'the activation alert');
    expect(activated.headers['content-type']).toContain('application/json');
    expect(activated.headers['breakglass-event-id']).toBe(activated.json['id']);
    expect(verifySignature(activated, HOOK_SECRET)).toBe(true);
    expect(verifySignature(activated, 'another-secret')).toBe(false);
    expect(activated.json).toMatchObject({
      event: 'grant.activated',
      severity: 'critical',
      account: 'pg-breakglass',
      target: 'prod-pg',
      requester: 'alice',
      condition: 'outage',
      incident: 'INC-101',
      reason: 'primary database down',
      grant: grant.id,
      expiresAt: grant.expiresAt,
      link: `https://breakglass.example.org/v1/grants/${grant.id}`,
    });
    expect(typeof activated.json['at']).toBe('string');
    // The revocation is routed too; the requested event is not.
    await eventually(async () => hook.got.some((r) => r.json['event'] === 'grant.revoked' && r.json['grant'] === grant.id), 60_000, 'the revocation alert');
    expect(hook.got.some((r) => r.json['event'] === 'grant.requested')).toBe(false);
    for (const received of hook.got) expect(received.body).not.toContain(HOOK_SECRET);
    expect(server!.output()).not.toContain(HOOK_SECRET);
  });

  it('kill -9 after the activation committed and before delivery: after restart the alert arrives, one distinct event id', async () => {
    const alice = await enrol(server!.url, env['BREAKGLASS_TOKEN']!, 'alice');
    hook.setMode('hang'); // the receiver takes the request and never answers: not delivered
    const grant = await invoke(alice, 'INC-202');
    expect(grant.state).toBe('active');
    await eventually(async () => hook.got.some((r) => r.json['grant'] === grant.id) || undefined, 60_000, 'the first attempt');
    await server!.kill9();
    hook.setMode('ok');
    server = await serveProcess(dataDir, port, { BREAKGLASS_PUBLIC_URL: 'https://breakglass.example.org' });
    // Delivered once it is answered: the same event, under the same id, maybe more than once.
    const delivered = await eventually(async () => {
      const attempts = hook.got.filter((r) => r.json['event'] === 'grant.activated' && r.json['grant'] === grant.id);
      return attempts.length >= 2 ? attempts : undefined;
    }, 60_000, 'the redelivery after restart');
    expect(new Set(delivered.map((r) => r.json['id'])).size).toBe(1);
    expect(new Set(delivered.map((r) => r.headers['breakglass-event-id'])).size).toBe(1);
    const listed = await eventually(async () => {
      const response = await fetch(`${server!.url}/v1/alerts`, { headers: { authorization: `Bearer ${env['BREAKGLASS_TOKEN']}` } });
      if (!response.ok) return undefined;
      const body = (await response.json()) as { alerts: { event: string; state: string; grant?: string }[] };
      return body.alerts.find((a) => a.event === 'grant.activated' && a.state === 'sent') ? body : undefined;
    }, 60_000, 'the alert listed as sent');
    expect(listed.alerts.every((a) => a.state !== 'dead')).toBe(true);
  });

  it('dead: a receiver that answers 500 for ever ends in dead, the dead letter reaches the other channel, /readyz is degraded until a retry gets through', async () => {
    const alice = await enrol(server!.url, env['BREAKGLASS_TOKEN']!, 'alice');
    const file = JSON.parse(readFileSync(catalogPath, 'utf8')) as { channels: Record<string, unknown>[]; accounts: Record<string, unknown>[] };
    // The pre-staged account is still held by the grant above: this case uses an ephemeral one.
    file.accounts.push({ name: 'pg-jit', target: 'prod-pg', mode: 'ephemeral', policy: 'p0' });
    file.channels = [
      { name: 'secops-hook', type: 'webhook', url: `${hookUrl}/hook`, secretEnv: 'HOOK_SECRET', maxAttempts: 2 },
      { name: 'backup-hook', type: 'webhook', url: `${hookUrl}/backup`, secretEnv: 'HOOK_SECRET' },
    ];
    writeFileSync(catalogPath, JSON.stringify(file, null, 2));
    expect(runCliProcess(['apply', '-f', catalogPath, '--json'], env).code).toBe(0);
    hook.setMode('fail');
    const grant = await invoke(alice, 'INC-303', '15m', 'pg-jit');
    expect(grant.state, JSON.stringify(grant)).toBe('active');
    // Two refused attempts (1 s apart), then dead: the other channel is told.
    const deadLetter = await eventually(async () => hook.got.find((r) => r.path === '/backup' && r.json['event'] === 'alert.dead' && (r.json['details'] as Record<string, unknown>)['grant'] === grant.id), 60_000, 'the dead letter on the other channel');
    expect((deadLetter.json['details'] as Record<string, unknown>)['channel']).toBe('secops-hook');
    const degraded = (await (await fetch(`${server!.url}/readyz`)).json()) as { status: string; deadAlerts?: number };
    expect(degraded.status).toBe('degraded');
    expect(degraded.deadAlerts).toBeGreaterThanOrEqual(1);

    // The contract of `breakglass alerts --json`, from the CLI.
    const listed = runCliProcess(['alerts', '--state', 'dead', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const { alerts } = JSON.parse(listed.stdout) as { alerts: { id: string; event: string; channel: string; state: string; attempts: number }[] };
    const dead = alerts.find((a) => a.event === 'grant.activated' && a.channel === 'secops-hook')!;
    expect(dead).toMatchObject({ state: 'dead', attempts: 2 });
    expect(Object.keys(dead)).toEqual(expect.arrayContaining(['id', 'event', 'channel', 'state', 'attempts']));

    hook.setMode('ok');
    expect(runCliProcess(['alerts', 'retry', dead.id], env).code).toBe(0);
    await eventually(async () => hook.got.some((r) => r.path === '/hook' && r.json['event'] === 'grant.activated' && r.json['grant'] === grant.id && hook.got.indexOf(r) > hook.got.indexOf(deadLetter)) || undefined, 60_000, 'the retried alert');
    await eventually(async () => ((await (await fetch(`${server!.url}/readyz`)).json()) as { status: string }).status === 'ready' || undefined, 60_000, '/readyz ready again');
  });
});
