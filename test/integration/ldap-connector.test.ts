/**
 * The LDAP pre-staged connector against a private OpenLDAP slapd with the ppolicy overlay (a
 * real server): the shared conformance suite, then what is specific to directories, then TLS
 * against a slapd of its own with certificates made by a throw-away CA.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { inspect as utilInspect } from 'node:util';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapConnector, ldapDriver } from '../../src/connectors/ldap/ldap-connector.js';
import { checkPassword } from '../../src/connectors/ldap/ssha.js';
import { AppError } from '../../src/errors/index.js';
import type { Connector, PrestagedOperations } from '../../src/ports/index.js';
import { connectorConformance } from '../conformance/connector-conformance.js';
import { requireService } from '../support/integration.js';
import { slapdAdd, slapdAvailable, slapdHasMemberOf, slapdLogin as login, slapdPlant, slapdRead as adminRead, startSlapd, type Slapd } from '../support/slapd.js';
import { opensslAvailable, startTlsSlapd, type TlsSlapd } from '../support/slapd-tls.js';

const check = await requireService('OpenLDAP slapd (/usr/sbin/slapd with back_mdb and ppolicy)', slapdAvailable);
const tlsCheck = await requireService('openssl (/usr/bin/openssl), to make the TLS tests\' certificates', opensslAvailable);
const memberOfCheck = await requireService('the OpenLDAP memberof overlay (/usr/lib/ldap/memberof.so)', slapdHasMemberOf);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

/** A closed port on 127.0.0.1: bound once, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

/** A connector to the test slapd over plain ldap:// (allowed here: the shared servers have no TLS). */
function connect(slapd: Slapd, extra: Record<string, unknown> = {}, timeoutMs?: number): Connector {
  return createLdapConnector({
    type: 'ldap',
    settings: { url: slapd.url, bindDn: slapd.adminDn, baseDn: slapd.peopleDn, allowCleartext: true, ...extra },
    adminSecret: slapd.adminPassword,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

/**
 * The suite probes an unreachable target with the bare name 'bg_nobody'. An LDAP principal is a
 * DN, and this connector refuses a non-DN with `validation` before it opens a socket (as it
 * must for hostile names), so the placeholder is translated to `uid=bg_nobody,<people>` here.
 */
function asDn(people: string, connector: Connector): Connector {
  const ops = connector.prestaged!;
  const dn = (p: string) => (p.includes('=') ? p : `uid=${p},${people}`);
  return {
    ...connector,
    close: () => connector.close(),
    prestaged: {
      ...ops,
      inspect: (p) => ops.inspect(dn(p)),
      stage: (p, s, spec, options) => ops.stage(dn(p), s, spec, options),
      rotate: (p, s) => ops.rotate(dn(p), s),
      verify: (c) => ops.verify({ ...c, username: dn(c.username) }),
    },
  };
}

connectorConformance(
  'ldap',
  async () => {
    const slapd = await startSlapd();
    const people = slapd.peopleDn;
    const port = await closedPort();
    return {
      create: (options) => connect(slapd, {}, options?.timeoutMs),
      unreachable: () => asDn(people, createLdapConnector({
        type: 'ldap',
        settings: { url: `ldap://127.0.0.1:${port}`, bindDn: slapd.adminDn, baseDn: people, allowCleartext: true },
        adminSecret: slapd.adminPassword,
        timeoutMs: 1000,
      })),
      prestaged: {
        newPrincipal: () => `uid=bg-${unique()},${people}`,
        spec: (principal) => ({ dn: principal }),
        login: (principal, secret) => login(slapd, principal, secret),
        plantLogin: (principal, password) => slapdPlant(slapd, principal, password),
        // The bind DN (the rootdn here) in any case, and OpenLDAP's own trees.
        reservedNames: [slapd.adminDn, `CN=Admin,DC=Example,DC=Test`, 'cn=config', `cn=x,cn=config`, 'cn=Monitor', `cn=schema,cn=subschema`],
        hostileNames: [
          `cn=Robert\\")\\; DROP TABLE students\\;--,${people}`,
          `cn=o'brien \\+ \\#1 a\\=b,${people}`,
          `cn=\\#leading hash,${people}`,
          `uid=back\\\\slash\\2Ccomma,${people}`,
          `cn=star*(paren)|&!,${people}`,
          `cn=\\3Cangle\\3E \\22quoted\\22,${people}`,
          `cn=аdmin cyrillic,${people}`,
          `uid=中文 ünïcødé,${people}`,
        ],
        rejectedNames: [
          '',
          `cn=nul\0byte,${people}`,
          `cn=escaped\\00nul,${people}`,
          `cn=line\nfeed,${people}`,
          `cn=escaped\\0Alinefeed,${people}`,
          `cn=bidi\u202Eevil,${people}`,
          `cn=lone\uD800surrogate,${people}`,
          // slapd folds compatibility forms: this IS cn=admin full-width, a second name for it.
          `cn=ａｄｍｉｎ full-width,${people}`,
          `cn=decomposed e\u0301,${people}`,
          `cn=${'x'.repeat(1100)},${people}`,
          `cn=outside,${slapd.suffix}`,
          `cn=outside,dc=other,dc=test`,
          people,
          `ou=unit,${people}`,
          `cn=trailing,${people},`,
          `cn=x, ${people}`,
          `cn=x+uid=y,${people}`,
          `cn=#04024869,${people}`,
          `ｃｎ=full-width-type,${people}`,
          `2.5.4.3=oid,${people}`,
          `cn=\\ leading space,${people}`,
          `cn=double  space,${people}`,
          `cn=semi;colon,${people}`,
          `cn=bad\\C3utf8,${people}`,
          `cn=dangling\\,${people}`,
        ],
      },
      teardown: () => slapd.stop(),
    };
  },
  { skip: check.skip },
);

describe.skipIf(check.skip)('ldap connector (private slapd with ppolicy)', () => {
  let slapd: Slapd;
  let connector: Connector;
  let ops: PrestagedOperations;
  const secrets: string[] = [];
  const secret = (tag: string) => {
    const s = `Ld4p-${tag}-${Math.random().toString(36).slice(2, 12)}`;
    secrets.push(s);
    return s;
  };
  const person = (prefix = 'acct') => `uid=${prefix}-${unique()},${slapd.peopleDn}`;

  beforeAll(async () => {
    slapd = await startSlapd();
    connector = connect(slapd);
    ops = connector.prestaged!;
  });
  afterAll(async () => {
    await connector?.close();
    await slapd?.stop();
  });

  it('is registered under its type name with the capabilities it can keep', () => {
    expect(ldapDriver.create).toBe(createLdapConnector);
    expect(connector.capabilities).toEqual({ supportsSessionKill: false, supportsNativeExpiry: true, supportsPrestaged: true, supportsEphemeral: false });
  });

  it('verify reads the stored {SSHA}: a locked account answers 49 to the right and the wrong password alike', async () => {
    const dn = person();
    const s = secret('verify');
    await ops.stage(dn, s, { dn });
    expect(await login(slapd, dn, s)).toBe('rejected');
    expect(await login(slapd, dn, 'wrong')).toBe('rejected');
    const entry = await adminRead(slapd, dn, ['userPassword', 'pwdAccountLockedTime', 'pwdEndTime', 'cn', 'sn', 'uid']);
    const stored = entry?.['userPassword'] as Buffer;
    expect(stored.toString()).toMatch(/^\{SSHA\}/);
    expect(stored.toString()).not.toContain(s);
    expect(entry).toMatchObject({ pwdAccountLockedTime: '000001010000Z', pwdEndTime: '19700101000000Z' });
    expect(await ops.verify({ username: dn, password: s })).toBe('accepted');
    expect(await ops.verify({ username: dn, password: `${s}x` })).toBe('rejected');
    expect(await ops.verify({ username: dn, password: '' })).toBe('rejected');
    expect(await ops.verify({ username: person('missing'), password: s })).toBe('rejected');
  });

  it('checks slapd-made {SSHA} and {SHA} values the way slapd does (slappasswd)', () => {
    for (const scheme of ['{SSHA}', '{SHA}']) {
      const made = execFileSync('/usr/sbin/slappasswd', ['-h', scheme, '-s', 'pässword 1'], { encoding: 'utf8' }).trim();
      expect(checkPassword(Buffer.from(made), 'pässword 1')).toBe('match');
      expect(checkPassword(Buffer.from(made), 'password 1')).toBe('mismatch');
    }
    expect(checkPassword(Buffer.from('{CRYPT}$6$abc$def'), 'x')).toBe('unsupported');
  });

  it('enable sets a native pwdEndTime that stops new binds with Breakglass down', async () => {
    const dn = person('expiry');
    const s = secret('expiry');
    await ops.stage(dn, s, { dn });
    const until = new Date(Date.now() + 2500);
    await ops.enable(dn, until);
    const seen = await ops.inspect(dn);
    expect(seen.canLogin).toBe(true);
    expect(Math.abs(seen.validUntil!.getTime() - until.getTime())).toBeLessThan(1000);
    const early = await login(slapd, dn, s);
    expect(early).not.toBe('rejected');
    await sleep(3500);
    // Nobody called disable: the server itself refuses the ended credential.
    expect(await login(slapd, dn, s)).toBe('rejected');
    expect((await ops.inspect(dn)).canLogin).toBe(false);
    if (early !== 'rejected') await early.close();
  });

  it('a session bound before disable survives it: ppolicy acts at bind time only (supportsSessionKill: false)', async () => {
    const dn = person('session');
    const s = secret('session');
    await ops.stage(dn, s);
    await ops.enable(dn, new Date(Date.now() + 600_000));
    const session = await login(slapd, dn, s);
    expect(session).not.toBe('rejected');
    await ops.disable(dn);
    expect(await login(slapd, dn, s)).toBe('rejected');
    if (session === 'rejected') return;
    expect(await session.alive()).toBe(true);
    expect((await ops.inspect(dn)).sessions).toBe(0);
    await session.close();
  });

  it('injection: DN and filter metacharacters in RDN values name exactly one entry, never a pattern', async () => {
    const values = ['*', 'bob)(|(cn=*)', 'a\\2a', '(&)', 'x,ou=evil', 'a+b', '"q"', '#h', 'k=v', 'x\u201Ay \u060C z'];
    const dns = values.map((value) => `cn=${value.replace(/[\\,+"#=;<>]/g, (c) => `\\${c}`)},${slapd.peopleDn}`);
    for (const dn of dns) await ops.stage(dn, secret('inj'));
    const client = new Client({ url: slapd.url });
    await client.bind(slapd.adminDn, slapd.adminPassword);
    for (const [k, dn] of dns.entries()) {
      const res = await client.search(dn, { scope: 'base', attributes: ['cn'] });
      expect(res.searchEntries.map((e) => e['cn'])).toEqual([values[k]]);
    }
    await client.unbind();
    // "cn=*" exists now, yet an account named by a wildcard-looking value that was never staged
    // is not found: the name is a DN read at base scope, never a filter.
    expect((await ops.inspect(`cn=nobody\\2A,${slapd.peopleDn}`)).exists).toBe(false);
    expect((await ops.inspect(`cn=b*,${slapd.peopleDn}`)).exists).toBe(false);
    expect(await adminRead(slapd, `cn=x,ou=evil,${slapd.peopleDn}`, ['cn'])).toBeUndefined();
  });

  it('injection: hostile spec and settings values are refused with validation', async () => {
    const dn = person('spec');
    for (const spec of [{ dn: person('other') }, { dn, extra: 1 }, { dn, policyDn: 'cn=p\0,dc=x' }, { dn, policyDn: 'cn=p)(x=*' + ';' }, { dn: 42 }]) {
      expect((await thrown(ops.stage(dn, 'x', spec))).code, JSON.stringify(spec)).toBe('validation');
    }
    expect(await adminRead(slapd, dn, ['cn'])).toBeUndefined();
    // The same DN written differently is the same account.
    await ops.stage(dn, secret('spec'), { dn: dn.replace('uid=', 'UID=').replace('-', '\\2D') });
    const make = (settings: Record<string, unknown>, adminSecret: string | undefined) => () =>
      createLdapConnector({ type: 'ldap', settings, adminSecret });
    const good = { url: slapd.url, bindDn: slapd.adminDn };
    for (const settings of [
      { ...good, url: 'http://127.0.0.1:389' },
      { ...good, url: `${slapd.url}/dc=example??sub?(uid=*)` },
      { ...good, bindDn: 'cn=admin\0,dc=x' },
      { ...good, baseDn: 'ou=people;dc=x' },
      { ...good, basedn: slapd.peopleDn },
      { url: slapd.url },
    ]) {
      expect(make(settings, 'pw')).toThrow(AppError);
    }
    expect(make(good, undefined)).toThrow(/admin secret/);
  });

  it('the connector bind DN and its look-alikes are never touched', async () => {
    const wide = connect(slapd, { baseDn: slapd.suffix, bindDn: `cn=bg,${slapd.peopleDn}` });
    for (const dn of [`cn=bg,${slapd.peopleDn}`, `CN=BG,OU=People,${slapd.suffix}`, `cn=ｂｇ,${slapd.peopleDn}`]) {
      for (const call of [() => wide.prestaged!.stage(dn, 'x'), () => wide.prestaged!.disable(dn), () => wide.prestaged!.rotate(dn, 'x'), () => wide.prestaged!.enable(dn, new Date())]) {
        expect((await thrown(call())).code, dn).toBe('validation');
      }
    }
    await wide.close();
  });

  it('fails closed where ppolicy would not lock: no policy → stage refused, no usable password left', async () => {
    const bare = await startSlapd({ defaultPolicy: 'none' });
    try {
      const c = connect(bare);
      const dn = `uid=nopolicy,${bare.peopleDn}`;
      const s = secret('nopolicy');
      const err = await thrown(c.prestaged!.stage(dn, s));
      expect(err.code).toBe('target_error');
      expect(err.message).toContain('does not enforce the ppolicy lock');
      expect(await login(bare, dn, s)).toBe('rejected');
      expect(await c.prestaged!.inspect(dn)).toMatchObject({ exists: true, canLogin: false });
      expect(await c.prestaged!.verify({ username: dn, password: s })).toBe('rejected');
      // Attaching a locking policy through the spec makes the same directory usable.
      await c.prestaged!.stage(dn, s, { dn, policyDn: bare.lockoutPolicyDn });
      expect(await login(bare, dn, s)).toBe('rejected');
      await c.prestaged!.enable(dn, new Date(Date.now() + 600_000));
      const session = await login(bare, dn, s);
      expect(session).not.toBe('rejected');
      if (session !== 'rejected') await session.close();
      await c.close();
    } finally {
      await bare.stop();
    }
  });

  it('still locks under a policy with pwdLockout FALSE (pwdEndTime is the second bar); refuses without the overlay', async () => {
    const lax = await startSlapd({ defaultPolicy: 'no-lockout' });
    const none = await startSlapd({ ppolicy: false });
    try {
      const c = connect(lax);
      const dn = `uid=lax,${lax.peopleDn}`;
      const s = secret('lax');
      await c.prestaged!.stage(dn, s);
      expect(await login(lax, dn, s)).toBe('rejected');
      await c.prestaged!.enable(dn, new Date(Date.now() + 600_000));
      expect(await login(lax, dn, s)).not.toBe('rejected');
      await c.prestaged!.disable(dn);
      expect(await login(lax, dn, s)).toBe('rejected');
      await c.close();

      const n = connect(none);
      const err = await thrown(n.prestaged!.stage(`uid=x,${none.peopleDn}`, secret('none')));
      expect(err.code).toBe('target_error');
      expect(err.message).toContain('undefinedAttributeType');
      expect(await n.prestaged!.inspect(`uid=x,${none.peopleDn}`)).toMatchObject({ exists: false });
      await n.close();
    } finally {
      await lax.stop();
      await none.stop();
    }
  });

  it('a wrong admin password is a target_error (49), not retryable', async () => {
    const wrong = createLdapConnector({ type: 'ldap', settings: { url: slapd.url, bindDn: slapd.adminDn, allowCleartext: true }, adminSecret: 'not-the-password' });
    const err = await thrown(wrong.prestaged!.inspect(person()));
    expect(err).toMatchObject({ code: 'target_error', retryable: false });
    expect(err.message).toContain('49');
    expect(utilInspect(err, { depth: 10 })).not.toContain('not-the-password');
    await wrong.close();
  });

  it('a closed, silent or stopped target gives a retryable target_unavailable within the timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      for (const port of [await closedPort(), silentPort]) {
        const down = createLdapConnector({ type: 'ldap', settings: { url: `ldap://127.0.0.1:${port}`, bindDn: slapd.adminDn, allowCleartext: true }, adminSecret: 'pw', timeoutMs: 1000 });
        const started = Date.now();
        const err = await thrown(down.prestaged!.disable(person()));
        expect(err).toMatchObject({ code: 'target_unavailable', retryable: true });
        expect(Date.now() - started).toBeLessThan(2500);
        await down.close();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
    const dn = person('outage');
    await ops.stage(dn, secret('before'));
    await slapd.pause();
    const s = secret('outage');
    try {
      const err = await thrown(ops.rotate(dn, s));
      expect(err).toMatchObject({ code: 'target_unavailable', retryable: true });
      expect(utilInspect(err, { depth: 10 })).not.toContain(s);
    } finally {
      await slapd.resume();
    }
    await ops.rotate(dn, s);
    expect(await ops.verify({ username: dn, password: s })).toBe('accepted');
  });

  it('cleartext: plain ldap:// is refused before any connection unless the target says allowCleartext: true', async () => {
    let connections = 0;
    const listener: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    const dn = person('clear');
    const s = secret('clear');
    try {
      for (const url of [`ldap://127.0.0.1:${port}`, slapd.url]) {
        const plain = createLdapConnector({ type: 'ldap', settings: { url, bindDn: slapd.adminDn, baseDn: slapd.peopleDn }, adminSecret: slapd.adminPassword });
        const p = plain.prestaged!;
        for (const call of [() => p.stage(dn, s), () => p.enable(dn, new Date(Date.now() + 60_000)), () => p.disable(dn), () => p.rotate(dn, s), () => p.verify({ username: dn, password: s }), () => p.inspect(dn)]) {
          const err = await thrown(call());
          expect(err).toMatchObject({ code: 'target_error', retryable: false });
          expect(err.message).toMatch(/without TLS.*ldaps:\/\/.*enable tls.*allowCleartext: true/);
        }
        await plain.close();
      }
      // Refused before the socket: nothing connected, and no entry was made on the real server.
      expect(connections).toBe(0);
      expect(await adminRead(slapd, dn, ['cn'])).toBeUndefined();
    } finally {
      await new Promise((r) => listener.close(r));
    }
    const allowed = connect(slapd, { allowCleartext: true });
    await allowed.prestaged!.stage(dn, s, { dn });
    expect(await allowed.prestaged!.verify({ username: dn, password: s })).toBe('accepted');
    await allowed.close();
  });

  it('tls: StartTLS against a directory without TLS is a clear, non-retryable target_error; the admin password is never sent', async () => {
    const binds = () => readFileSync(slapd.logFile, 'utf8').split('\n').filter((line) => line.includes(' BIND ')).length;
    const before = binds();
    const c = connect(slapd, { tls: true, allowCleartext: false });
    const err = await thrown(c.prestaged!.inspect(person()));
    expect(err).toMatchObject({ code: 'target_error', retryable: false });
    expect(err.message).toContain('refused StartTLS');
    expect(binds()).toBe(before);
    await c.close();
  });

  it('adopt: an entry someone else barred with ppolicy\'s administrator lock is inert and staged over without adopt', async () => {
    const dn = person('barred');
    const theirs = secret('barred');
    await slapdPlant(slapd, dn, theirs, { pwdAccountLockedTime: ['000001010000Z'] });
    const ours = secret('ours');
    await ops.stage(dn, ours, { dn });
    expect(await ops.verify({ username: dn, password: ours })).toBe('accepted');
    expect(await ops.verify({ username: dn, password: theirs })).toBe('rejected');
  });

  it('adopt: a lockout that may end by itself leaves a login: refused without adopt, and its password kept', async () => {
    const dn = person('lockedout');
    const theirs = secret('lockedout');
    await slapdPlant(slapd, dn, theirs, { pwdAccountLockedTime: [`${new Date().toISOString().slice(0, 19).replace(/[-T:]/g, '')}Z`] });
    const err = await thrown(ops.stage(dn, secret('taken'), { dn }));
    expect(err).toMatchObject({ code: 'conflict' });
    expect(err.message).toContain('a userPassword it can bind with now');
    expect(await ops.verify({ username: dn, password: theirs })).toBe('accepted');
  });

  it('adopt: a group with members and an entry with authzTo are refused naming what they have; adopt takes the person over', async () => {
    const group = `cn=grp-${unique()},${slapd.peopleDn}`;
    await slapdAdd(slapd, group, { objectClass: ['groupOfNames'], cn: [/^cn=([^,]+)/.exec(group)![1]!], member: [person('m1'), person('m2')] });
    const refusedAsItWas = async (dn: string, power: string) => {
      const asItWas = () => adminRead(slapd, dn, ['userPassword', 'pwdAccountLockedTime', 'pwdEndTime', 'member', 'authzTo']);
      const before = await asItWas();
      const err = await thrown(ops.stage(dn, secret('taken')));
      expect(err).toMatchObject({ code: 'conflict' });
      expect(err.message).toContain(power);
      expect(await asItWas()).toEqual(before);
    };
    await refusedAsItWas(group, '2 members');

    // No password at all, yet it may act as any identity through proxied authorization.
    const proxy = person('proxy');
    await slapdPlant(slapd, proxy, undefined, { authzTo: ['dn.regex:.*'] });
    await refusedAsItWas(proxy, 'authzTo');
    const ours = secret('proxy-ours');
    await ops.stage(proxy, ours, { dn: proxy }, { adopt: true });
    expect(await ops.verify({ username: proxy, password: ours })).toBe('accepted');
    expect(await login(slapd, proxy, ours)).toBe('rejected');
  });

  it.skipIf(memberOfCheck.skip)('adopt: membership of a group (memberOf overlay) is power even on an entry that cannot bind', async () => {
    const groups = await startSlapd({ memberOf: true });
    const c = connect(groups);
    try {
      const dn = `uid=member-${unique()},${groups.peopleDn}`;
      await slapdPlant(groups, dn, undefined);
      await slapdAdd(groups, `cn=admins,${groups.peopleDn}`, { objectClass: ['groupOfNames'], cn: ['admins'], member: [dn] });
      const err = await thrown(c.prestaged!.stage(dn, secret('member')));
      expect(err).toMatchObject({ code: 'conflict' });
      expect(err.message).toContain('membership of 1 group (memberOf)');
      await c.prestaged!.stage(dn, secret('member'), {}, { adopt: true });
      expect(await c.prestaged!.inspect(dn)).toMatchObject({ exists: true, canLogin: false });
    } finally {
      await c.close();
      await groups.stop();
    }
  });

  it('reserved: the bind DN is refused even when adopting, and Breakglass can still bind with it', async () => {
    for (const dn of [slapd.adminDn, slapd.adminDn.toUpperCase()]) {
      const err = await thrown(ops.stage(dn, secret('reserved'), {}, { adopt: true }));
      expect(err).toMatchObject({ code: 'validation' });
      expect(err.message).toContain('is reserved');
    }
    expect(await ops.inspect(person())).toMatchObject({ exists: false });
  });

  it('secret-in-logs: secrets never appear in errors, causes, or the server log', async () => {
    const s = secret('never-logged');
    const missing = person('missing');
    const err = await thrown(ops.rotate(missing, s));
    expect(err).toMatchObject({ code: 'target_error', retryable: false });
    expect(err.message).toContain('32');
    expect(utilInspect(err, { depth: 10 })).not.toContain(s);
    expect(JSON.stringify(err)).not.toContain(s);
    const log = readFileSync(slapd.logFile, 'utf8');
    expect(log).toContain('MOD attr=userPassword');
    for (const used of [...secrets, slapd.adminPassword]) expect(log).not.toContain(used);
  });
});

describe.skipIf(check.skip || tlsCheck.skip)('ldap connector over TLS (private slapd with a test CA)', () => {
  let slapd: TlsSlapd;
  const made: Connector[] = [];
  const over = (url: string, tls: unknown): Connector => {
    const settings = { url, bindDn: slapd.adminDn, baseDn: slapd.peopleDn, ...(tls === undefined ? {} : { tls }) };
    const c = createLdapConnector({ type: 'ldap', settings, adminSecret: slapd.adminPassword, timeoutMs: 3000 });
    made.push(c);
    return c;
  };
  const anyone = () => `uid=tls-${unique()},${slapd.peopleDn}`;

  beforeAll(async () => {
    slapd = await startTlsSlapd();
  });
  afterAll(async () => {
    await Promise.all(made.map((c) => c.close()));
    await slapd?.stop();
  });

  it('tls: StartTLS (ldap://) and ldaps://, verified against tls.caFile, carry stage, enable and disable without allowCleartext', async () => {
    for (const url of [slapd.url, slapd.ldapsUrl]) {
      const p = over(url, { caFile: slapd.caFile }).prestaged!;
      const dn = anyone();
      const s = `Tls-${unique()}`;
      await p.stage(dn, s, { dn });
      expect(await p.verify({ username: dn, password: s })).toBe('accepted');
      await p.enable(dn, new Date(Date.now() + 600_000));
      expect((await p.inspect(dn)).canLogin).toBe(true);
      await p.disable(dn);
      expect((await p.inspect(dn)).canLogin).toBe(false);
    }
    const log = readFileSync(slapd.logFile, 'utf8');
    expect(log).toContain('oid=1.3.6.1.4.1.1466.20037'); // the StartTLS request
    expect(log).toMatch(/TLS established/);
  });

  it('tls: a certificate that does not verify (wrong CA, system store, wrong name) is a clear, non-retryable target_error', async () => {
    const cases: [string, unknown][] = [
      [slapd.url, { caFile: slapd.wrongCaFile }],
      [slapd.ldapsUrl, { caFile: slapd.wrongCaFile }],
      [slapd.url, true],
      // ldaps:// without a tls setting is verified too, against Node's trust store.
      [slapd.ldapsUrl, undefined],
      [slapd.ldapsUrl, { caFile: slapd.caFile, servername: 'ldap.elsewhere.test' }],
    ];
    for (const [url, tls] of cases) {
      const err = await thrown(over(url, tls).prestaged!.inspect(anyone()));
      const label = `${url} ${JSON.stringify(tls)}`;
      expect(err, label).toMatchObject({ code: 'target_error', retryable: false });
      expect(err.message, label).toContain("TLS certificate did not verify");
      // A certificate for another name needs the name, not another CA.
      const named = typeof tls === 'object' && tls !== null && 'servername' in tls;
      expect(err.message, label).toContain(named ? 'tls.servername' : 'tls.caFile');
      expect(err.message, label).toContain('tls.verify: false');
      expect(utilInspect(err, { depth: 10 }), label).not.toContain(slapd.adminPassword);
    }
  });

  it('tls: verify: false connects to a certificate no configured CA vouches for', async () => {
    for (const url of [slapd.url, slapd.ldapsUrl]) {
      expect(await over(url, { verify: false }).prestaged!.inspect(anyone())).toMatchObject({ exists: false });
    }
  });

  it('tls: an unreadable caFile and tls: false on ldaps:// are refused when the connector is made', () => {
    const make = (url: string, tls: unknown) => () => over(url, tls);
    expect(make(slapd.url, { caFile: '/nonexistent/ca.pem' })).toThrow(/tls\.caFile cannot be read \(ENOENT\)/);
    expect(make(slapd.ldapsUrl, false)).toThrow(/ldaps:\/\/.*tls is false/);
    expect(make(slapd.url, { caFile: 'relative.pem' })).toThrow(AppError);
  });
});
