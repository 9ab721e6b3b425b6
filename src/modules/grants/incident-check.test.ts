/**
 * The incident check (issue 11, H4) against a real HTTP server on 127.0.0.1 (node:http):
 * 200 passes, 404 refuses naming incidentCheck, 500 / no answer / connection refused follow the
 * policy's onUnreachable. Time for the grants is the fake clock; only the timeout case waits
 * (for a timeout that must happen eventually, not within a window).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { checkIncident } from './incident-check.js';
import { invoke } from './invoke.js';

/** What the incident system answers, by the incident in the path; `INC-9xx` hangs until released. */
let server: Server;
let base: string;
const paths: string[] = [];
const hanging: ServerResponse[] = [];
let arrived: (() => void) | undefined;

function answer(request: IncomingMessage, response: ServerResponse): void {
  paths.push(request.url ?? '');
  const incident = decodeURIComponent((request.url ?? '').split('/').pop() ?? '');
  if (incident.startsWith('INC-9')) {
    hanging.push(response);
    arrived?.();
    return;
  }
  const status = incident === 'INC-404' ? 404 : incident === 'INC-500' ? 500 : incident === 'INC-302' ? 302 : 200;
  response.writeHead(status, status === 302 ? { location: 'https://elsewhere.example/incidents/INC-1' } : { 'content-type': 'application/json' });
  response.end(status === 404 ? '{"error":"secret internal detail"}' : '{}');
}

