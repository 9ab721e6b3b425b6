/**
 * Pre-staged Active Directory accounts: a standing user kept disabled (ACCOUNTDISABLE) and
 * expired, holding exactly its declared groups (e.g. Domain Admins) and a sealed password;
 * enabled for a grant with `accountExpires` = the grant's end; disabled, expired and reset after.
 */
import type { AccountInspection, AccountSpec, Credential, DetailedVerify, PrestagedOperations, VerifyResult } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import type { ParsedDn } from '../ldap/ldap-dn.js';
import { checkAccount, checkTakeOver, groupDifferences, prestagedSpecOf, PRESTAGED_MARK, type Scope } from './ad-accounts.js';
import { replace, type AdDirectory, type AdEntry } from './ad-directory.js';
import { EXPIRED, fileTime, samAccountNameFor, UAC, unicodePwd } from './ad-names.js';
import { requireValidUntil } from '../lib/valid-until.js';

/** Disabled and expired; other bits kept, except "no password required". */
const disabledUac = (uac: number) => ((uac | UAC.ACCOUNTDISABLE | UAC.NORMAL_ACCOUNT) & ~UAC.PASSWD_NOTREQD) >>> 0;
const disableChanges = (entry: AdEntry) => [replace('userAccountControl', [String(disabledUac(entry.uac))]), replace('accountExpires', [EXPIRED])];

/** Can the entry log in now, as far as a read can tell (the DC's clock decides at bind)? */
export function canLogIn(entry: AdEntry, now: number): boolean {
  return !entry.disabled && !entry.lockedOut && (entry.expires === undefined || entry.expires.getTime() > now);
}

export function adPrestaged(directory: AdDirectory, scope: Scope): PrestagedOperations {
  const account = (principal: string, mutating: boolean) => checkAccount(principal, mutating, scope);

  async function verifyDetailed(credential: Credential): Promise<DetailedVerify> {
    const dn = account(credential.username, false);
    // An empty password makes a simple bind anonymous (RFC 4513 §5.1.2): never a right secret.
    if (typeof credential.password !== 'string' || credential.password === '') return { verdict: 'rejected', code: 'empty' };
    const answer = await directory.bind(dn, credential.password);
    if (answer.verdict === 'accepted' || answer.passwordRight) return { verdict: 'accepted', code: answer.code };
    if (answer.code === '49/52e' || answer.code === '49/525') return { verdict: 'rejected', code: answer.code };
    throw new AppError('target_error', `ad verify of ${JSON.stringify(dn.text)}: the domain controller refused the bind without saying whether the password was right (${answer.code}; 775 is a locked-out account: unlock it)`, { retryable: false });
  }

  return {
    async stage(principal, secret, spec, options) {
      const dn = account(principal, true);
      unicodePwd(secret);
      const declared = prestagedSpecOf(spec, dn, scope);
      const groups = declared.groups ?? [];
      await directory.asAdmin('stage', dn, true, async (client) => {
        let entry = await directory.read(client, dn);
        if (entry === undefined) {
          await client.add(dn.text, {
            objectClass: ['top', 'person', 'organizationalPerson', 'user'],
            sAMAccountName: samAccountNameFor(dn, declared.samAccountName),
            userAccountControl: String(UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE),
            accountExpires: EXPIRED,
            description: PRESTAGED_MARK,
          });
          entry = await directory.read(client, dn);
          if (entry === undefined) throw new AppError('target_error', `ad stage of ${JSON.stringify(dn.text)}: the entry is missing right after it was added`);
        } else {
          checkTakeOver(dn, entry, groups, options?.adopt ?? false, Date.now());
        }
        // Disabled before the password changes: an adopted login never works with the new one.
        await client.modify(dn.text, [...disableChanges(entry), replace('description', [PRESTAGED_MARK])]);
        await directory.setPassword(client, dn, secret, 'stage');
        await directory.setGroups(client, dn, groups, entry.memberOf, 'stage');
      });
    },

    async enable(principal, validUntil) {
      const dn = account(principal, true);
      requireValidUntil('ad', validUntil);
      await directory.asAdmin('enable', dn, false, async (client) => {
        const entry = await read(client, dn, 'enable');
        // accountExpires first: the moment the account is enabled it already ends with the grant.
        await client.modify(dn.text, replace('accountExpires', [fileTime(validUntil)]));
        await client.modify(dn.text, [
          replace('userAccountControl', [String(((entry.uac & ~UAC.ACCOUNTDISABLE & ~UAC.PASSWD_NOTREQD) | UAC.NORMAL_ACCOUNT) >>> 0)]),
          // A lockout left by someone guessing would keep the responder out.
          replace('lockoutTime', ['0']),
        ]);
      });
    },

    async disable(principal) {
      const dn = account(principal, true);
      await directory.asAdmin('disable', dn, false, async (client) => {
        const entry = await directory.read(client, dn);
        // Revocation converges: an entry that does not exist cannot bind either.
        if (entry === undefined) return;
        await client.modify(dn.text, disableChanges(entry));
      });
      // LDAP binds and Kerberos tickets already made are not visible to an LDAP client: nothing is
      // counted. The KDC refuses the disabled account new service tickets and renewals (README).
    },

    async rotate(principal, newSecret) {
      const dn = account(principal, true);
      unicodePwd(newSecret);
      await directory.asAdmin('rotate', dn, true, async (client) => {
        const entry = await read(client, dn, 'rotate');
        await client.modify(dn.text, disableChanges(entry));
        await directory.setPassword(client, dn, newSecret, 'rotate');
      });
    },

    async verify(credential): Promise<VerifyResult> {
      return (await verifyDetailed(credential)).verdict;
    },

    // The DC checks the password before the account's state and says which failed ("data 52e":
    // wrong password; "data 533": right password, account disabled): a real bind proves both ways.
    verifyDetailed,

    async tryLogin(credential): Promise<VerifyResult> {
      const dn = account(credential.username, false);
      if (typeof credential.password !== 'string' || credential.password === '') return 'rejected';
      return (await directory.bind(dn, credential.password)).verdict;
    },

    async inspect(principal: string, spec?: AccountSpec): Promise<AccountInspection> {
      const dn = account(principal, false);
      const declared = spec === undefined ? undefined : prestagedSpecOf(spec, dn, scope).groups;
      const entry = await directory.asAdmin('inspect', dn, false, (client) => directory.read(client, dn));
      if (entry === undefined) return { exists: false, canLogin: false, validUntil: undefined, sessions: 0 };
      return {
        exists: true,
        canLogin: canLogIn(entry, Date.now()),
        validUntil: entry.expires,
        // sessions: 0 — neither LDAP binds nor Kerberos tickets of the account are visible to LDAP.
        sessions: 0,
        ...(declared === undefined ? {} : { privilegeDifferences: groupDifferences(declared, entry.memberOf) }),
      };
    },
  };

  async function read(client: Parameters<Parameters<AdDirectory['asAdmin']>[3]>[0], dn: ParsedDn, op: string): Promise<AdEntry> {
    const entry = await directory.read(client, dn);
    if (entry === undefined) throw new AppError('target_error', `ad ${op} of ${JSON.stringify(dn.text)}: no such account on the domain; stage it first (breakglass apply)`, { retryable: false });
    return entry;
  }
}
