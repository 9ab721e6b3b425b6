/**
 * The admin side of one domain: admin binds (one connection per call, over ldaps://), the read of
 * a user entry, the two-step password reset, group membership edits, and the account's own bind
 * with the DC's sub-code. Why the reset takes two steps: ./README.md ("The previous password").
 */
import { Attribute, Change, PresenceFilter, ResultCodeError, type Client, type Entry } from 'ldapts';
import { AppError } from '../../errors/index.js';
import { newSecret } from '../lib/passwords.js';
import { createLdapAdmin } from '../ldap/ldap-admin.js';
import { sameDn, type ParsedDn } from '../ldap/ldap-dn.js';
import { LDAP_INVALID_CREDENTIALS, LDAP_NO_SUCH_OBJECT, resultCodeOf, resultText, toAppError } from '../ldap/ldap-errors.js';
import type { LdapTransport } from '../ldap/ldap-transport.js';
import { bindSubCode, bindVerdict, parseAdDn, parseFileTime, ridOf, UAC, unicodePwd } from './ad-names.js';

const LDAP_CONSTRAINT_VIOLATION = 19;
const LDAP_ATTRIBUTE_OR_VALUE_EXISTS = 20;
const LDAP_UNWILLING_TO_PERFORM = 53;
const LDAP_NO_SUCH_ATTRIBUTE = 16;
const ENTRY_ATTRIBUTES = ['objectClass', 'objectSid', 'userAccountControl', 'accountExpires', 'lockoutTime', 'description', 'memberOf', 'sAMAccountName'];

/** A user entry as the admin reads it. */
export interface AdEntry {
  readonly isUser: boolean;
  /** The RID of its objectSid: below 1000 it is one of the domain's built-in accounts. */
  readonly rid: number | undefined;
  readonly disabled: boolean;
  readonly uac: number;
  /** accountExpires; undefined when it never expires. */
  readonly expires: Date | undefined;
  readonly lockedOut: boolean;
  readonly description: string | undefined;
  readonly memberOf: readonly ParsedDn[];
}

/** The account's own bind: the verdict, and the DC's answer as a code (`ok`, `49/52e`, `49/533`). */
export interface BindAnswer {
  readonly verdict: 'accepted' | 'rejected';
  readonly passwordRight: boolean;
  readonly code: string;
}

export interface AdDirectory {
  /** Runs `work` on a connection bound as the admin; every failure becomes an AppError naming `op` and `dn`. */
  asAdmin<T>(op: string, dn: ParsedDn, secretBearing: boolean, work: (client: Client) => Promise<T>): Promise<T>;
  read(client: Client, dn: ParsedDn): Promise<AdEntry | undefined>;
  /** Resets the password twice (a throwaway first), so the DC keeps no usable previous password. */
  setPassword(client: Client, dn: ParsedDn, secret: string, op: string): Promise<void>;
  /** Makes the account's group memberships exactly `declared` (the primary group is not a membership). */
  setGroups(client: Client, dn: ParsedDn, declared: readonly ParsedDn[], current: readonly ParsedDn[], op: string): Promise<void>;
  /** A simple bind as `dn` on a connection of its own, unbound at once. */
  bind(dn: ParsedDn, password: string): Promise<BindAnswer>;
  close(): Promise<void>;
}

