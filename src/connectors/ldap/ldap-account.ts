/** What the connector reads of an LDAP entry before it stages over it (ldap-admin.ts, ldap-adopt.ts). */

/** Attributes that give an entry power of its own (members, groups, proxy rights). */
export const POWER_ATTRIBUTES = ['member', 'uniqueMember', 'memberUid', 'memberOf', 'authzTo'] as const;

/** An entry as staging finds it. */
export interface LdapAccount {
  readonly passwords: readonly Buffer[];
  readonly locked: boolean;
  /** Locked with ppolicy's administrator-only value, not a lockout that expires by itself. */
  readonly lockedForever: boolean;
  readonly start: Date | undefined;
  readonly end: Date | undefined;
  /** How many values each of POWER_ATTRIBUTES has. */
  readonly powers: Readonly<Record<(typeof POWER_ATTRIBUTES)[number], number>>;
  // issue 12 (LDAP group memberships): which groups, so the declared ones can be told apart.
  /** The `memberOf` values as the server wrote them (only with the memberof overlay). */
  readonly memberOf: readonly string[];
}

/** Throws when staging may not take over `existing` (an entry someone else made): ldap-adopt.ts. */
export type TakeOverCheck = (existing: LdapAccount) => void;
