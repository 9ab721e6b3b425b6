/**
 * The admin side of one directory: a small pool of connections bound as `bindDn`
 * (lib/connection-pool.ts), reused across calls; binds as an account on connections of their own; the locked secret write with its proof on the server; the read of an account's
 * password values and ppolicy state. Why this lock, and what the target needs: ./README.md.
 */
import { Attribute, Change, PresenceFilter, type Client, type Entry } from 'ldapts';
import { AppError } from '../../errors/index.js';
import { createConnectionPool, DEFAULT_POOL_IDLE_MS, DEFAULT_POOL_MAX, type PoolStats } from '../lib/connection-pool.js';
import { newSecret } from '../lib/passwords.js';
import type { ParsedDn } from './ldap-dn.js';
import { LDAP_ALREADY_EXISTS, LDAP_INVALID_CREDENTIALS, LDAP_NO_SUCH_OBJECT, resultCodeOf, toAppError, type Failure } from './ldap-errors.js';
import { parseGeneralizedTime } from './ldap-names.js';
import type { LdapTransport } from './ldap-transport.js';
import { sshaHash } from './ssha.js';
import { POWER_ATTRIBUTES, type LdapAccount, type TakeOverCheck } from './ldap-account.js';

export type { LdapAccount, TakeOverCheck } from './ldap-account.js';

/** ppolicy's "locked until an administrator unlocks it" value (slapo-ppolicy(5)). */
const LOCKED_FOREVER = '000001010000Z';
/** A pwdEndTime long past: the second, independent bar (enforced even with pwdLockout FALSE). */
const ENDED = '19700101000000Z';
/** Attributes that give an entry power of its own besides binding (see ldap-adopt.ts). */
const ACCOUNT_ATTRIBUTES = ['userPassword', 'pwdAccountLockedTime', 'pwdEndTime', 'pwdStartTime', ...POWER_ATTRIBUTES];

/** An account's password values, ppolicy state and power attributes, as read by the admin. */

/** What stage creates, and what it checks before writing to an entry that is already there. */
export interface Creation {
  readonly entry: Record<string, string[]>;
  readonly mayTakeOver: TakeOverCheck;
}