export const replace = (type: string, values: string[] | Buffer[]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

export function createAdDirectory(options: { transport: LdapTransport; bindDn: ParsedDn; adminSecret: string; timeoutMs: number }): AdDirectory {
  const admin = createLdapAdmin(options);
  const { transport, timeoutMs } = options;

  return {
    asAdmin: (op, dn, secretBearing, work) => admin.asAdmin({ op, dn: dn.text, secretBearing, system: 'ad' }, work),

    async read(client, dn) {
      let entries: Entry[];
      try {
        // Base scope on the exact DN and a fixed filter: no caller value ever reaches a filter.
        const result = await client.search(dn.text, {
          scope: 'base',
          filter: new PresenceFilter({ attribute: 'objectClass' }),
          attributes: ENTRY_ATTRIBUTES,
          explicitBufferAttributes: ['objectSid'],
        });
        entries = result.searchEntries;
      } catch (err) {
        if (resultCodeOf(err) === LDAP_NO_SUCH_OBJECT) return undefined;
        throw err;
      }
      const entry = entries[0];
      return entry === undefined ? undefined : toEntry(entry);
    },

    async setPassword(client, dn, secret, op) {
      // A DC keeps accepting the previous password for a while after a reset (Samba and Windows:
      // "old password allowed period", 60 minutes by default). Resetting to a throwaway first
      // makes the throwaway the previous one: the secret being replaced stops working at once.
      for (const value of [newSecret(), secret]) {
        try {
          await client.modify(dn.text, replace('unicodePwd', [unicodePwd(value)]));
        } catch (err) {
          if (resultCodeOf(err) === LDAP_CONSTRAINT_VIOLATION || resultCodeOf(err) === LDAP_UNWILLING_TO_PERFORM) {
            throw new AppError('target_error', `ad ${op} of ${JSON.stringify(dn.text)}: the domain refused the new password (${resultText(resultCodeOf(err)!)}); ` +
              'check the domain password policy (minimum length above 32, history) and that the connection is ldaps://', { cause: { code: resultCodeOf(err) }, retryable: false });
          }
          throw err;
        }
      }
    },

    async setGroups(client, dn, declared, current, op) {
      const add = declared.filter((group) => !current.some((held) => sameDn(held, group)));
      const remove = current.filter((held) => !declared.some((group) => sameDn(held, group)));
      for (const group of add) await member(client, 'add', group, dn, op);
      for (const group of remove) await member(client, 'delete', group, dn, op);
    },

    async bind(dn, password) {
      let client: Client | undefined;
      try {
        client = transport.client(timeoutMs);
        await transport.secure(client, timeoutMs);
        await client.bind(dn.text, password);
        return { verdict: 'accepted', passwordRight: true, code: 'ok' };
      } catch (err) {
        if (err instanceof ResultCodeError && err.code === LDAP_INVALID_CREDENTIALS) {
          const sub = bindSubCode(err.message);
          const code = `49/${sub ?? 'none'}`;
          const verdict = bindVerdict(sub);
          if (verdict === 'undecided') return { verdict: 'rejected', passwordRight: false, code };
          return { verdict: 'rejected', passwordRight: verdict === 'right-password', code };
        }
        throw toAppError(err, { op: 'login', dn: dn.text, secretBearing: true, system: 'ad' });
      } finally {
        await client?.unbind().catch(() => undefined);
      }
    },

    close: () => admin.close(),
  };
}

/** Adds the account to a group's `member`, or removes it; "already so" is success. */
async function member(client: Client, operation: 'add' | 'delete', group: ParsedDn, dn: ParsedDn, op: string): Promise<void> {
  try {
    await client.modify(group.text, new Change({ operation, modification: new Attribute({ type: 'member', values: [dn.text] }) }));
  } catch (err) {
    const code = resultCodeOf(err);
    if (operation === 'add' && code === LDAP_ATTRIBUTE_OR_VALUE_EXISTS) return;
    if (operation === 'delete' && (code === LDAP_NO_SUCH_ATTRIBUTE || code === LDAP_UNWILLING_TO_PERFORM)) return;
    if (code === LDAP_NO_SUCH_OBJECT) {
      throw new AppError('target_error', `ad ${op} of ${JSON.stringify(dn.text)}: the group ${JSON.stringify(group.text)} does not exist on the domain; fix the account's groups`, { retryable: false });
    }
    throw err;
  }
}

function toEntry(entry: Entry): AdEntry {
  const values = (name: string): (string | Buffer)[] => {
    const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
    const value = key === undefined ? undefined : entry[key];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  const first = (name: string) => values(name)[0]?.toString();
  const uac = Number.parseInt(first('userAccountControl') ?? '0', 10) || 0;
  const sid = values('objectSid')[0];
  const lockout = first('lockoutTime');
  return {
    isUser: values('objectClass').some((v) => v.toString().toLowerCase() === 'user'),
    rid: ridOf(Buffer.isBuffer(sid) ? sid : undefined),
    uac,
    disabled: (uac & UAC.ACCOUNTDISABLE) !== 0,
    expires: parseFileTime(first('accountExpires')),
    lockedOut: lockout !== undefined && lockout !== '0',
    description: first('description'),
    // The DC writes memberOf itself; a value that does not parse is not ours to compare.
    memberOf: values('memberOf').flatMap((v) => {
      try {
        return [parseAdDn(v.toString(), 'memberOf')];
      } catch {
        return [];
      }
    }),
  };
}
