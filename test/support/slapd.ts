/**
 * A private, throw-away OpenLDAP server for integration tests: `/usr/sbin/slapd` in the
 * foreground on 127.0.0.1 and a free port, an mdb database under `dc=example,dc=test` loaded with
 * `slapadd`, the ppolicy overlay, and a random rootdn password. Never a system service; removed
 * on stop (and on process exit, so a crashed suite leaves no slapd behind).
 *
 * @example
 *   const check = await requireService('OpenLDAP slapd (/usr/sbin/slapd)', slapdAvailable);
 *   let slapd: Slapd;
 *   beforeAll(async () => { slapd = await startSlapd(); });
 *   afterAll(async () => { await slapd?.stop(); });
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, ResultCodeError, type Entry } from 'ldapts';
// issue 12 (LDAP group memberships)
import { Attribute, Change, EqualityFilter, OrFilter } from 'ldapts';
import { sshaHash } from '../../src/connectors/ldap/ssha.js';
import type { LoginResult } from '../conformance/connector-conformance.js';
import { probeTcp } from './integration.js';

export interface Slapd {
  readonly url: string;
  /** `ldaps://127.0.0.1:<port>` when started with `tls`; `url` then offers StartTLS too. */
  readonly ldapsUrl: string | undefined;
  readonly suffix: string;
  /** `ou=people,<suffix>`: where test accounts live. */
  readonly peopleDn: string;
  /** pwdPolicy entries: `cn=lockout` (pwdLockout TRUE) and `cn=no-lockout` (FALSE). */
  readonly lockoutPolicyDn: string;
  readonly noLockoutPolicyDn: string;
  readonly adminDn: string;
  readonly adminPassword: string;
  /** slapd's stats log (`-d 256`): tests can assert a secret never reached it. */
  readonly logFile: string;
  /** Stops the server and deletes everything. */
  stop(): Promise<void>;
  /** Stops the server, keeping its data: the "target is down" state. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port. */
  resume(): Promise<void>;
}

export interface SlapdOptions {
  /** Load the ppolicy overlay at all (default true). */
  readonly ppolicy?: boolean;
  /** The policy every entry gets without its own pwdPolicySubentry (default 'lockout'). */
  readonly defaultPolicy?: 'lockout' | 'no-lockout' | 'none';
  /** PEM files for TLS: StartTLS on `url`, and a second listener on `ldapsUrl`. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Load the memberof overlay: groupOfNames members get `memberOf` (default false). */
  readonly memberOf?: boolean;
}

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const MODULES = '/usr/lib/ldap';
const SCHEMA = '/etc/ldap/schema';
const SUFFIX = 'dc=example,dc=test';

/** Can this machine run a private slapd with the modules the tests need? */
export function slapdAvailable(): boolean {
  return [SLAPD, SLAPADD, join(MODULES, 'back_mdb.so'), join(MODULES, 'ppolicy.so'), join(SCHEMA, 'inetorgperson.schema')].every((path) =>
    existsSync(path),
  );
}

