/**
 * A private Samba Active Directory domain controller for the AD connector's tests: provisioned
 * into a temp dir (`samba-tool domain provision`, realm BGTEST.LOCAL, no DNS), serving LDAPS
 * (with a certificate from a throw-away CA) and Kerberos on a loopback address of its own
 * (127.x.y.z, so its fixed ports 636 and 88 are free whatever else runs), and killed with its
 * dir at the end. Samba refuses to run a DC except as root: elsewhere the suite skips (fails in CI).
 *
 * @example
 *   const dc = await startSambaDc();
 *   // createAdConnector({ type: 'ad', settings: { url: dc.url, bindDn: dc.adminDn, baseDn: dc.baseDn, caFile: dc.caFile }, adminSecret: dc.adminPassword })
 *   await dc.stop();
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change, Client } from 'ldapts';
import { hasExecutable, probeTcp } from './integration.js';
import { startPrivateProcess } from './private-process.js';
import { makeTestCertificates } from './test-certs.js';

const run = promisify(execFile);
const SAMBA = '/usr/sbin/samba';
const SAMBA_TOOL = '/usr/bin/samba-tool';

export interface SambaDc {
  /** The DC's loopback address (127.x.y.z). */
  readonly address: string;
  readonly url: string;
  readonly realm: string;
  readonly baseDn: string;
  readonly usersDn: string;
  readonly domainAdminsDn: string;
  readonly adminDn: string;
  readonly adminPassword: string;
  /** PEM of the CA that signed the DC's certificate. */
  readonly caFile: string;
  /** PEM of a CA that signed nothing here. */
  readonly otherCaFile: string;
  /** A krb5.conf naming this DC as the realm's KDC (for kinit/kvno in tests). */
  readonly krb5Conf: string;
  readonly dir: string;
  /** A client bound as the domain's Administrator over verified LDAPS; unbind it after use. */
  admin(): Promise<Client>;
  stop(): Promise<void>;
}

/** Can this machine run a Samba DC (samba and samba-tool installed, and we are root)? */
export const sambaAvailable = (): boolean => process.getuid?.() === 0 && hasExecutable(SAMBA) && hasExecutable(SAMBA_TOOL);
/** Are the MIT Kerberos clients there (kinit, kvno)? */
export const kerberosClientsAvailable = (): boolean => hasExecutable('/usr/bin/kinit') && hasExecutable('/usr/bin/kvno');

/** A loopback address nothing listens on at 636 (tried a few times). */
async function freeLoopbackAddress(): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const octet = () => 1 + Math.floor(Math.random() * 254);
    const address = `127.${octet()}.${octet()}.${octet()}`;
    if (!(await probeTcp(address, 636, 200)) && !(await probeTcp(address, 88, 200))) return address;
  }
  throw new Error('no free loopback address for the Samba DC');
}

export async function startSambaDc(): Promise<SambaDc> {
  const address = await freeLoopbackAddress();
  const realm = 'BGTEST.LOCAL';
  const baseDn = 'DC=bgtest,DC=local';
  const adminPassword = `Adm1n-${Math.random().toString(36).slice(2, 12)}-Pw`;
  let certs: ReturnType<typeof makeTestCertificates> | undefined;
  const conf = (dir: string) => join(dir, 'etc', 'smb.conf');

  const proc = await startPrivateProcess({
    name: 'samba (AD DC)',
    tempPrefix: 'bg-samba-',
    readyWithinMs: 120_000,
    async prepare(dir) {
      certs = makeTestCertificates(dir, [address]);
      chmodSync(certs.serverKey, 0o600);
      const options = {
        interfaces: `${address}/8`,
        'bind interfaces only': 'yes',
        'server services': 'ldap kdc',
        'tls enabled': 'yes',
        'tls keyfile': certs.serverKey,
        'tls certfile': certs.serverCert,
        'tls cafile': certs.caFile,
        'log file': join(dir, 'samba.log'),
        'pid directory': dir,
        'ncalrpc dir': join(dir, 'ncalrpc'),
      };
      await run(SAMBA_TOOL, [
        'domain', 'provision', `--realm=${realm}`, '--domain=BGTEST', '--server-role=dc', '--dns-backend=NONE',
        `--adminpass=${adminPassword}`, `--targetdir=${dir}`, '--host-name=dc1',
        ...Object.entries(options).map(([key, value]) => `--option=${key}=${value}`),
      ], { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
      writeFileSync(join(dir, 'krb5.conf'), [
        '[libdefaults]', `  default_realm = ${realm}`, '  dns_lookup_kdc = false', '  dns_lookup_realm = false', '',
        '[realms]', `  ${realm} = {`, `    kdc = ${address}:88`, '  }', '',
      ].join('\n'));
    },
    spawn: (dir) => spawn(SAMBA, ['-i', '-M', 'single', '-s', conf(dir)], { stdio: 'ignore' }),
    ready: () => probeTcp(address, 636, 200),
  });

  const url = `ldaps://${address}:636`;
  const adminDn = `CN=Administrator,CN=Users,${baseDn}`;
  const caFile = certs!.caFile;
  return {
    address,
    url,
    realm,
    baseDn,
    usersDn: `CN=Users,${baseDn}`,
    domainAdminsDn: `CN=Domain Admins,CN=Users,${baseDn}`,
    adminDn,
    adminPassword,
    caFile,
    otherCaFile: certs!.otherCaFile,
    krb5Conf: join(proc.dir, 'krb5.conf'),
    dir: proc.dir,
    async admin() {
      const { readFileSync } = await import('node:fs');
      const client = new Client({ url, timeout: 10_000, connectTimeout: 10_000, tlsOptions: { ca: [readFileSync(caFile)] } });
      await client.bind(adminDn, adminPassword);
      return client;
    },
    stop: () => proc.stop(),
  };
}

/** unicodePwd's encoding: the password in double quotes, UTF-16LE. */
export const adPassword = (password: string) => Buffer.from(`"${password}"`, 'utf16le');

/** Adds an enabled user with `password` directly on the DC, as someone other than Breakglass would. */
export async function plantAdUser(dc: SambaDc, dn: string, sam: string, password: string, groups: readonly string[] = []): Promise<void> {
  const client = await dc.admin();
  try {
    await client.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: sam, userAccountControl: '514' });
    await client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [adPassword(password)] }) }));
    await client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['512'] }) }));
    for (const group of groups) await client.modify(group, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** The DC's answer to a simple bind as `dn`: `ok`, or the sub-code of result 49 (`52e`, `533`, …). */
export async function adBind(dc: SambaDc, dn: string, password: string): Promise<string> {
  const { readFileSync } = await import('node:fs');
  const client = new Client({ url: dc.url, timeout: 10_000, connectTimeout: 10_000, tlsOptions: { ca: [readFileSync(dc.caFile)] } });
  try {
    await client.bind(dn, password);
    return 'ok';
  } catch (err) {
    return /data ([0-9a-f]+)/i.exec(String((err as Error).message))?.[1] ?? String((err as Error).message);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** `kinit` (password on stdin) and `kvno` against this DC in a private credential cache; the exit code and output. */
export async function kerberos(dc: SambaDc, cache: string, args: readonly string[], stdin?: string): Promise<{ code: number; output: string }> {
  const [command, ...rest] = args;
  return new Promise((resolve) => {
    const child = spawn(command!, rest, { env: { ...process.env, KRB5_CONFIG: dc.krb5Conf, KRB5CCNAME: `FILE:${cache}` }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // A command that exits before reading its stdin (kvno; kinit refusing at once) closes the
    // pipe: the write fails with EPIPE, which is not the answer — its exit code and output are.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}
