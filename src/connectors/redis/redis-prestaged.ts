/**
 * Pre-staged Redis users: a standing ACL user kept `off` with a sealed secret, switched `on` for
 * a grant, then `off` with its clients killed and its password replaced. Redis has no expiry on
 * users, so the grant's end is enforced by Breakglass calling `disable`, not by the server.
 */
import { randomBytes } from 'node:crypto';
import type { AccountInspection, AccountSpec, Credential, DetailedVerify, PrestagedOperations, VerifyResult } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { unadoptedLogin } from '../lib/adopt.js';
import type { AdminSession, RedisAdmin } from './redis-admin.js';
import { checkDate, checkMutableUser, checkSecret, checkUser, hashedPasswordRule, matchesStoredHash } from './redis-names.js';
import { parsePrestagedSpec } from './redis-rules.js';

async function mustExist(session: AdminSession, op: string, user: string): Promise<void> {
  if ((await session.getUser(user)) === undefined) {
    // ACL SETUSER would silently create it: a user nobody staged is not ours to make up here.
    throw new AppError('target_error', `redis ${op} of user ${JSON.stringify(user)} failed: no such user (stage it first)`);
  }
}

/**
 * What an existing user has that staging would take from whoever uses it now: the right to log
 * in (`on` with a password or `nopass`) and clients connected as it. Its permissions are not
 * counted: `reset` replaces them with the account's rules, so nothing of them is taken over, and
 * a user Breakglass staged (`off`, no clients) is restaged without adopt.
 */
async function powersOf(session: AdminSession, user: string): Promise<string[]> {
  const found = await session.inspect(user);
  const powers: string[] = [];
  if (found.canLogin) powers.push('login rights (on, with a password or nopass)');
  if (found.sessions > 0) powers.push(`${found.sessions} connected client${found.sessions === 1 ? '' : 's'}`);
  return powers;
}

/** issue 12 (P1): the permission fields of ACL GETUSER (flags without on/off; passwords never). */
function permissionsOf(reply: unknown): Map<string, string> | undefined {
  if (!Array.isArray(reply)) return undefined;
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const name = String(reply[i]);
    const value: unknown = reply[i + 1];
    if (name === 'passwords') continue;
    const shown = name === 'flags' && Array.isArray(value) ? value.map(String).filter((f) => f !== 'on' && f !== 'off') : value;
    fields.set(name, JSON.stringify(shown));
  }
  return fields;
}

/**
 * issue 12 (P1): how the user's permissions differ from its declared rules. Redis rewrites rules
 * into its own canonical form, so the declared ones are given to a scratch user (reset, off, no
 * password: nobody can log in as it) and its ACL GETUSER is compared field by field, then the
 * scratch user is deleted. Nothing is persisted (no ACL SAVE).
 */
async function ruleDifferences(session: AdminSession, user: string, rules: readonly string[]): Promise<string[]> {
  const scratch = `bg-rules-check-${randomBytes(8).toString('hex')}`;
  let declared: Map<string, string> | undefined;
  try {
    await session.call(['ACL', 'SETUSER', scratch, 'reset', 'off', ...rules]);
    declared = permissionsOf(await session.call(['ACL', 'GETUSER', scratch]));
  } finally {
    await session.call(['ACL', 'DELUSER', scratch]);
  }
  const actual = permissionsOf(await session.call(['ACL', 'GETUSER', user]));
  if (declared === undefined || actual === undefined) return [];
  const differences: string[] = [];
  for (const field of new Set([...declared.keys(), ...actual.keys()])) {
    if (declared.get(field) !== actual.get(field)) differences.push(`rules ${field}: declared ${declared.get(field) ?? 'none'}, actual ${actual.get(field) ?? 'none'}`);
  }
  return differences;
}

