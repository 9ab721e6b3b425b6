/**
 * Pre-staged LDAP directory accounts (OpenLDAP with the ppolicy overlay): a standing entry kept
 * locked with a sealed `{SSHA}` secret, unlocked with a native `pwdEndTime` for the grant, then
 * locked again and rotated. Why this lock, and what the target needs: ./README.md.
 */
import { randomBytes } from 'node:crypto';
import { Attribute, Change, Client, PresenceFilter, type Entry } from 'ldapts';
import { z } from 'zod';
import type {
  AccountInspection,
  AccountSpec,
  Connector,
  ConnectorCapabilities,
  ConnectorDriver,
  PrestagedOperations,
  TargetConnection,
  VerifyResult,
} from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { isStrictlyUnder, mayAlias, parseDn, sameDn, type ParsedDn } from './ldap-dn.js';
import { LDAP_ALREADY_EXISTS, LDAP_INVALID_CREDENTIALS, LDAP_NO_SUCH_OBJECT, resultCodeOf, toAppError, type Failure } from './ldap-errors.js';
import { checkPassword, sshaHash } from './ssha.js';

const DEFAULT_TIMEOUT_MS = 5000;
/** ppolicy's "locked until an administrator unlocks it" value (slapo-ppolicy(5)). */
const LOCKED_FOREVER = '000001010000Z';
/** A pwdEndTime long past: the second, independent bar (enforced even with pwdLockout FALSE). */
const ENDED = '19700101000000Z';
/** The leaf RDN types an account may be named by; anything else (ou=, dc=) is not an account. */
const ACCOUNT_RDN_TYPES = new Set(['cn', 'uid']);
const ACCOUNT_ATTRIBUTES = ['userPassword', 'pwdAccountLockedTime', 'pwdEndTime', 'pwdStartTime'];