/** Can this slapd also run the memberof overlay? */
export const slapdHasMemberOf = (): boolean => slapdAvailable() && existsSync(join(MODULES, 'memberof.so'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function config(root: string, adminPassword: string, options: SlapdOptions): string {
  const policy = options.defaultPolicy ?? 'lockout';
  return [
    ...['core', 'cosine', 'inetorgperson'].map((s) => `include ${join(SCHEMA, `${s}.schema`)}`),
    `modulepath ${MODULES}`,
    'moduleload back_mdb',
    options.ppolicy === false ? '' : 'moduleload ppolicy',
    options.memberOf === true ? 'moduleload memberof' : '',
    ...(options.tls === undefined ? [] : [`TLSCertificateFile ${options.tls.certFile}`, `TLSCertificateKeyFile ${options.tls.keyFile}`]),
    `pidfile ${join(root, 'slapd.pid')}`,
    `argsfile ${join(root, 'slapd.args')}`,
    'database mdb',
    'maxsize 33554432',
    `suffix "${SUFFIX}"`,
    `rootdn "cn=admin,${SUFFIX}"`,
    `rootpw ${sshaHash(adminPassword)}`,
    `directory ${join(root, 'db')}`,
    options.ppolicy === false ? '' : 'overlay ppolicy',
    options.ppolicy === false || policy === 'none' ? '' : `ppolicy_default "cn=${policy},ou=policies,${SUFFIX}"`,
    options.memberOf === true ? 'overlay memberof' : '',
    '',
  ].join('\n');
}

const BASE_LDIF = `dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,${SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=policies,${SUFFIX}
objectClass: organizationalUnit
ou: policies
`;

/** pwdPolicy entries need the overlay's schema, so they only exist when it is loaded. */
const POLICY_LDIF = ['lockout', 'no-lockout'].map((name) => `
dn: cn=${name},ou=policies,${SUFFIX}
objectClass: device
objectClass: pwdPolicy
cn: ${name}
pwdAttribute: userPassword
pwdLockout: ${name === 'lockout' ? 'TRUE' : 'FALSE'}
pwdMaxFailure: 0
`).join('');

function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 30_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${file} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts a private slapd; see the module comment. */
export async function startSlapd(options: SlapdOptions = {}): Promise<Slapd> {
  const root = mkdtempSync(join(tmpdir(), 'bg-slapd-'));
  const confFile = join(root, 'slapd.conf');
  const ldifFile = join(root, 'base.ldif');
  const logFile = join(root, 'slapd.log');
  const adminPassword = randomBytes(18).toString('base64url');
  mkdirSync(join(root, 'db'), { mode: 0o700 });
  writeFileSync(confFile, config(root, adminPassword, options), { mode: 0o600 });
  writeFileSync(ldifFile, BASE_LDIF + (options.ppolicy === false ? '' : POLICY_LDIF));

  let child: ChildProcess | undefined;
  let port = 0;
  let tlsPort = 0;
  const kill = () => {
    child?.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', kill);

  const launch = async () => {
    const log = openSync(logFile, 'a');
    // -d 256 (stats) keeps slapd in the foreground and logs operations, never attribute values.
    const urls = [`ldap://127.0.0.1:${port}/`, ...(options.tls === undefined ? [] : [`ldaps://127.0.0.1:${tlsPort}/`])];
    child = spawn(SLAPD, ['-h', urls.join(' '), '-f', confFile, '-d', '256'], { stdio: ['ignore', log, log] });
    closeSync(log);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}; see ${logFile}`);
      if ((await probeTcp('127.0.0.1', port, 200)) && (options.tls === undefined || (await probeTcp('127.0.0.1', tlsPort, 200)))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('slapd did not start listening within 10 s');
  };
  const halt = async () => {
    if (child === undefined) return;
    child.kill('SIGTERM');
    if (!(await exited(child, 5_000))) {
      child.kill('SIGKILL');
      await exited(child, 5_000);
    }
  };

  try {
    await run(SLAPADD, ['-f', confFile, '-l', ldifFile]);
    // The free port can be taken between probing and binding; try a fresh one a few times.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      tlsPort = options.tls === undefined ? 0 : await freePort();
      try {
        await launch();
        break;
      } catch (err) {
        await halt();
        if (attempt >= 3) throw err;
      }
    }
  } catch (err) {
    process.removeListener('exit', kill);
    kill();
    throw err;
  }

  return {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: options.tls === undefined ? undefined : `ldaps://127.0.0.1:${tlsPort}`,
    suffix: SUFFIX,
    peopleDn: `ou=people,${SUFFIX}`,
    lockoutPolicyDn: `cn=lockout,ou=policies,${SUFFIX}`,
    noLockoutPolicyDn: `cn=no-lockout,ou=policies,${SUFFIX}`,
    adminDn: `cn=admin,${SUFFIX}`,
    adminPassword,
    logFile,
    async stop() {
      process.removeListener('exit', kill);
      await halt();
      rmSync(root, { recursive: true, force: true });
    },
    pause: halt,
    resume: launch,
  };
}

/** A real simple bind as the account, the way a responder's LDAP client logs in. */
export async function slapdLogin(slapd: Slapd, dn: string, password: string): Promise<LoginResult> {
  const client = new Client({ url: slapd.url, timeout: 3000, connectTimeout: 3000 });
  try {
    await client.bind(dn, password);
  } catch (err) {
    await client.unbind().catch(() => undefined);
    if (err instanceof ResultCodeError && err.code === 49) return 'rejected';
    throw err;
  }
  return {
    async alive() {
      try {
        // A base-scope read of the root DSE on the bound connection.
        await client.search('', { scope: 'base', attributes: ['namingContexts'] });
        return true;
      } catch {
        return false;
      }
    },
    close: () => client.unbind().catch(() => undefined),
  };
}

/** The raw entry as the rootdn sees it (userPassword as a Buffer); undefined when missing. */
export async function slapdRead(slapd: Slapd, dn: string, attributes: string[]): Promise<Entry | undefined> {
  const client = new Client({ url: slapd.url, timeout: 3000 });
  try {
    await client.bind(slapd.adminDn, slapd.adminPassword);
    const res = await client.search(dn, { scope: 'base', attributes, explicitBufferAttributes: ['userPassword'] });
    return res.searchEntries[0];
  } catch (err) {
    if (err instanceof ResultCodeError && err.code === 32) return undefined;
    throw err;
  } finally {
    await client.unbind();
  }
}

/** Adds an entry as the rootdn, the way someone other than Breakglass would. */
export async function slapdAdd(slapd: Slapd, dn: string, attributes: Record<string, string[]>): Promise<void> {
  const client = new Client({ url: slapd.url, timeout: 3000 });
  try {
    await client.bind(slapd.adminDn, slapd.adminPassword);
    await client.add(dn, attributes);
  } finally {
    await client.unbind();
  }
}

/** A person entry someone else made: it can bind with `password` now (when given), plus `extra`. */
export function slapdPlant(slapd: Slapd, dn: string, password: string | undefined, extra: Record<string, string[]> = {}): Promise<void> {
  // The naming attribute must hold the RDN value (plain test names only: no escapes).
  const [, type = 'cn', leaf = 'planted'] = /^(cn|uid)=([^,\\]+),/i.exec(dn) ?? [];
  return slapdAdd(slapd, dn, {
    objectClass: ['inetOrgPerson'],
    cn: [leaf],
    sn: [leaf],
    ...(type.toLowerCase() === 'uid' ? { uid: [leaf] } : {}),
    ...(password === undefined ? {} : { userPassword: [sshaHash(password)] }),
    ...extra,
  });
}

// issue 12 (LDAP group memberships): groups planted and read as the rootdn, the way someone
// other than Breakglass would.

/** `ou=groups,<suffix>`, made once per server; where the group tests keep their groups. */
export async function slapdGroupsOu(slapd: Slapd): Promise<string> {
  const ou = `ou=groups,${slapd.suffix}`;
  if ((await slapdRead(slapd, ou, ['ou'])) === undefined) await slapdAdd(slapd, ou, { objectClass: ['organizationalUnit'], ou: ['groups'] });
  return ou;
}

/** A groupOfNames (`member`) or groupOfUniqueNames (`uniqueMember`) with `members`; `cn` is its RDN value. */
export function slapdAddGroup(slapd: Slapd, dn: string, cn: string, members: string[], kind: 'groupOfNames' | 'groupOfUniqueNames' = 'groupOfNames'): Promise<void> {
  const attribute = kind === 'groupOfNames' ? 'member' : 'uniqueMember';
  return slapdAdd(slapd, dn, { objectClass: [kind], cn: [cn], [attribute]: members });
}

/** Adds or deletes one value of a group's member attribute by hand. */
export async function slapdSetMember(slapd: Slapd, group: string, operation: 'add' | 'delete', attribute: 'member' | 'uniqueMember', value: string): Promise<void> {
  const client = new Client({ url: slapd.url, timeout: 3000 });
  try {
    await client.bind(slapd.adminDn, slapd.adminPassword);
    await client.modify(group, new Change({ operation, modification: new Attribute({ type: attribute, values: [value] }) }));
  } finally {
    await client.unbind();
  }
}

/** The groups (lowercased DNs, sorted) whose `member` or `uniqueMember` lists `dn`, read as the rootdn. */
export async function slapdGroupsOf(slapd: Slapd, dn: string): Promise<string[]> {
  const client = new Client({ url: slapd.url, timeout: 3000 });
  try {
    await client.bind(slapd.adminDn, slapd.adminPassword);
    const filter = new OrFilter({ filters: ['member', 'uniqueMember'].map((attribute) => new EqualityFilter({ attribute, value: dn })) });
    const res = await client.search(slapd.suffix, { scope: 'sub', filter, attributes: ['1.1'] });
    return res.searchEntries.map((entry) => entry.dn.toLowerCase()).sort();
  } finally {
    await client.unbind();
  }
}
