/**
 * Ephemeral Active Directory users: one per grant, created enabled in the account's `ou` with its
 * declared groups and `accountExpires` = the grant's end (the DC enforces it by itself), and
 * deleted at the end (the DC drops its group memberships with it).
 */
import type { AccountInspection, EphemeralOperations, IssueRequest, RevealedCredential, VerifyResult } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { newSecret } from '../lib/passwords.js';
import { formatDn, type ParsedDn } from '../ldap/ldap-dn.js';
import { LDAP_NO_SUCH_OBJECT, resultCodeOf } from '../ldap/ldap-errors.js';
import { ephemeralSpecOf, grantMark, type Scope } from './ad-accounts.js';
import { replace, type AdDirectory } from './ad-directory.js';
import { canLogIn } from './ad-prestaged.js';
import { dnsDomainOf, ephemeralName, fileTime, UAC, unicodePwd } from './ad-names.js';

type Request = Omit<IssueRequest, 'validUntil'>;

export function adEphemeral(directory: AdDirectory, scope: Scope): EphemeralOperations {
  /** The grant's user: its DN in the account's `ou`, its sAMAccountName, and what it is allowed. */
  function userOf(request: Request) {
    const { groups, ou } = ephemeralSpecOf(request.spec, scope);
    const name = ephemeralName(request.grantId);
    const rdns = [{ type: 'cn', value: name }, ...ou.rdns];
    const dn: ParsedDn = { rdns, text: formatDn(rdns.map((rdn) => ({ type: rdn.type.toUpperCase(), value: rdn.value }))) };
    return { dn, name, groups, mark: grantMark(request.grantId) };
  }

  /** Deletes the grant's user if it is there; refuses to touch a same-named entry that is not the grant's. */
  async function remove(client: Parameters<Parameters<AdDirectory['asAdmin']>[3]>[0], user: ReturnType<typeof userOf>, op: string): Promise<void> {
    const entry = await directory.read(client, user.dn);
    if (entry === undefined) return;
    if (entry.description !== user.mark) {
      throw new AppError('conflict', `ad ${op}: an entry ${JSON.stringify(user.dn.text)} exists and was not created for this grant; it is left alone`);
    }
    try {
      await client.del(user.dn.text);
    } catch (err) {
      if (resultCodeOf(err) !== LDAP_NO_SUCH_OBJECT) throw err;
    }
  }

  return {
    async issue(request): Promise<RevealedCredential> {
      const user = userOf(request);
      const until = request.validUntil;
      if (!(until instanceof Date) || !(until.getTime() > Date.now())) throw new AppError('validation', 'ad issue: validUntil must be in the future', { path: 'validUntil' });
      const password = newSecret();
      const domain = dnsDomainOf(user.dn);
      const upn = domain === undefined ? undefined : `${user.name}@${domain}`;
      await directory.asAdmin('issue', user.dn, true, async (client) => {
        // A retry replaces what an earlier attempt left half made.
        await remove(client, user, 'issue');
        await client.add(user.dn.text, {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          sAMAccountName: user.name,
          ...(upn === undefined ? {} : { userPrincipalName: upn }),
          // Created disabled, so it is never usable before its expiry and password are in place.
          userAccountControl: String(UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE),
          accountExpires: fileTime(until),
          description: user.mark,
        });
        try {
          await client.modify(user.dn.text, replace('unicodePwd', [unicodePwd(password)]));
          await directory.setGroups(client, user.dn, user.groups, [], 'issue');
          await client.modify(user.dn.text, replace('userAccountControl', [String(UAC.NORMAL_ACCOUNT)]));
        } catch (err) {
          await client.del(user.dn.text).catch(() => undefined);
          throw err;
        }
      });
      // The userPrincipalName binds over LDAP, takes a Kerberos ticket and logs on to Windows as it
      // is typed; the API reveals exactly {username, password}.
      return { username: upn ?? user.name, password };
    },

    async revoke(request) {
      const user = userOf(request);
      await directory.asAdmin('revoke', user.dn, false, (client) => remove(client, user, 'revoke'));
    },

    async inspectIssued(request): Promise<AccountInspection> {
      const user = userOf(request);
      const entry = await directory.asAdmin('inspect', user.dn, false, (client) => directory.read(client, user.dn));
      if (entry === undefined || entry.description !== user.mark) return { exists: false, canLogin: false, validUntil: undefined, sessions: 0 };
      return { exists: true, canLogin: canLogIn(entry, Date.now()), validUntil: entry.expires, sessions: 0 };
    },

    async tryLoginIssued(request, credential): Promise<VerifyResult> {
      const user = userOf(request);
      const password = credential['password'];
      if (typeof password !== 'string' || password === '') return 'rejected';
      return (await directory.bind(user.dn, password)).verdict;
    },

    async extendIssued(request) {
      const user = userOf(request);
      await directory.asAdmin('extend', user.dn, false, async (client) => {
        const entry = await directory.read(client, user.dn);
        if (entry === undefined || entry.description !== user.mark) throw new AppError('target_error', `ad extend: the grant's user ${JSON.stringify(user.dn.text)} is not on the domain`, { retryable: false });
        await client.modify(user.dn.text, replace('accountExpires', [fileTime(request.validUntil)]));
      });
    },
  };
}