const settingsSchema = z.strictObject({
  url: z.string().regex(/^ldaps?:\/\/[^/?#\s]+\/?$/, 'must be ldap://host:port or ldaps://host:port'),
  bindDn: z.string().min(1),
  baseDn: z.string().min(1).optional(),
});

const specSchema = z.strictObject({
  dn: z.string().optional(),
  /** A pwdPolicy entry to attach as pwdPolicySubentry (when the directory default does not lock). */
  policyDn: z.string().optional(),
});

const capabilities: ConnectorCapabilities = Object.freeze({
  // A simple bind lives as long as its connection, and no LDAP operation lets an administrator
  // close another client's connection: a session opened during the grant outlives disable.
  supportsSessionKill: false,
  supportsNativeExpiry: true,
  supportsPrestaged: true,
  supportsEphemeral: false,
});

interface Account {
  readonly passwords: readonly Buffer[];
  readonly locked: boolean;
  readonly start: Date | undefined;
  readonly end: Date | undefined;
}

const replace = (type: string, values: string[]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
const lockChanges = () => [replace('pwdAccountLockedTime', [LOCKED_FOREVER]), replace('pwdEndTime', [ENDED])];

/**
 * Creates the connector for one directory. Nothing connects until the first call; every call
 * opens its own connection, binds as `bindDn`, and unbinds.
 *
 * @example
 *   const dir = createLdapConnector({
 *     type: 'ldap',
 *     settings: { url: 'ldap://ldap.internal:389', bindDn: 'cn=breakglass,ou=system,dc=corp', baseDn: 'ou=people,dc=corp' },
 *     adminSecret: unsealedBindPassword,
 *   });
 *   await dir.prestaged?.enable('uid=oncall-root,ou=people,dc=corp', new Date(Date.now() + 3_600_000));
 */
export function createLdapConnector(target: TargetConnection): Connector {
  const { url, bindDn, baseDn, adminSecret, timeoutMs } = parseTarget(target);
  const open = new Set<Client>();

  /** A principal Breakglass may act on: a valid DN under baseDn, named cn= or uid=. */
  function account(principal: string, mutating: boolean): ParsedDn {
    const dn = parseDn(principal, 'principal');
    const leaf = dn.rdns[0];
    if (leaf === undefined || !ACCOUNT_RDN_TYPES.has(leaf.type)) {
      throw new AppError('validation', 'ldap account DN must be named by cn= or uid=', { path: 'principal' });
    }
    if (baseDn !== undefined && !isStrictlyUnder(dn, baseDn)) {
      throw new AppError('validation', `ldap account DN ${JSON.stringify(dn.text)} is not under baseDn`, { path: 'principal' });
    }
    // Locking the entry Breakglass binds as would lock it out of the directory.
    if (mutating && mayAlias(dn, bindDn)) throw new AppError('validation', 'ldap account DN is the connector bind DN', { path: 'principal' });
    return dn;
  }

  function newClient(): Client {
    const client = new Client({ url, timeout: timeoutMs, connectTimeout: timeoutMs });
    open.add(client);
    return client;
  }

  async function release(client: Client): Promise<void> {
    open.delete(client);
    await client.unbind().catch(() => undefined);
  }

  /** Runs `work` on a connection bound as the admin; every failure becomes an AppError. */
  async function asAdmin<T>(failure: Failure, work: (client: Client) => Promise<T>): Promise<T> {
    const client = newClient();
    try {
      try {
        await client.bind(bindDn.text, adminSecret);
      } catch (err) {
        throw toAppError(err, { ...failure, adminBind: bindDn.text, secretBearing: true });
      }
      try {
        return await work(client);
      } catch (err) {
        throw toAppError(err, failure);
      }
    } finally {
      await release(client);
    }
  }

  /**
   * Proves on the server that the entry, as written, refuses a bind with its right password.
   * ppolicy enforces nothing unless a policy applies to the entry (and pwdAccountLockedTime only
   * with pwdLockout TRUE): a directory without one would otherwise let "disabled" accounts in.
   * The throwaway `probe` secret is what crosses the wire, never the real one.
   */
  async function proveLocked(admin: Client, dn: ParsedDn, probe: string, op: string): Promise<void> {
    const client = newClient();
    try {
      await client.bind(dn.text, probe);
    } catch (err) {
      if (resultCodeOf(err) === LDAP_INVALID_CREDENTIALS) return;
      throw toAppError(err, { op: `${op} (lock check)`, dn: dn.text, secretBearing: true });
    } finally {
      await release(client);
    }
    // Fail closed: without a password the entry cannot bind at all.
    await admin.modify(dn.text, replace('userPassword', []));
    throw new AppError(
      'target_error',
      `ldap ${op} of ${JSON.stringify(dn.text)}: the directory does not enforce the ppolicy lock on this entry ` +
        '(it needs a password policy: olcPPolicyDefault or spec.policyDn); its password was removed',
    );
  }

  /**
   * Bars the entry with a throwaway password, proves the bar, then stores the real hash and
   * locks again. ppolicy deletes pwdAccountLockedTime whenever an administrator changes the
   * password (even one set in the same modify), so the lock is written after the password;
   * pwdEndTime, which a password change leaves alone, bars the entry in between.
   */
  async function setSecretLocked(op: string, dn: ParsedDn, secret: string, create: Record<string, string[]> | undefined, extra: Change[]) {
    const probe = randomBytes(24).toString('base64url');
    await asAdmin({ op, dn: dn.text, secretBearing: true }, async (admin) => {
      const probeChanges = [replace('userPassword', [sshaHash(probe)]), ...lockChanges(), ...extra];
      if (create === undefined || !(await added(admin, dn, create, probeChanges))) await admin.modify(dn.text, probeChanges);
      await proveLocked(admin, dn, probe, op);
      await admin.modify(dn.text, replace('userPassword', [sshaHash(secret)]));
      await admin.modify(dn.text, lockChanges());
    });
  }

  /** Adds the entry when it is missing; false when it exists (also when a racing stage made it). */
  async function added(admin: Client, dn: ParsedDn, create: Record<string, string[]>, changes: Change[]): Promise<boolean> {
    if ((await readAccount(admin, dn)) !== undefined) return false;
    const attributes = { ...create };
    for (const change of changes) attributes[change.modification.type] = change.modification.values as string[];
    try {
      await admin.add(dn.text, attributes);
      return true;
    } catch (err) {
      if (resultCodeOf(err) === LDAP_ALREADY_EXISTS) return false;
      throw err;
    }
  }

  const prestaged: PrestagedOperations = {
    async stage(principal, secret, spec) {
      const dn = account(principal, true);
      checkSecret(secret);
      const policyDn = specPolicy(spec, dn);
      const extra = policyDn === undefined ? [] : [replace('pwdPolicySubentry', [policyDn.text])];
      await setSecretLocked('stage', dn, secret, newEntry(dn), extra);
    },

    async enable(principal, validUntil) {
      const dn = account(principal, true);
      if (!(validUntil instanceof Date) || Number.isNaN(validUntil.getTime())) {
        throw new AppError('validation', 'ldap enable needs a valid validUntil date', { path: 'validUntil' });
      }
      await asAdmin({ op: 'enable', dn: dn.text, secretBearing: false }, (admin) =>
        admin.modify(dn.text, [
          replace('pwdAccountLockedTime', []),
          replace('pwdEndTime', [generalizedTime(validUntil)]),
          replace('pwdStartTime', []),
          // A policy with pwdMustChange would confine the responder to changing the password.
          replace('pwdReset', []),
        ]),
      );
    },

    async disable(principal) {
      const dn = account(principal, true);
      await asAdmin({ op: 'disable', dn: dn.text, secretBearing: false }, async (admin) => {
        try {
          await admin.modify(dn.text, lockChanges());
        } catch (err) {
          // Revocation converges: an entry that does not exist cannot bind either.
          if (resultCodeOf(err) !== LDAP_NO_SUCH_OBJECT) throw err;
        }
      });
      // Connections bound before the lock keep their identity: ppolicy acts at bind time only.
    },

    async rotate(principal, newSecret) {
      const dn = account(principal, true);
      checkSecret(newSecret);
      await setSecretLocked('rotate', dn, newSecret, undefined, []);
    },

    async verify(credential): Promise<VerifyResult> {
      const dn = account(credential.username, false);
      // An empty password makes a simple bind anonymous (RFC 4513 §5.1.2): never a right secret.
      if (typeof credential.password !== 'string' || credential.password === '') return 'rejected';
      const entry = await asAdmin({ op: 'verify', dn: dn.text, secretBearing: true }, (admin) => readAccount(admin, dn));
      const checks = (entry?.passwords ?? []).map((stored) => checkPassword(stored, credential.password));
      if (checks.includes('match')) return 'accepted';
      if (checks.includes('unsupported')) {
        throw new AppError('target_error', `ldap verify of ${JSON.stringify(dn.text)}: userPassword uses a hash scheme Breakglass cannot check; rotate it`);
      }
      return 'rejected';
    },

    async inspect(principal): Promise<AccountInspection> {
      const dn = account(principal, false);
      const entry = await asAdmin({ op: 'inspect', dn: dn.text, secretBearing: false }, (admin) => readAccount(admin, dn));
      if (entry === undefined) return { exists: false, canLogin: false, validUntil: undefined, sessions: 0 };
      // The server's clock decides at bind; ours is the best stand-in a read can offer.
      const now = Date.now();
      const canLogin = entry.passwords.length > 0 && !entry.locked &&
        (entry.end === undefined || entry.end.getTime() > now) && (entry.start === undefined || entry.start.getTime() <= now);
      // sessions: 0 — LDAP has no operation to end another client's bind (counting them would
      // need cn=monitor, which a directory rarely exposes to this DN, and could not act on it).
      return { exists: true, canLogin, validUntil: entry.end, sessions: 0 };
    },
  };

  return {
    capabilities,
    prestaged,
    async close() {
      await Promise.all([...open].map((client) => release(client)));
    },
  };
}

export const ldapDriver: ConnectorDriver = { create: createLdapConnector };

/** Settings, admin secret and timeout, checked once at construction. */
function parseTarget(target: TargetConnection) {
  const parsed = settingsSchema.safeParse(target.settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('validation', `ldap target settings are invalid: ${issue?.message ?? 'unknown'}`, {
      path: `settings.${issue?.path.join('.') ?? ''}`,
    });
  }
  const bindDn = parseDn(parsed.data.bindDn, 'settings.bindDn');
  const baseDn = parsed.data.baseDn === undefined ? undefined : parseDn(parsed.data.baseDn, 'settings.baseDn');
  const adminSecret = target.adminSecret;
  if (adminSecret === undefined || adminSecret === '') {
    throw new AppError('validation', 'ldap target has no admin secret', { path: 'adminSecret' });
  }
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new AppError('validation', 'ldap target timeoutMs must be a positive integer', { path: 'timeoutMs' });
  }
  return { url: parsed.data.url, bindDn, baseDn, adminSecret, timeoutMs };
}

/** The account spec: `{dn?, policyDn?}`; `dn`, when given, must name the principal. */
function specPolicy(spec: AccountSpec | undefined, dn: ParsedDn): ParsedDn | undefined {
  const parsedSpec = specSchema.safeParse(spec ?? {});
  if (!parsedSpec.success) {
    const issue = parsedSpec.error.issues[0];
    throw new AppError('validation', `ldap account spec is invalid: ${issue?.message ?? 'unknown'}`, { path: `spec.${issue?.path.join('.') ?? ''}` });
  }
  if (parsedSpec.data.dn !== undefined && !sameDn(parseDn(parsedSpec.data.dn, 'spec.dn'), dn)) {
    throw new AppError('validation', 'ldap spec.dn does not match the principal', { path: 'spec.dn' });
  }
  return parsedSpec.data.policyDn === undefined ? undefined : parseDn(parsedSpec.data.policyDn, 'spec.policyDn');
}

/** The entry stage creates: an inetOrgPerson whose cn/sn (and uid) come from the RDN. */
function newEntry(dn: ParsedDn): Record<string, string[]> {
  const leaf = dn.rdns[0];
  if (leaf === undefined) throw new AppError('validation', 'ldap DN is empty', { path: 'principal' });
  const entry: Record<string, string[]> = { objectClass: ['inetOrgPerson'], cn: [leaf.value], sn: [leaf.value] };
  if (leaf.type === 'uid') entry['uid'] = [leaf.value];
  return entry;
}

/** Reads the account's password values and ppolicy state; undefined when the entry is missing. */
async function readAccount(admin: Client, dn: ParsedDn): Promise<Account | undefined> {
  let entries: Entry[];
  try {
    // Base scope on the exact DN and a fixed filter: no caller value ever reaches a filter.
    const result = await admin.search(dn.text, {
      scope: 'base',
      filter: new PresenceFilter({ attribute: 'objectClass' }),
      attributes: ACCOUNT_ATTRIBUTES,
      explicitBufferAttributes: ['userPassword'],
    });
    entries = result.searchEntries;
  } catch (err) {
    if (resultCodeOf(err) === LDAP_NO_SUCH_OBJECT) return undefined;
    throw err;
  }
  const entry = entries[0];
  if (entry === undefined) return undefined;
  const values = (name: string): (string | Buffer)[] => {
    const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
    const value = key === undefined ? undefined : entry[key];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  const first = (name: string) => values(name)[0]?.toString();
  return {
    passwords: values('userPassword').map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'))),
    locked: first('pwdAccountLockedTime') !== undefined,
    start: parseGeneralizedTime(first('pwdStartTime')),
    end: parseGeneralizedTime(first('pwdEndTime')),
  };
}

function checkSecret(secret: string): void {
  // An empty password is an anonymous bind; NUL cannot be typed at most LDAP clients.
  if (typeof secret !== 'string' || secret === '' || secret.includes('\0')) {
    throw new AppError('validation', 'ldap secret must be a non-empty string without NUL', { path: 'secret' });
  }
}

/** GeneralizedTime in UTC, truncated to the second so the grant never ends late. */
function generalizedTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-T:]/g, '')}Z`;
}

function parseGeneralizedTime(text: string | undefined): Date | undefined {
  const m = text === undefined ? null : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,](\d+))?Z$/.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * 1000);
  const date = new Date(Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms));
  // Date.UTC maps years 0–99 to 1900–1999; set the year on its own.
  date.setUTCFullYear(Number(y));
  return Number.isNaN(date.getTime()) ? undefined : date;
}