export const replace = (type: string, values: string[]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
export const lockChanges = () => [replace('pwdAccountLockedTime', [LOCKED_FOREVER]), replace('pwdEndTime', [ENDED])];

export interface LdapConnection {
  readonly transport: LdapTransport;
  readonly bindDn: ParsedDn;
  readonly adminSecret: string;
  readonly timeoutMs: number;
  /** issue 13 (pool): admin connections kept at most (default 4). */
  readonly poolMax?: number;
}

export interface LdapAdmin {
  /** Runs `work` on a connection bound as the admin; every failure becomes an AppError. */
  readonly asAdmin: <T>(failure: Failure, work: (client: Client) => Promise<T>) => Promise<T>;
  /**
   * Writes `secret` so that the entry is locked before, during and after, proven on the server.
   * With `create`, a missing entry is added, and an existing one must pass `create.mayTakeOver`.
   */
  setSecretLocked(op: string, dn: ParsedDn, secret: string, create: Creation | undefined, extra: Change[]): Promise<void>;
  /**
   * A simple bind as `dn` on a connection of its own (TLS first, as for the admin), unbound at
   * once: `rejected` on invalidCredentials (49), which is also how ppolicy refuses a locked or
   * ended entry; any other failure throws.
   */
  tryBind(dn: ParsedDn, password: string): Promise<'accepted' | 'rejected'>;
  close(): Promise<void>;
  /** issue 13 (pool): the admin connections open, idle and waited for. */
  poolStats(): PoolStats;
}

/** The admin bind (or the connection before it) failed: classified as the bind, secret-bearing. */
class BindFailed extends Error {
  constructor(readonly reason: unknown) {
    super('ldap admin bind failed');
  }
}

export function createLdapAdmin({ transport, bindDn, adminSecret, timeoutMs, poolMax = DEFAULT_POOL_MAX }: LdapConnection): LdapAdmin {
  const open = new Set<Client>();

  async function release(client: Client): Promise<void> {
    open.delete(client);
    await client.unbind().catch(() => undefined);
  }

  /** A connection ready for a bind: TLS is up (or cleartext allowed) before any password goes. */
  async function newClient(): Promise<Client> {
    const client = transport.client(timeoutMs);
    open.add(client);
    try {
      await transport.secure(client, timeoutMs);
    } catch (err) {
      await release(client);
      throw err;
    }
    return client;
  }

  // issue 13 (pool): admin connections, bound once as `bindDn` and reused across operations. A
  // connection the directory closed (idle timeout, restart) reports itself not connected.
  const pool = createConnectionPool<Client>({
    max: poolMax,
    idleMs: DEFAULT_POOL_IDLE_MS,
    async open() {
      let client: Client | undefined;
      try {
        client = await newClient();
        await client.bind(bindDn.text, adminSecret);
        return client;
      } catch (err) {
        if (client !== undefined) await release(client);
        throw new BindFailed(err);
      }
    },
    close: release,
    alive: (client) => client.isConnected,
    lost: (err, client) => err instanceof AppError && err.retryable && !client.isConnected,
    busy: (waited) => new AppError('target_unavailable', `ldap target: all ${poolMax} admin connections stayed busy for ${waited} ms`, { retryable: true }),
    closed: () => new AppError('target_unavailable', 'ldap target: the connector was closed (its settings changed, or the server is stopping)', { retryable: true }),
  });

  async function asAdmin<T>(failure: Failure, work: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await pool.use(async (client) => {
        try {
          return await work(client);
        } catch (err) {
          throw toAppError(err, failure);
        }
      }, timeoutMs);
    } catch (err) {
      if (err instanceof BindFailed) throw toAppError(err.reason, { ...failure, adminBind: bindDn.text, secretBearing: true });
      throw toAppError(err, failure);
    }
  }

  /**
   * Proves on the server that the entry, as written, refuses a bind with its right password.
   * ppolicy enforces nothing unless a policy applies to the entry (and pwdAccountLockedTime only
   * with pwdLockout TRUE): a directory without one would otherwise let "disabled" accounts in.
   * The throwaway `probe` secret is what crosses the wire, never the real one.
   */
  async function proveLocked(admin: Client, dn: ParsedDn, probe: string, op: string): Promise<void> {
    let client: Client | undefined;
    try {
      client = await newClient();
      await client.bind(dn.text, probe);
    } catch (err) {
      if (resultCodeOf(err) === LDAP_INVALID_CREDENTIALS) return;
      throw toAppError(err, { op: `${op} (lock check)`, dn: dn.text, secretBearing: true });
    } finally {
      if (client !== undefined) await release(client);
    }
    // Fail closed: without a password the entry cannot bind at all.
    await admin.modify(dn.text, replace('userPassword', []));
    throw new AppError(
      'target_error',
      `ldap ${op} of ${JSON.stringify(dn.text)}: the directory does not enforce the ppolicy lock on this entry ` +
        '(it needs a password policy: olcPPolicyDefault or spec.policyDn); its password was removed',
    );
  }

  return {
    asAdmin,

    /**
     * Bars the entry with a throwaway password, proves the bar, then stores the real hash and
     * locks again. ppolicy deletes pwdAccountLockedTime whenever an administrator changes the
     * password (even one set in the same modify), so the lock is written after the password;
     * pwdEndTime, which a password change leaves alone, bars the entry in between.
     */
    async setSecretLocked(op, dn, secret, create, extra) {
      const probe = newSecret();
      await asAdmin({ op, dn: dn.text, secretBearing: true }, async (admin) => {
        const probeChanges = [replace('userPassword', [sshaHash(probe)]), ...lockChanges(), ...extra];
        if (create === undefined || !(await added(admin, dn, create, probeChanges))) await admin.modify(dn.text, probeChanges);
        await proveLocked(admin, dn, probe, op);
        await admin.modify(dn.text, replace('userPassword', [sshaHash(secret)]));
        await admin.modify(dn.text, lockChanges());
      });
    },

    async tryBind(dn, password) {
      let client: Client | undefined;
      try {
        client = await newClient();
        await client.bind(dn.text, password);
        return 'accepted';
      } catch (err) {
        if (resultCodeOf(err) === LDAP_INVALID_CREDENTIALS) return 'rejected';
        throw toAppError(err, { op: 'login', dn: dn.text, secretBearing: true });
      } finally {
        if (client !== undefined) await release(client);
      }
    },

    async close() {
      await pool.close();
      await Promise.all([...open].map((client) => release(client)));
    },

    poolStats: () => pool.stats(),
  };
}

/**
 * Adds the entry when it is missing; false when it exists and may be taken over (also when
 * someone made it between the read and the add: it is read and checked again then).
 */
async function added(admin: Client, dn: ParsedDn, create: Creation, changes: Change[]): Promise<boolean> {
  const existing = await readAccount(admin, dn);
  if (existing !== undefined) {
    create.mayTakeOver(existing);
    return false;
  }
  const attributes = { ...create.entry };
  for (const change of changes) attributes[change.modification.type] = change.modification.values as string[];
  try {
    await admin.add(dn.text, attributes);
    return true;
  } catch (err) {
    if (resultCodeOf(err) !== LDAP_ALREADY_EXISTS) throw err;
    const raced = await readAccount(admin, dn);
    if (raced !== undefined) create.mayTakeOver(raced);
    return false;
  }
}

/** Reads the account's password values and ppolicy state; undefined when the entry is missing. */
export async function readAccount(admin: Client, dn: ParsedDn): Promise<LdapAccount | undefined> {
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
  const lockedAt = first('pwdAccountLockedTime');
  return {
    passwords: values('userPassword').map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'))),
    locked: lockedAt !== undefined,
    lockedForever: lockedAt === LOCKED_FOREVER,
    start: parseGeneralizedTime(first('pwdStartTime')),
    end: parseGeneralizedTime(first('pwdEndTime')),
    powers: Object.fromEntries(POWER_ATTRIBUTES.map((name) => [name, values(name).length])) as LdapAccount['powers'],
    memberOf: values('memberOf').map((v) => v.toString()),
  };
}
