/**
 * The Active Directory connector against a real Samba AD domain controller provisioned for this
 * file (test/support/samba-dc.ts): the shared conformance suite, then what is specific to AD —
 * declared group memberships (Domain Admins), native expiry (accountExpires), rotation proven by
 * the DC's own answers, the previous-password window, Kerberos after disable, TLS.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdConnector } from '../../src/connectors/ad/ad-connector.js';
import { fileTime } from '../../src/connectors/ad/ad-names.js';
import type { Connector, PrestagedOperations } from '../../src/ports/index.js';
import { connectorConformance, type LoginResult } from '../conformance/connector-conformance.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { refusal } from '../support/test-bed.js';
import { requireService } from '../support/integration.js';
import { adBind, adPassword, kerberos, kerberosClientsAvailable, plantAdUser, sambaAvailable, startSambaDc, type SambaDc } from '../support/samba-dc.js';

const check = await requireService('a Samba AD DC (samba, samba-tool; runs only as root)', sambaAvailable);
const krbCheck = await requireService('the Kerberos clients kinit and kvno (krb5-user)', kerberosClientsAvailable);

let dc: SambaDc;
beforeAll(async () => {
  if (!check.skip) dc = await startSambaDc();
}, 300_000);
afterAll(async () => {
  await dc?.stop();
});

let counter = 0;
const unique = () => `${Date.now().toString(36).slice(-6)}${(counter++).toString(36)}`;
const secret = (tag: string) => `S3cret-${tag}-${Math.random().toString(36).slice(2, 12)}-x`;

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function connect(extra: Record<string, unknown> = {}, timeoutMs?: number): Connector {
  return createAdConnector({
    type: 'ad',
    settings: { url: dc.url, bindDn: dc.adminDn, baseDn: dc.baseDn, caFile: dc.caFile, ...extra },
    adminSecret: dc.adminPassword,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

/** A real bind as the account, kept open: alive while the connection still answers a search. */
async function login(dn: string, password: string): Promise<LoginResult> {
  const client = new Client({ url: dc.url, timeout: 10_000, connectTimeout: 10_000, tlsOptions: { ca: [readFileSync(dc.caFile)] } });
  try {
    await client.bind(dn, password);
  } catch (err) {
    await client.unbind().catch(() => undefined);
    if ((err as { code?: number }).code === 49) return 'rejected';
    throw err;
  }
  return {
    async alive() {
      try {
        await client.search(dc.baseDn, { scope: 'base', attributes: ['dc'] });
        return true;
      } catch {
        return false;
      }
    },
    close: () => client.unbind().catch(() => undefined),
  };
}

