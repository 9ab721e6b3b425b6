/**
 * Drills and drift detection on a real LDAP directory (issue 10): a private OpenLDAP slapd with
 * the ppolicy overlay, a Breakglass server in this process, everything through the HTTP API.
 * The drill's login is a real simple bind as the account (`tryLogin`; slapd's stats log shows
 * it), refused while the entry is locked; a password changed by hand fails the drill at login.
 * Drift: an entry unlocked by hand outside a case is `enabled-outside-case` until it is locked
 * again (or autoRemediate locks it), a password changed by hand is `secret-changed`. What a
 * directory cannot show: live sessions (LDAP has no operation to list or end another client's
 * bind), so `sessions-outside-case` never fires on LDAP, asserted here; LDAP has no ephemeral mode.
 */
import { readFileSync } from 'node:fs';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLdapConnector } from '../../src/connectors/ldap/ldap-connector.js';
import { sshaHash } from '../../src/connectors/ldap/ssha.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { slapdAvailable, slapdLogin, slapdRead, startSlapd, type Slapd } from '../support/slapd.js';
import type { Session } from '../conformance/connector-conformance.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const check = await requireService('OpenLDAP slapd (/usr/sbin/slapd with back_mdb and ppolicy)', slapdAvailable);

const tag = Math.random().toString(36).slice(2, 8);
const LOCKED_FOREVER = '000001010000Z';
const ENDED = '19700101000000Z';

interface Finding {
  id: string;
  account: string;
  kind: string;
  subject: string;
  detail: string;
  firstSeen: string;
}

interface Step {
  name: string;
  result: string;
  ms: number;
  detail?: string;
}

/** Changes an entry as the rootdn: someone working on the directory by hand, outside Breakglass. */
async function byHand(slapd: Slapd, dn: string, values: Record<string, string[]>): Promise<void> {
  const client = new Client({ url: slapd.url, timeout: 3000 });
  try {
    await client.bind(slapd.adminDn, slapd.adminPassword);
    const changes = Object.entries(values).map(([type, v]) => new Change({ operation: 'replace', modification: new Attribute({ type, values: v }) }));
    await client.modify(dn, changes);
  } finally {
    await client.unbind();
  }
}

/**
 * Simple binds as `dn` that slapd answered with success (err=0), from its stats log: only a
 * real login makes one (`verify` reads the hash as the admin; the lock check binds and fails).
 */
function successfulBinds(slapd: Slapd, dn: string): number {
  const lines = readFileSync(slapd.logFile, 'utf8').split('\n');
  const pending = new Set<string>();
  let count = 0;
  for (const line of lines) {
    const op = /(conn=\d+ op=\d+) /.exec(line)?.[1];
    if (op === undefined) continue;
    if (line.includes(`BIND dn="${dn}" method=128`)) pending.add(op);
    else if (pending.has(op) && /RESULT tag=97 err=(\d+)/.test(line)) {
      if (/RESULT tag=97 err=0 /.test(line)) count++;
      pending.delete(op);
    }
  }
  return count;
}

async function scan(h: Harness, account: string): Promise<Finding[]> {
  const scanned = await h.call(h.adminToken, 'POST', '/v1/drift/scan', {});
  expect(scanned.status, JSON.stringify(scanned.body)).toBe(200);
  expect(scanned.body.errors).toEqual([]);
  return (scanned.body.findings as Finding[]).filter((f) => f.account === account);
}