/** A port nobody listens on: a server bound, then closed. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/incidents/{incident}`;
});
afterAll(async () => {
  for (const response of hanging) response.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const refusalOf = async (work: Promise<unknown>) => work.then(() => undefined, (error: unknown) => error as { code: string; path?: string; message: string });

describe('checkIncident', () => {
  it('2xx passes; the reference is sent URL-encoded', async () => {
    expect(await checkIncident('p1', { url: base, onUnreachable: 'deny' }, 'INC-7')).toBe('passed');
    expect(paths.at(-1)).toBe('/incidents/INC-7');
  });
  it('404 refuses naming incidentCheck and the status, never the body', async () => {
    const refused = await refusalOf(checkIncident('p1', { url: base, onUnreachable: 'allow' }, 'INC-404'));
    expect(refused).toMatchObject({ code: 'policy_violation', path: 'incidentCheck' });
    expect(refused?.message).toContain('incident INC-404 not found in the incident system (404)');
    expect(refused?.message).not.toContain('secret internal detail');
  });
  it('a redirect is not followed (it could lead to another host) and refuses', async () => {
    const refused = await refusalOf(checkIncident('p1', { url: base, onUnreachable: 'allow' }, 'INC-302'));
    expect(refused).toMatchObject({ code: 'policy_violation', path: 'incidentCheck', message: expect.stringContaining('redirect (302)') });
  });
  it('5xx is unreachable: deny refuses saying so, allow lets through', async () => {
    const refused = await refusalOf(checkIncident('p1', { url: base, onUnreachable: 'deny' }, 'INC-500'));
    expect(refused).toMatchObject({ code: 'policy_violation', path: 'incidentCheck', message: expect.stringContaining('unreachable (HTTP 500)') });
    expect(await checkIncident('p1', { url: base, onUnreachable: 'allow' }, 'INC-500')).toBe('unreachable-allowed');
  });
  it('connection refused is unreachable: deny refuses, allow lets through', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/incidents/{incident}`;
    const refused = await refusalOf(checkIncident('p1', { url, onUnreachable: 'deny' }, 'INC-1'));
    expect(refused).toMatchObject({ code: 'policy_violation', path: 'incidentCheck', message: expect.stringContaining('unreachable (ECONNREFUSED)') });
    expect(await checkIncident('p1', { url, onUnreachable: 'allow' }, 'INC-1')).toBe('unreachable-allowed');
  });
  it('an incident system that never answers times out: deny refuses, allow lets through', async () => {
    const refused = await refusalOf(checkIncident('p1', { url: base, onUnreachable: 'deny', timeoutMs: 50 }, 'INC-901'));
    expect(refused).toMatchObject({ code: 'policy_violation', path: 'incidentCheck', message: expect.stringContaining('no answer within 50ms') });
    expect(await checkIncident('p1', { url: base, onUnreachable: 'allow', timeoutMs: 50 }, 'INC-902')).toBe('unreachable-allowed');
  });
  it('a stored cleartext URL to another host is refused without being called', async () => {
    const refused = await refusalOf(checkIncident('p1', { url: 'http://itsm.example/incidents/{incident}', onUnreachable: 'allow' }, 'INC-1'));
    expect(refused).toMatchObject({ code: 'policy_violation', path: 'incidentCheck', message: expect.stringContaining('https') });
  });
});

describe('invoke with an incidentCheck', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  const withCheck = (onUnreachable: 'allow' | 'deny', url = base, extra = '') =>
    bed.apply(bedCatalog.replace('    maxTtl: 1h\n', `    maxTtl: 1h\n    incidentCheck: { url: "${url}", onUnreachable: ${onUnreachable}${extra} }\n`));
  const invokeFor = (incident: string) => invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'db down', incident, ttl: '15m' });

  it('an existing incident opens the case, audited with incidentCheck: passed', async () => {
    await withCheck('deny');
    const grant = await invokeFor('INC-7');
    expect(grant.state).toBe('active');
    const requested = (await bed.auditEvents()).find((e) => e.action === 'grant.requested');
    expect(requested?.details).toMatchObject({ incidentCheck: 'passed' });
  });

  it('an unknown incident is refused naming incidentCheck, and nothing is written', async () => {
    await withCheck('allow');
    const refused = await refusalOf(invokeFor('INC-404'));
    expect(refused).toMatchObject({ code: 'policy_violation', path: 'incidentCheck', message: expect.stringContaining('incident INC-404 not found in the incident system (404)') });
    expect(await bed.audit()).not.toContain('grant.requested');
  });

  it('unreachable with onUnreachable: deny refuses saying it was unreachable', async () => {
    await withCheck('deny');
    const refused = await refusalOf(invokeFor('INC-500'));
    expect(refused).toMatchObject({ code: 'policy_violation', path: 'incidentCheck', message: expect.stringContaining('unreachable') });
    expect(await bed.audit()).not.toContain('grant.requested');
  });

  it('unreachable with onUnreachable: allow opens the case, marked on grant.requested and audited as grant.incident-check-bypassed with a critical alert', async () => {
    const routed = `channels:\n  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }\nroutes:\n  - events: ["grant.incident-check-bypassed"]\n    channels: [secops-hook]\n`;
    const url = `http://127.0.0.1:${await closedPort()}/incidents/{incident}`;
    await bed.apply(`${bedCatalog.replace('    maxTtl: 1h\n', `    maxTtl: 1h\n    incidentCheck: { url: "${url}", onUnreachable: allow }\n`)}${routed}`);
    const grant = await invokeFor('INC-1');
    expect(grant.state).toBe('active');
    const events = await bed.auditEvents();
    expect(events.find((e) => e.action === 'grant.requested')?.details).toMatchObject({ incidentCheck: 'unreachable-allowed' });
    expect(events.find((e) => e.action === 'grant.incident-check-bypassed')).toMatchObject({ actor: 'alice', subject: grant.id, details: { incident: 'INC-1', onUnreachable: 'allow' } });
    const alerts = await bed.store.transaction((tx) => tx.outbox.list({}));
    expect(alerts.map((m) => m.payload)).toEqual([expect.objectContaining({ event: 'grant.incident-check-bypassed', severity: 'critical', grant: grant.id, incident: 'INC-1' })]);
  });

  it('a request the policy refuses anyway never reaches the incident system', async () => {
    await withCheck('allow');
    const before = paths.length;
    expect(await refusalOf(invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'boredom', reason: 'x', incident: 'INC-7', ttl: '15m' }))).toMatchObject({ path: 'conditions' });
    expect(await refusalOf(invoke(bed.ctx, bed.actors.bob, { account: 'db-breakglass', condition: 'outage', reason: 'x', incident: 'INC-7', ttl: '15m' }))).toMatchObject({ code: 'forbidden' });
    expect(paths.length).toBe(before);
  });

  it('the incident check holds no transaction or account lock while it waits for the incident system', async () => {
    await withCheck('deny', base, ', timeout: 30s');
    const account = await bed.store.transaction((tx) => tx.catalog.findAccountByName('db-breakglass'));
    const waiting = new Promise<void>((resolve) => (arrived = resolve));
    const pending = invokeFor('INC-903');
    await waiting;
    // While the incident system has not answered, the store and the account lock are free.
    await bed.store.transaction(async (tx) => tx.catalog.lockAccount(account!.id));
    hanging.pop()?.writeHead(200).end('{}');
    expect((await pending).state).toBe('active');
    arrived = undefined;
  });

  it('a catalog applied while the incident system is asked, changing the check, makes the invocation start again', async () => {
    await withCheck('deny', base, ', timeout: 30s');
    const waiting = new Promise<void>((resolve) => (arrived = resolve));
    const pending = refusalOf(invokeFor('INC-904'));
    await waiting;
    await withCheck('deny', base.replace('/incidents/', '/other/'), ', timeout: 30s');
    hanging.pop()?.writeHead(200).end('{}');
    expect(await pending).toMatchObject({ code: 'conflict', message: expect.stringContaining('changed while its incidentCheck was asked; invoke again') });
    expect(await bed.audit()).not.toContain('grant.requested');
    arrived = undefined;
  });
});