/** Reads attributes of an entry as the domain's Administrator. */
async function adminRead(dn: string, attributes: string[]): Promise<Record<string, string | string[]> | undefined> {
  const client = await dc.admin();
  try {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes });
    return searchEntries[0] as Record<string, string | string[]> | undefined;
  } catch (err) {
    if ((err as { code?: number }).code === 32) return undefined;
    throw err;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

const list = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const lower = (values: string[]) => values.map((v) => v.toLowerCase()).sort();

async function adminModify(dn: string, operation: 'add' | 'delete' | 'replace', type: string, values: (string | Buffer)[]): Promise<void> {
  const client = await dc.admin();
  try {
    await client.modify(dn, new Change({ operation, modification: new Attribute({ type, values: values as string[] }) }));
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function newGroup(): Promise<string> {
  const dn = `CN=bg-grp-${unique()},${dc.usersDn}`;
  const client = await dc.admin();
  try {
    await client.add(dn, { objectClass: ['top', 'group'], sAMAccountName: dn.slice(3, dn.indexOf(',')) });
  } finally {
    await client.unbind().catch(() => undefined);
  }
  return dn;
}

connectorConformance(
  'ad',
  async () => {
    const port = await closedPort();
    return {
      create: (options) => connect({}, options?.timeoutMs),
      unreachable: () => {
        const down = createAdConnector({
          type: 'ad',
          settings: { url: `ldaps://127.0.0.1:${port}`, bindDn: dc.adminDn, baseDn: dc.baseDn, caFile: dc.caFile },
          adminSecret: dc.adminPassword,
          timeoutMs: 1000,
        });
        // The suite probes with the bare name 'bg_nobody'; an AD principal is a DN.
        const ops = down.prestaged!;
        const dn = (p: string) => (p.includes('=') ? p : `CN=${p},${dc.usersDn}`);
        const prestaged: PrestagedOperations = {
          ...ops,
          inspect: (p) => ops.inspect(dn(p)),
          stage: (p, s, spec, options) => ops.stage(dn(p), s, spec, options),
          rotate: (p, s) => ops.rotate(dn(p), s),
          verify: (c) => ops.verify({ ...c, username: dn(c.username) }),
        };
        return { ...down, close: () => down.close(), prestaged };
      },
      prestaged: {
        newPrincipal: () => `CN=bg-${unique()},${dc.usersDn}`,
        spec: (principal) => ({ dn: principal }),
        login,
        plantLogin: (principal, password) => plantAdUser(dc, principal, principal.slice(3, principal.indexOf(',')), password),
        // The bind DN (Administrator, RID 500) in any case, and the domain's other built-in accounts by their RID.
        reservedNames: [`CN=Administrator,CN=Users,${'DC=bgtest,DC=local'}`, `cn=administrator,cn=users,dc=BGTEST,dc=local`, `CN=krbtgt,CN=Users,DC=bgtest,DC=local`, `CN=Guest,CN=Users,DC=bgtest,DC=local`],
        hostileNames: [
          `CN=Robert\\")\\; DROP TABLE students\\;--,CN=Users,DC=bgtest,DC=local`,
          `CN=o'brien \\+ \\#1 a\\=b,CN=Users,DC=bgtest,DC=local`,
          `CN=back\\\\slash\\2Ccomma,CN=Users,DC=bgtest,DC=local`,
          `CN=star*(paren)|&!,CN=Users,DC=bgtest,DC=local`,
          `CN=\\3Cangle\\3E \\22quoted\\22,CN=Users,DC=bgtest,DC=local`,
          `CN=аdmin cyrillic,CN=Users,DC=bgtest,DC=local`,
          `CN=中文 ünïcødé,CN=Users,DC=bgtest,DC=local`,
        ],
        rejectedNames: [
          '',
          `CN=nul\0byte,CN=Users,DC=bgtest,DC=local`,
          `CN=line\nfeed,CN=Users,DC=bgtest,DC=local`,
          `CN=bidi\u202Eevil,CN=Users,DC=bgtest,DC=local`,
          `CN=ａｄｍｉｎ full-width,CN=Users,DC=bgtest,DC=local`,
          `CN=${'x'.repeat(1100)},CN=Users,DC=bgtest,DC=local`,
          `CN=outside,DC=other,DC=test`,
          'DC=bgtest,DC=local',
          `OU=unit,DC=bgtest,DC=local`,
          `uid=not-a-cn,CN=Users,DC=bgtest,DC=local`,
          `CN=x+uid=y,CN=Users,DC=bgtest,DC=local`,
          `2.5.4.3=oid,CN=Users,DC=bgtest,DC=local`,
          `CN=semi;colon,CN=Users,DC=bgtest,DC=local`,
        ],
      },
      ephemeral: {
        spec: () => ({ ou: dc.usersDn }),
        login: (credential) => login(credential.username, credential['password']!),
      },
    };
  },
  { skip: check.skip },
);

describe.skipIf(check.skip)('ad connector against Samba AD', () => {
  let ad: Connector;
  const ops = () => ad.prestaged!;
  beforeAll(() => {
    ad = connect();
  });
  afterAll(async () => {
    await ad?.close();
  });

  it('a pre-staged emergency domain admin: staged disabled in Domain Admins, enabled it administers the domain, disabled it cannot bind', async () => {
    const dn = `CN=bg-da-${unique()},${dc.usersDn}`;
    const s = secret('da');
    const spec = { dn, groups: [dc.domainAdminsDn] };
    await ops().stage(dn, s, spec);
    const staged = await adminRead(dn, ['userAccountControl', 'memberOf', 'accountExpires']);
    expect(Number(staged!['userAccountControl']) & 2).toBe(2);
    expect(lower(list(staged!['memberOf']))).toEqual([dc.domainAdminsDn.toLowerCase()]);
    expect(await ops().inspect(dn, spec)).toMatchObject({ exists: true, canLogin: false, privilegeDifferences: [] });
    expect(await adBind(dc, dn, s)).toBe('533');

    await ops().enable(dn, new Date(Date.now() + 600_000));
    const session = await login(dn, s);
    expect(session).not.toBe('rejected');
    // What a domain admin can do and a plain user cannot: create a user in the domain.
    const client = new Client({ url: dc.url, tlsOptions: { ca: [readFileSync(dc.caFile)] } });
    const made = `CN=bg-made-${unique()},${dc.usersDn}`;
    try {
      await client.bind(dn, s);
      await client.add(made, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: `bgm${unique()}`.slice(0, 20) });
    } finally {
      await client.unbind().catch(() => undefined);
    }
    expect(await adminRead(made, ['cn'])).toBeDefined();
    await (session as Exclude<LoginResult, 'rejected'>).close();

    await ops().disable(dn);
    expect(await adBind(dc, dn, s)).toBe('533');
    expect((await ops().inspect(dn, spec)).canLogin).toBe(false);
  });

  it('staging gives exactly the declared groups; inspect reports a planted difference each way; no spec compares nothing', async () => {
    const dn = `CN=bg-grp-${unique()},${dc.usersDn}`;
    const declared = await newGroup();
    const other = await newGroup();
    const spec = { dn, groups: [declared] };
    await ops().stage(dn, secret('grp'), spec);
    // Planted by hand: an undeclared membership, and the declared one taken away.
    await adminModify(other, 'add', 'member', [dn]);
    await adminModify(declared, 'delete', 'member', [dn]);
    const seen = await ops().inspect(dn, spec);
    expect(seen.privilegeDifferences).toEqual([
      `groups: not a member of ${JSON.stringify(declared)}`,
      `groups: undeclared membership of ${JSON.stringify(other)}`,
    ]);
    expect((await ops().inspect(dn)).privilegeDifferences).toBeUndefined();
    // Staging again (as apply does) puts back exactly what is declared, without adopt.
    await ops().stage(dn, secret('grp2'), spec);
    expect(lower(list((await adminRead(dn, ['memberOf']))!['memberOf']))).toEqual([declared.toLowerCase()]);
    expect((await ops().inspect(dn, spec)).privilegeDifferences).toEqual([]);
  });

  it('a declared group missing on the domain is an error naming it, and the account is left disabled', async () => {
    const dn = `CN=bg-nogrp-${unique()},${dc.usersDn}`;
    const missing = `CN=no-such-group-${unique()},${dc.usersDn}`;
    const error = await refusal(ops().stage(dn, secret('nogrp'), { dn, groups: [missing] }));
    expect(error.code).toBe('target_error');
    expect(error.message).toContain(missing);
    expect(Number((await adminRead(dn, ['userAccountControl']))!['userAccountControl']) & 2).toBe(2);
  });

  it('enable sets accountExpires to the grant\'s end, and the DC refuses the account after it (data 701)', async () => {
    const dn = `CN=bg-exp-${unique()},${dc.usersDn}`;
    const s = secret('exp');
    await ops().stage(dn, s, { dn });
    const until = new Date(Date.now() + 600_000);
    await ops().enable(dn, until);
    expect((await adminRead(dn, ['accountExpires']))!['accountExpires']).toBe(fileTime(until));
    expect((await ops().inspect(dn)).validUntil?.getTime()).toBe(until.getTime());
    // The DC decides by its own clock: an expiry just ahead, waited for as a state.
    await ops().enable(dn, new Date(Date.now() + 1_500));
    const deadline = Date.now() + 30_000;
    let answer = await adBind(dc, dn, s);
    while (answer === 'ok' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      answer = await adBind(dc, dn, s);
    }
    expect(answer).toBe('701');
    await ops().disable(dn);
  });

  it('rotation evidence comes from the DC: old password data 52e (wrong), new data 533 (right, account disabled)', async () => {
    const dn = `CN=bg-rot-${unique()},${dc.usersDn}`;
    const old = secret('old');
    const next = secret('new');
    await ops().stage(dn, old, { dn });
    await ops().rotate(dn, next);
    expect(await ops().verifyDetailed!({ username: dn, password: old })).toEqual({ verdict: 'rejected', code: '49/52e' });
    expect(await ops().verifyDetailed!({ username: dn, password: next })).toEqual({ verdict: 'accepted', code: '49/533' });
    await ops().enable(dn, new Date(Date.now() + 600_000));
    expect(await adBind(dc, dn, old)).toBe('52e');
    expect(await adBind(dc, dn, next)).toBe('ok');
    await ops().disable(dn);
  });

  it('why a rotation resets twice: after one reset the DC still takes the previous password (old password allowed period)', async () => {
    const dn = `CN=bg-prev-${unique()},${dc.usersDn}`;
    const first = secret('first');
    await ops().stage(dn, first, { dn });
    await ops().enable(dn, new Date(Date.now() + 600_000));
    // One reset, as a naive connector would do it.
    await adminModify(dn, 'replace', 'unicodePwd', [adPassword(secret('second'))]);
    expect(await adBind(dc, dn, first)).toBe('ok');
    // The connector's rotation: the password it replaces stops working at once.
    const third = secret('third');
    await ops().rotate(dn, third);
    await ops().enable(dn, new Date(Date.now() + 600_000));
    expect(await adBind(dc, dn, first)).toBe('52e');
    expect(await adBind(dc, dn, third)).toBe('ok');
    await ops().disable(dn);
  });

  it.skipIf(krbCheck.skip)('Kerberos: a ticket taken during the grant can neither be renewed nor used for a service ticket once the account is disabled', async () => {
    const dn = `CN=bg-krb-${unique()},${dc.usersDn}`;
    const sam = dn.slice(3, dn.indexOf(','));
    const s = secret('krb');
    await ops().stage(dn, s, { dn });
    await ops().enable(dn, new Date(Date.now() + 600_000));
    const cache = join(dc.dir, `cc-${unique()}`);
    const kinit = await kerberos(dc, cache, ['kinit', '-r', '1d', `${sam}@${dc.realm}`], `${s}\n`);
    expect(kinit.code, kinit.output).toBe(0);
    expect((await kerberos(dc, cache, ['kvno', `krbtgt/${dc.realm}`])).code).toBe(0);

    await ops().disable(dn);
    const renew = await kerberos(dc, cache, ['kinit', '-R']);
    expect(renew.code).not.toBe(0);
    expect(renew.output).toMatch(/KDC policy rejects|revoked|disabled/i);
    const service = await kerberos(dc, cache, ['kvno', `HOST/dc1.${dc.realm.toLowerCase()}`]);
    expect(service.code).not.toBe(0);
    // And the rotated password gets no ticket at all, whatever the state.
    await ops().rotate(dn, secret('krb2'));
    await ops().enable(dn, new Date(Date.now() + 600_000));
    expect((await kerberos(dc, join(dc.dir, `cc-${unique()}`), ['kinit', `${sam}@${dc.realm}`], `${s}\n`)).code).not.toBe(0);
    await ops().disable(dn);
  });

  it('ephemeral: a per-grant user in Domain Admins, expiring with the grant, deleted at the end', async () => {
    const grantId = `gr_ad${unique()}`;
    const spec = { ou: dc.usersDn, groups: [dc.domainAdminsDn] };
    const until = new Date(Date.now() + 600_000);
    const credential = await ad.ephemeral!.issue({ grantId, spec, validUntil: until });
    expect(Object.keys(credential).sort()).toEqual(['password', 'username']);
    expect(credential.username).toMatch(/^bg[0-9a-f]{18}@bgtest\.local$/);
    const dn = `CN=${credential.username.split('@')[0]},${dc.usersDn}`;
    const entry = await adminRead(dn, ['memberOf', 'accountExpires', 'userAccountControl']);
    expect(lower(list(entry!['memberOf']))).toEqual([dc.domainAdminsDn.toLowerCase()]);
    expect(entry!['accountExpires']).toBe(fileTime(until));
    // The userPrincipalName is what a responder types (LDAP bind, kinit, a Windows logon).
    expect(await adBind(dc, credential.username, credential['password']!)).toBe('ok');
    expect(await adBind(dc, dn, credential['password']!)).toBe('ok');

    await ad.ephemeral!.revoke({ grantId, spec });
    expect(await adminRead(dn, ['cn'])).toBeUndefined();
    expect(lower(list((await adminRead(dc.domainAdminsDn, ['member']))!['member']))).not.toContain(dn.toLowerCase());
  });

  it('ephemeral: an entry of the same name that is not the grant\'s is never deleted', async () => {
    const grantId = `gr_ad${unique()}`;
    const spec = { ou: dc.usersDn };
    const credential = await ad.ephemeral!.issue({ grantId, spec, validUntil: new Date(Date.now() + 600_000) });
    await ad.ephemeral!.revoke({ grantId, spec });
    const sam = credential.username.split('@')[0]!;
    const dn = `CN=${sam},${dc.usersDn}`;
    await plantAdUser(dc, dn, sam, secret('theirs'));
    const error = await refusal(ad.ephemeral!.revoke({ grantId, spec }));
    expect(error.code).toBe('conflict');
    expect(await adminRead(dn, ['cn'])).toBeDefined();
    expect((await ad.ephemeral!.inspectIssued({ grantId, spec })).exists).toBe(false);
  });

  it('TLS: a DC certificate from another CA is a non-retryable target_error before any password is sent; ldap:// is refused', async () => {
    const wrong = connect({ caFile: dc.otherCaFile });
    try {
      const error = await refusal(wrong.prestaged!.inspect(`CN=x,${dc.usersDn}`));
      expect(error.code).toBe('target_error');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/certificate/);
    } finally {
      await wrong.close();
    }
    expect(() => connect({ url: `ldap://${dc.address}:389` })).toThrow(/ldaps:\/\//);
  });
});

describe.skipIf(check.skip)('ad through the engine: a whole case on an emergency domain admin', () => {
  let h: Harness;
  let alice: string;
  const tag = unique();
  const daDn = () => `CN=bg-e2e-da-${tag},${dc.usersDn}`;

  interface AuditEvent { readonly action: string; readonly subject: string; readonly details: Record<string, unknown> }
  async function eventsOf(id: string): Promise<AuditEvent[]> {
    const bundle: string = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body;
    return bundle.trim().split('\n').map((line) => JSON.parse(line) as AuditEvent).filter((e) => e.subject === id);
  }
  const catalog = () => ({
    targets: [{ name: 'corp-ad', type: 'ad', url: dc.url, bindDn: dc.adminDn, baseDn: dc.baseDn, caFile: dc.caFile, password: dc.adminPassword }],
    policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
    accounts: [
      { name: 'domain-admin-bg', target: 'corp-ad', mode: 'prestaged', dn: daDn(), groups: [dc.domainAdminsDn], policy: 'p0' },
      { name: 'ad-temp-admin', target: 'corp-ad', mode: 'ephemeral', ou: dc.usersDn, groups: [dc.domainAdminsDn], policy: 'p0' },
    ],
    users: [{ name: 'alice', roles: ['responder'] }],
  });

  beforeAll(async () => {
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog());
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.staging).toEqual([{ account: 'domain-admin-bg', staging: 'staged' }]);
    alice = await h.enrol('alice');
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('apply stages the declared Domain Admins membership; a membership planted by hand is a privileges-differ drift finding', async () => {
    expect(lower(list((await adminRead(daDn(), ['memberOf']))!['memberOf']))).toEqual([dc.domainAdminsDn.toLowerCase()]);
    const scan = async () => {
      const scanned = await h.call(h.adminToken, 'POST', '/v1/drift/scan', {});
      expect(scanned.status, JSON.stringify(scanned.body)).toBe(200);
      expect(scanned.body.errors).toEqual([]);
      return (scanned.body.findings as { account: string; kind: string; detail: string }[]).filter((f) => f.kind === 'privileges-differ');
    };
    expect(await scan()).toEqual([]);
    const other = await newGroup();
    await adminModify(other, 'add', 'member', [daDn()]);
    const found = await scan();
    expect(found).toMatchObject([{ account: 'domain-admin-bg', kind: 'privileges-differ' }]);
    expect(found[0]!.detail).toContain(`groups: undeclared membership of ${JSON.stringify(other)}`);
    await adminModify(other, 'delete', 'member', [daDn()]);
    expect(await scan()).toEqual([]);
  });

  it.each(['domain-admin-bg', 'ad-temp-admin'])('%s: invoke → reveal → bind → end → the credential is refused; the record says what the DC answered', async (account) => {
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account, condition: 'outage', reason: 'e2e', incident: 'INC-12', ttl: '10m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    const id: string = invoked.body.id;
    const credential = (await h.call(alice, 'POST', `/v1/grants/${id}/reveal`)).body as Record<string, string>;
    expect(Object.keys(credential).sort()).toEqual(['password', 'username']);
    const dn = account === 'ad-temp-admin' ? `CN=${credential['username']!.split('@')[0]},${dc.usersDn}` : daDn();
    expect(await adBind(dc, credential['username']!, credential['password']!)).toBe('ok');
    expect(await adBind(dc, dn, credential['password']!)).toBe('ok');

    await h.call(alice, 'POST', `/v1/grants/${id}/end`);
    const done = await eventually(async () => {
      const g = (await h.call(alice, 'GET', `/v1/grants/${id}`)).body;
      return g.state === 'awaiting-certification' ? g : undefined;
    }, 60_000, `${account} revocation`);
    // Neither LDAP binds nor Kerberos tickets are visible to Breakglass: the record says 0, not a guess.
    expect(done.revocation).toEqual({ sessionsBefore: 0, sessionsEnded: 0, sessionsAfter: 0 });
    if (account === 'domain-admin-bg') {
      // Rotated: the revealed password is wrong now (52e), the account disabled.
      expect(await adBind(dc, dn, credential['password']!)).toBe('52e');
      const rotated = (await eventsOf(id)).find((e) => e.action === 'grant.rotation-verified');
      expect(rotated?.details).toMatchObject({ oldSecret: { result: 'rejected', code: '49/52e' }, newSecret: { result: 'accepted', code: '49/533' } });
      expect(JSON.stringify(rotated)).not.toContain(credential['password']!);
    } else {
      expect(await adminRead(dn, ['cn'])).toBeUndefined();
    }
  });
});