describe.skipIf(check.skip)('drills and drift on a real LDAP directory (slapd with ppolicy)', () => {
  let slapd: Slapd;
  let h: Harness;
  const drillDn = () => `uid=bg-drill-${tag},${slapd.peopleDn}`;
  const driftDn = () => `uid=bg-drift-${tag},${slapd.peopleDn}`;
  const catalog = (autoRemediate: boolean) => ({
    targets: [{ name: 'dir', type: 'ldap', url: slapd.url, bindDn: slapd.adminDn, baseDn: slapd.peopleDn, allowCleartext: true, password: slapd.adminPassword }],
    policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
    accounts: [
      { name: 'dir-drill', target: 'dir', mode: 'prestaged', dn: drillDn(), policy: 'p0' },
      { name: 'dir-drift', target: 'dir', mode: 'prestaged', dn: driftDn(), policy: 'p0', ...(autoRemediate ? { autoRemediate } : {}) },
    ],
    users: [{ name: 'alice', roles: ['responder'] }],
  });
  const drill = async () => {
    const run = await h.call(h.adminToken, 'POST', '/v1/accounts/dir-drill/drill', {});
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    return run.body as { account: string; result: string; grant: string; steps: Step[] };
  };
  const lockState = async (dn: string) => slapdRead(slapd, dn, ['pwdAccountLockedTime', 'pwdEndTime']);

  beforeAll(async () => {
    slapd = await startSlapd();
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog(false));
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.staging).toEqual(expect.arrayContaining([
      { account: 'dir-drill', staging: 'staged' },
      { account: 'dir-drift', staging: 'staged' },
    ]));
  });
  afterAll(async () => {
    await h?.stop();
    await slapd?.stop();
  });

  it('tryLogin is a real bind: a staged (locked) entry is rejected with its right secret, which verify accepts', async () => {
    const connector = createLdapConnector({
      type: 'ldap',
      settings: { url: slapd.url, bindDn: slapd.adminDn, baseDn: slapd.peopleDn, allowCleartext: true },
      adminSecret: slapd.adminPassword,
    });
    try {
      const ops = connector.prestaged!;
      const dn = `uid=bg-trylogin-${tag},${slapd.peopleDn}`;
      const secret = `Ld4p-try-${tag}-0a1b2c3d4e`;
      await ops.stage(dn, secret, { dn });
      expect(await ops.verify({ username: dn, password: secret })).toBe('accepted');
      expect(await ops.tryLogin!({ username: dn, password: secret })).toBe('rejected');
      await ops.enable(dn, new Date(Date.now() + 600_000));
      const before = successfulBinds(slapd, dn);
      expect(await ops.tryLogin!({ username: dn, password: secret })).toBe('accepted');
      expect(successfulBinds(slapd, dn)).toBe(before + 1);
      expect(await ops.tryLogin!({ username: dn, password: `${secret}x` })).toBe('rejected');
      // An empty password would be an anonymous bind, which "succeeds".
      expect(await ops.tryLogin!({ username: dn, password: '' })).toBe('rejected');
      await ops.disable(dn);
      expect(await ops.tryLogin!({ username: dn, password: secret })).toBe('rejected');
    } finally {
      await connector.close();
    }
  });

  it('a drill passes with every step passed, its login a real bind as the account; the entry is locked again after', async () => {
    const before = successfulBinds(slapd, drillDn());
    const body = await drill();
    expect(body, JSON.stringify(body)).toMatchObject({ account: 'dir-drill', result: 'passed' });
    expect(body.steps.map((s) => [s.name, s.result])).toEqual([
      ['invoke', 'passed'],
      ['login', 'passed'],
      ['expire', 'passed'],
      ['verify-revoked', 'passed'],
      ['rotate', 'passed'],
      ['verify-rotated', 'passed'],
    ]);
    // The login step bound as the account once; the verify-revoked bind was refused.
    expect(successfulBinds(slapd, drillDn())).toBe(before + 1);
    expect(await lockState(drillDn())).toMatchObject({ pwdAccountLockedTime: LOCKED_FOREVER, pwdEndTime: ENDED });
    const grant = await h.call(h.adminToken, 'GET', `/v1/grants/${body.grant}`);
    expect(grant.body).toMatchObject({ drill: true, state: 'closed' });
  });

  it('a password changed by hand on the directory fails the drill at login and says so; the normal rotation sets it right', async () => {
    await byHand(slapd, drillDn(), { userPassword: [sshaHash(`changed-by-hand-${tag}`)] });
    const body = await drill();
    expect(body.result).toBe('failed');
    expect(body.steps.find((s) => s.name === 'login')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/changed outside Breakglass/) });
    expect(body.steps.slice(2).every((s) => s.result === 'skipped')).toBe(true);
    expect(JSON.stringify(body)).not.toContain(`changed-by-hand-${tag}`);
    await eventually(async () => (await h.call(h.adminToken, 'GET', `/v1/grants/${body.grant}`)).body.state === 'awaiting-certification', 60_000, 'the failed drill rotated');
    expect(await lockState(drillDn())).toMatchObject({ pwdAccountLockedTime: LOCKED_FOREVER, pwdEndTime: ENDED });
    expect((await drill()).result).toBe('passed');
  });

  it('drift: an entry unlocked by hand outside a case is enabled-outside-case; locking it again resolves it', async () => {
    expect(await scan(h, 'dir-drift')).toEqual([]);
    await byHand(slapd, driftDn(), { pwdAccountLockedTime: [], pwdEndTime: [] });
    const findings = await scan(h, 'dir-drift');
    expect(findings).toMatchObject([{ account: 'dir-drift', kind: 'enabled-outside-case', subject: driftDn() }]);
    await byHand(slapd, driftDn(), { pwdAccountLockedTime: [LOCKED_FOREVER], pwdEndTime: [ENDED] });
    expect(await scan(h, 'dir-drift')).toEqual([]);
    const listed = (await h.call(h.adminToken, 'GET', '/v1/drift/findings')).body.findings as (Finding & { resolvedAt?: string })[];
    expect(listed.find((f) => f.id === findings[0]!.id)?.resolvedAt).toEqual(expect.any(String));
    const audit = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body as string;
    expect(audit).toContain('drift.detected');
    expect(audit).toContain('drift.resolved');
  });

  it('drift cannot see sessions on LDAP: a bind opened during a case outlives it, and no sessions-outside-case is reported', async () => {
    const alice = await h.enrol('alice');
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account: 'dir-drift', condition: 'outage', reason: 'drift', incident: 'INC-9', ttl: '10m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    const id = invoked.body.id as string;
    const revealed = await h.call(alice, 'POST', `/v1/grants/${id}/reveal`);
    expect(revealed.status).toBe(200);
    const login = await slapdLogin(slapd, driftDn(), revealed.body.password as string);
    expect(login).not.toBe('rejected');
    const session = login as Session;
    try {
      await h.call(alice, 'POST', `/v1/grants/${id}/end`);
      await eventually(async () => (await h.call(alice, 'GET', `/v1/grants/${id}`)).body.state === 'awaiting-certification', 30_000, 'revocation');
      // The connection bound during the case is still open: ppolicy acts at bind time only.
      expect(await session.alive()).toBe(true);
      expect(await scan(h, 'dir-drift')).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it('drift: a password changed by hand is secret-changed (the password itself never shown)', async () => {
    await byHand(slapd, driftDn(), { userPassword: [sshaHash(`set-by-hand-${tag}`)] });
    const findings = await scan(h, 'dir-drift');
    // ppolicy drops pwdAccountLockedTime on an administrator's password change; pwdEndTime still bars the entry.
    expect(findings).toMatchObject([{ account: 'dir-drift', kind: 'secret-changed', subject: driftDn() }]);
    expect(JSON.stringify(findings)).not.toContain(`set-by-hand-${tag}`);
  });

  it('autoRemediate: an entry unlocked by hand is locked again by the scan, verified, and audited', async () => {
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog(true));
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    await byHand(slapd, driftDn(), { pwdAccountLockedTime: [], pwdEndTime: [] });
    const findings = await scan(h, 'dir-drift');
    expect(findings.filter((f) => f.kind === 'enabled-outside-case')).toEqual([]);
    expect(await lockState(driftDn())).toMatchObject({ pwdAccountLockedTime: LOCKED_FOREVER, pwdEndTime: ENDED });
    const audit = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body as string;
    expect(audit).toContain('drift.remediated');
  });
});
