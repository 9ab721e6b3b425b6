/**
 * Pre-staged LDAP directory accounts (OpenLDAP with the ppolicy overlay): a standing entry kept
 * locked with a sealed `{SSHA}` secret, unlocked with a native `pwdEndTime` for the grant, then
 * locked again and rotated.
 */
import type { AccountInspection, AccountSpec, Credential, DetailedVerify, PrestagedOperations, VerifyResult } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { takeOverCheck } from './ldap-adopt.js';
import { lockChanges, readAccount, replace, type LdapAdmin } from './ldap-admin.js';
import type { ParsedDn } from './ldap-dn.js';
import { LDAP_NO_SUCH_OBJECT, resultCodeOf } from './ldap-errors.js';
import { declaredGroups, giveExactly, groupDifferences, groupsListing } from './ldap-groups.js';
import { checkSecret, generalizedTime, newEntry, parseAccountSpec } from './ldap-names.js';
import { checkPassword } from './ssha.js';
import { requireValidUntil } from '../lib/valid-until.js';

/** The account a principal names; `mutating` refuses the bind DN itself. */
export type AccountOf = (principal: string, mutating: boolean) => ParsedDn;

/**
 * `baseDn` is where group memberships are looked for when the directory's root DSE does not
 * name the naming context that holds an account (ldap-groups.ts).
 */
export function ldapPrestaged(admin: LdapAdmin, account: AccountOf, baseDn?: ParsedDn): PrestagedOperations {
  const { asAdmin } = admin;
  return {
    async stage(principal, secret, spec, options) {
      const dn = account(principal, true);
      checkSecret(secret);
      const { policyDn, groups } = parseAccountSpec(spec, dn);
      const extra = policyDn === undefined ? [] : [replace('pwdPolicySubentry', [policyDn.text])];
      // issue 12 (LDAP group memberships): every declared group is checked before anything is written.
      // The groups that list the entry count as its power too (without the memberof overlay, the
      // entry itself does not show them).
      const membership = { op: 'stage', dn: dn.text, secretBearing: false };
      const { declared, listed } = await asAdmin(membership, async (client) => ({
        declared: groups === undefined ? undefined : await declaredGroups(client, dn, groups),
        listed: await groupsListing(client, dn, baseDn),
      }));
      // The entry is read and checked before anything is written to it (ldap-adopt.ts).
      const create = { entry: newEntry(dn), mayTakeOver: takeOverCheck(dn, options?.adopt ?? false, Date.now, groups, listed) };
      await admin.setSecretLocked('stage', dn, secret, create, extra);
      // Locked before it joins a group: the memberships give nothing until a grant unlocks it.
      if (declared !== undefined) await asAdmin(membership, (client) => giveExactly(client, dn, declared, baseDn));
    },

    async enable(principal, validUntil) {
      const dn = account(principal, true);
      requireValidUntil('ldap', validUntil);
      await asAdmin({ op: 'enable', dn: dn.text, secretBearing: false }, (client) =>
        client.modify(dn.text, [
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
      await asAdmin({ op: 'disable', dn: dn.text, secretBearing: false }, async (client) => {
        try {
          await client.modify(dn.text, lockChanges());
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
      await admin.setSecretLocked('rotate', dn, newSecret, undefined, []);
    },

    async verify(credential): Promise<VerifyResult> {
      return (await verifyDetailed(credential)).verdict;
    },

    // issue 12 (P2): a locked entry fails every bind with 49 (invalidCredentials), right password
    // or not, so the code says what settled it: the stored userPassword matched or not.
    verifyDetailed,

    async tryLogin(credential): Promise<VerifyResult> {
      const dn = account(credential.username, false);
      // An empty password would be an anonymous bind that "succeeds" (RFC 4513 §5.1.2).
      if (typeof credential.password !== 'string' || credential.password === '') return 'rejected';
      // ppolicy answers 49 to a locked entry (pwdAccountLockedTime) or one past its pwdEndTime,
      // right password or not: unlike `verify`, this proves the entry may log in now.
      return admin.tryBind(dn, credential.password);
    },

    async inspect(principal: string, spec?: AccountSpec): Promise<AccountInspection> {
      const dn = account(principal, false);
      // issue 12 (LDAP group memberships): compared only when the spec declares `groups`.
      const groups = spec === undefined ? undefined : parseAccountSpec(spec, dn).groups;
      const failure = { op: 'inspect', dn: dn.text, secretBearing: false };
      const entry = await asAdmin(failure, (client) => readAccount(client, dn));
      if (entry === undefined) return { exists: false, canLogin: false, validUntil: undefined, sessions: 0 };
      const differences = groups === undefined ? undefined : await asAdmin(failure, (client) => groupDifferences(client, dn, groups, baseDn));
      // The server's clock decides at bind; ours is the best stand-in a read can offer.
      const now = Date.now();
      const canLogin = entry.passwords.length > 0 && !entry.locked &&
        (entry.end === undefined || entry.end.getTime() > now) && (entry.start === undefined || entry.start.getTime() <= now);
      // sessions: 0 — LDAP has no operation to end another client's bind (counting them would
      // need cn=monitor, which a directory rarely exposes to this DN, and could not act on it).
      const seen = { exists: true, canLogin, validUntil: entry.end, sessions: 0 };
      return differences === undefined ? seen : { ...seen, privilegeDifferences: differences };
    },
  };

  async function verifyDetailed(credential: Credential): Promise<DetailedVerify> {
    const dn = account(credential.username, false);
    // An empty password makes a simple bind anonymous (RFC 4513 §5.1.2): never a right secret.
    if (typeof credential.password !== 'string' || credential.password === '') return { verdict: 'rejected', code: 'empty' };
    const entry = await asAdmin({ op: 'verify', dn: dn.text, secretBearing: true }, (client) => readAccount(client, dn));
    const checks = (entry?.passwords ?? []).map((stored) => checkPassword(stored, credential.password));
    if (checks.includes('match')) return { verdict: 'accepted', code: 'stored-hash-match' };
    if (checks.includes('unsupported')) {
      throw new AppError('target_error', `ldap verify of ${JSON.stringify(dn.text)}: userPassword uses a hash scheme Breakglass cannot check; rotate it`);
    }
    return { verdict: 'rejected', code: entry === undefined ? 'no-such-object' : 'stored-hash-mismatch' };
  }
}
