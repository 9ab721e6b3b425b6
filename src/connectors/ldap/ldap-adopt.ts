/**
 * When staging may take over a directory entry that is already there, and which entries it may
 * never touch. An entry with power of its own (it can bind now, it has members or group
 * memberships, it may act as other identities) is someone's until the account says
 * `adopt: true`; an entry Breakglass staged is locked between grants and has none of these.
 */
import { reservedLogin, unadoptedLogin } from '../lib/adopt.js';
import type { LdapAccount, TakeOverCheck } from './ldap-account.js';
import { mayAlias, parseDn, sameDn, type ParsedDn } from './ldap-dn.js';
import { reservedWhy, SERVER_TREES } from './ldap-spec.js';

const WHAT = 'ldap entry';

/**
 * What the entry can do by itself, in the directory's words; empty when it is inert.
 * Memberships of `declared` groups (the account's own `groups`) are not counted: staging gives
 * exactly those, so an entry Breakglass staged with them re-stages without adopt. `listed`: the
 * groups a search found listing the entry (seen without the memberof overlay too).
 */
export function powersOf(entry: LdapAccount, now: number, declared: readonly ParsedDn[] = [], listed: readonly string[] = []): string[] {
  const powers: string[] = [];
  // A lockout that expires by itself (pwdLockoutDuration) still leaves a working login behind.
  const barred = entry.lockedForever || (entry.end !== undefined && entry.end.getTime() <= now);
  const notYet = entry.start !== undefined && entry.start.getTime() > now;
  if (entry.passwords.length > 0 && !barred && !notYet) powers.push('a userPassword it can bind with now');
  const { member, uniqueMember, memberUid, authzTo } = entry.powers;
  // issue 12 (LDAP group memberships): only undeclared memberships are power of its own.
  const memberOf = entry.memberOf.filter((group) => !isDeclared(group, declared)).length;
  const members = member + uniqueMember + memberUid;
  if (members > 0) powers.push(`${members} member${members === 1 ? '' : 's'} (member/uniqueMember/memberUid)`);
  if (memberOf > 0) powers.push(`membership of ${memberOf} group${memberOf === 1 ? '' : 's'} (memberOf)`);
  const listedOnly = listed.filter((group) => !isDeclared(group, declared) && !entry.memberOf.some((seen) => sameGroup(seen, group))).length;
  if (listedOnly > 0) powers.push(`membership of ${listedOnly} group${listedOnly === 1 ? '' : 's'} (its DN in their member/uniqueMember)`);
  if (authzTo > 0) powers.push('authzTo (it may act as other identities)');
  return powers;
}

/**
 * Is a group DN as the server wrote it one of `declared`? A value our strict parser refuses
 * is never taken for a declared group (fail closed: it counts as power).
 */
export function isDeclared(group: string, declared: readonly ParsedDn[]): boolean {
  if (declared.length === 0) return false;
  let parsed: ParsedDn;
  try {
    parsed = parseDn(group, 'memberOf');
  } catch {
    return false;
  }
  return declared.some((dn) => sameDn(dn, parsed));
}

/** Do two group DNs as the server wrote them name one group? Strictly when both parse. */
function sameGroup(a: string, b: string): boolean {
  try {
    return sameDn(parseDn(a, 'memberOf'), parseDn(b, 'member'));
  } catch {
    return a.toLowerCase() === b.toLowerCase();
  }
}

/** The check stage runs on an entry it found in place (ldap-admin.ts `Creation`). */
export function takeOverCheck(dn: ParsedDn, adopt: boolean, now: () => number, declared: readonly ParsedDn[] = [], listed: readonly string[] = []): TakeOverCheck {
  return (existing) => {
    const powers = powersOf(existing, now(), declared, listed);
    if (powers.length > 0 && !adopt) throw unadoptedLogin(WHAT, dn.text, powers);
  };
}

/**
 * Why `dn` can never be a break-glass account on a directory Breakglass binds to as `bindDn`,
 * or undefined. Compared generously (case, look-alikes), like every bind DN check.
 */
export function reservedReason(dn: ParsedDn, bindDn: ParsedDn): string | undefined {
  if (mayAlias(dn, bindDn)) return reservedWhy.bindDn;
  const root = dn.rdns[dn.rdns.length - 1];
  const name = root?.value.normalize('NFKC').toLowerCase();
  return root?.type === 'cn' && name !== undefined && SERVER_TREES.has(name) ? reservedWhy.serverTree(name) : undefined;
}

/** Refuses a reserved entry with `validation`, whatever the account says about adopting. */
export function refuseReserved(dn: ParsedDn, bindDn: ParsedDn): void {
  const why = reservedReason(dn, bindDn);
  if (why !== undefined) throw reservedLogin(WHAT, dn.text, why);
}