export function redisPrestaged(admin: RedisAdmin): PrestagedOperations {
  const mutable = (principal: string) => checkMutableUser(principal, admin.settings.user);

  return {
    async stage(principal, secret, spec, options) {
      const user = mutable(principal);
      const password = hashedPasswordRule(checkSecret(secret));
      const { rules } = parsePrestagedSpec(spec, user);
      await admin.run('stage', user, async (session) => {
        // Someone's working login is taken over only when the account says so. ACL commands
        // cannot run in MULTI with a check, so a user turned on between the look and SETUSER
        // is still reset: it ends up off, which takes nothing Breakglass would then hand out.
        const powers = await powersOf(session, user);
        if (powers.length > 0 && options?.adopt !== true) throw unadoptedLogin('redis user', user, powers);
        // `reset` first: whatever the user was (on, nopass, extra passwords, other rules), it
        // ends up exactly staged. ACL SETUSER applies all of it or, on any bad rule, nothing.
        await session.call(['ACL', 'SETUSER', user, 'reset', 'off', password, ...rules]);
        await session.endSessions(user);
        await session.persist();
      });
    },

    async enable(principal, validUntil) {
      const user = mutable(principal);
      checkDate(validUntil, 'validUntil'); // no native expiry: Breakglass disables at the grant's end
      await admin.run('enable', user, async (session) => {
        await mustExist(session, 'enable', user);
        await session.call(['ACL', 'SETUSER', user, 'on']);
        await session.persist();
      });
    },

    async disable(principal) {
      const user = mutable(principal);
      return await admin.run('disable', user, async (session) => {
        // Revocation converges: a missing user cannot log in, and SETUSER would create it.
        if ((await session.getUser(user)) !== undefined) {
          await session.call(['ACL', 'SETUSER', user, 'off']);
        }
        // `off` is checked only at AUTH: clients already authenticated keep working until killed.
        const ended = await session.endSessions(user);
        await session.persist();
        return ended;
      });
    },

    async rotate(principal, newSecret) {
      const user = mutable(principal);
      const password = hashedPasswordRule(checkSecret(newSecret));
      await admin.run('rotate', user, async (session) => {
        await mustExist(session, 'rotate', user);
        // `off` as well: the account stays, or becomes, disabled whatever state it was found in.
        await session.call(['ACL', 'SETUSER', user, 'resetpass', password, 'off']);
        await session.endSessions(user);
        await session.persist();
      });
    },

    /**
     * AUTH cannot tell a disabled user from a wrong password (both are WRONGPASS), so the secret
     * is checked the way AUTH checks it: its SHA-256 against the hashes the server holds.
     */
    async verify(credential: Credential): Promise<VerifyResult> {
      return (await verifyDetailed(credential)).verdict;
    },

    // issue 12 (P2): AUTH answers WRONGPASS to a disabled user whatever the password, so the
    // code says what settled it: the SHA-256 held by the server (`ACL GETUSER`) matched or not.
    verifyDetailed,

    async inspect(principal: string, spec?: AccountSpec): Promise<AccountInspection> {
      const user = checkUser(principal);
      // Issue 12 (P1): with the spec, the user's permissions are compared with its declared rules.
      const rules = spec === undefined ? undefined : parsePrestagedSpec(spec, user).rules;
      return await admin.run('inspect', user, async (session) => {
        const seen = await session.inspect(user);
        if (rules === undefined || !seen.exists) return seen;
        return { ...seen, privilegeDifferences: await ruleDifferences(session, user, rules) };
      });
    },
  };

  async function verifyDetailed(credential: Credential): Promise<DetailedVerify> {
    const user = checkUser(credential.username, 'username');
    const candidate = credential.password;
    if (typeof candidate !== 'string') throw new AppError('validation', 'redis verify needs a password string', { path: 'password' });
    const found = await admin.run('verify', user, (session) => session.getUser(user));
    if (found === undefined) return { verdict: 'rejected', code: 'no-such-user' };
    // nopass: the server takes any password, so this one too (and rotation did not take).
    if (found.flags.includes('nopass')) return { verdict: 'accepted', code: 'nopass' };
    return matchesStoredHash(candidate, found.passwords) ? { verdict: 'accepted', code: 'stored-hash-match' } : { verdict: 'rejected', code: 'stored-hash-mismatch' };
  }
}
