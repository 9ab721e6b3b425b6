/**
 * Ephemeral Redis credentials: one ACL user per grant, named `ephemeralPrincipal(grantId)`,
 * created `on` with a random password and the spec's rules, deleted at the end (ACL DELUSER,
 * which also disconnects its clients; the connector checks CLIENT LIST and kills leftovers).
 */
import type { AccountInspection, EphemeralOperations, IssueRequest, RevealedCredential, SessionsEnded } from '../../ports/index.js';
import { ephemeralPrincipal } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { newSecret } from '../lib/passwords.js';
import type { RedisAdmin } from './redis-admin.js';
import { checkDate, checkMutableUser, checkUser, hashedPasswordRule } from './redis-names.js';
import { parseEphemeralSpec } from './redis-rules.js';

/**
 * The grant's user name, refused when the grant id leaves nothing to tell grants apart. With
 * `adminUser` (for a mutation), refused also when it is the admin's name (`bg_…` never is `default`).
 */
function issuedUser(grantId: unknown, adminUser?: string): string {
  const name = typeof grantId === 'string' ? ephemeralPrincipal(grantId) : '';
  if (name.length <= 'bg_'.length) {
    throw new AppError('validation', 'redis grant id must contain letters or digits', { path: 'grantId' });
  }
  return adminUser === undefined ? checkUser(name, 'grantId') : checkMutableUser(name, adminUser, 'grantId');
}

export function redisEphemeral(admin: RedisAdmin): EphemeralOperations {
  return {
    async issue(request: IssueRequest): Promise<RevealedCredential> {
      const user = issuedUser(request.grantId, admin.settings.user);
      checkDate(request.validUntil, 'validUntil'); // no native expiry: revoke runs at the grant's end
      const { rules } = parseEphemeralSpec(request.spec);
      const password = newSecret();
      await admin.run('issue', user, async (session) => {
        // `reset` makes a retry replace a half-made user entirely; all or nothing per command.
        await session.call(['ACL', 'SETUSER', user, 'reset', 'on', hashedPasswordRule(password), ...rules]);
        // Whoever authenticated with an earlier, never revealed password of this grant goes.
        await session.endSessions(user);
        await session.persist();
      });
      return { username: user, password };
    },

    async revoke(request): Promise<SessionsEnded> {
      // The spec is not looked at: nothing in it may stand in the way of removing access.
      const user = issuedUser(request.grantId, admin.settings.user);
      return await admin.run('revoke', user, async (session) => {
        // Counted first (issue 12, P2): ACL DELUSER itself disconnects the user's clients.
        const before = await session.clientIds(user);
        await session.call(['ACL', 'DELUSER', user]);
        const after = await session.endSessions(user);
        await session.persist();
        return { sessionsBefore: Math.max(before.length, after.sessionsBefore), sessionsEnded: Math.max(before.length, after.sessionsEnded) };
      });
    },

    async inspectIssued(request): Promise<AccountInspection> {
      const user = issuedUser(request.grantId);
      return await admin.run('inspectIssued', user, (session) => session.inspect(user));
    },
  };
}
