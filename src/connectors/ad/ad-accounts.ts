/**
 * Which entries the AD connector may act on, and what an account's spec declares: a user DN
 * strictly under `baseDn`, named by CN=, never the bind DN; group DNs; the container of
 * ephemeral users. Checked before anything reaches the domain controller.
 */
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import type { AccountSpec } from '../../ports/index.js';
import { isStrictlyUnder, mayAlias, sameDn, type ParsedDn } from '../ldap/ldap-dn.js';
import { unadoptedLogin, reservedLogin } from '../lib/adopt.js';
import type { AdEntry } from './ad-directory.js';
import { FIRST_USER_RID, parseAdDn } from './ad-names.js';

export const PRESTAGED_MARK = 'breakglass pre-staged emergency account';
export const grantMark = (grantId: string) => `breakglass grant ${grantId}`;

const prestagedSpec = z.strictObject({
  dn: z.string().optional(),
  samAccountName: z.string().optional(),
  groups: z.array(z.string()).max(64).optional(),
  adopt: z.boolean().optional(),
});
const ephemeralSpec = z.strictObject({ groups: z.array(z.string()).max(64).optional(), ou: z.string().optional() });

export interface Scope {
  readonly bindDn: ParsedDn;
  readonly baseDn: ParsedDn;
}

/** A user DN Breakglass may act on; `mutating` also refuses the bind DN itself. */
export function checkAccount(principal: string, mutating: boolean, scope: Scope): ParsedDn {
  const dn = parseAdDn(principal, 'principal');
  if (dn.rdns[0]?.type !== 'cn') throw new AppError('validation', 'ad account DN must be named by CN=', { path: 'principal' });
  if (mutating && mayAlias(dn, scope.bindDn)) throw reservedLogin('ad account', dn.text, "it is the target's bindDn, the account Breakglass binds as");
  if (!isStrictlyUnder(dn, scope.baseDn)) throw new AppError('validation', `ad account DN ${JSON.stringify(dn.text)} is not under baseDn`, { path: 'principal' });
  return dn;
}

function parseSpec<T>(schema: z.ZodType<T>, spec: AccountSpec | undefined): T {
  const parsed = schema.safeParse(spec ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AppError('validation', `ad account spec is invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(), { path: `spec.${issue?.path.join('.') ?? ''}` });
}

function groupDns(groups: readonly string[] | undefined, scope: Scope): ParsedDn[] {
  const parsed = (groups ?? []).map((group, i) => parseAdDn(group, `spec.groups.${i}`));
  const root = scope.baseDn.rdns.filter((rdn) => rdn.type === 'dc');
  parsed.forEach((group, i) => {
    if (parsed.findIndex((other) => sameDn(other, group)) !== i) throw new AppError('validation', `ad spec.groups lists ${JSON.stringify(group.text)} twice`, { path: `spec.groups.${i}` });
    // Groups live anywhere in the domain (Domain Admins is under CN=Users), but in this domain.
    const tail = group.rdns.slice(group.rdns.length - root.length);
    if (root.length > 0 && !sameDn({ rdns: tail, text: '' }, { rdns: root, text: '' })) {
      throw new AppError('validation', `ad group ${JSON.stringify(group.text)} is not in the domain of baseDn`, { path: `spec.groups.${i}` });
    }
  });
  return parsed;
}

export interface PrestagedSpec {
  readonly samAccountName: string | undefined;
  /** Undefined when the spec does not say (inspect then compares nothing). */
  readonly groups: ParsedDn[] | undefined;
}

export function prestagedSpecOf(spec: AccountSpec | undefined, dn: ParsedDn, scope: Scope): PrestagedSpec {
  const parsed = parseSpec(prestagedSpec, spec);
  if (parsed.dn !== undefined && !sameDn(parseAdDn(parsed.dn, 'spec.dn'), dn)) throw new AppError('validation', 'ad spec.dn does not match the principal', { path: 'spec.dn' });
  return { samAccountName: parsed.samAccountName, groups: spec === undefined ? undefined : groupDns(parsed.groups, scope) };
}

export function ephemeralSpecOf(spec: AccountSpec | undefined, scope: Scope): { groups: ParsedDn[]; ou: ParsedDn } {
  const parsed = parseSpec(ephemeralSpec, spec);
  const ou = parsed.ou === undefined ? scope.baseDn : parseAdDn(parsed.ou, 'spec.ou');
  if (!sameDn(ou, scope.baseDn) && !isStrictlyUnder(ou, scope.baseDn)) throw new AppError('validation', `ad spec.ou ${JSON.stringify(ou.text)} is not baseDn or under it`, { path: 'spec.ou' });
  return { groups: groupDns(parsed.groups, scope), ou };
}

/** What an existing entry can do by itself, in the directory's words; empty when it is inert. */
function powersOf(entry: AdEntry, declared: readonly ParsedDn[], now: number): string[] {
  const powers: string[] = [];
  const expired = entry.expires !== undefined && entry.expires.getTime() <= now;
  if (!entry.disabled && !expired) powers.push('an enabled login (userAccountControl without ACCOUNTDISABLE)');
  // Groups of an entry Breakglass staged are its catalog's, which may have changed since.
  const undeclared = entry.description === PRESTAGED_MARK ? [] : entry.memberOf.filter((group) => !declared.some((d) => sameDn(d, group)));
  if (undeclared.length > 0) powers.push(`membership of ${undeclared.length} undeclared group${undeclared.length === 1 ? '' : 's'}`);
  return powers;
}

/**
 * Refuses an entry staging must never touch (a built-in account by RID, whatever its name; not a
 * user), and one with power of its own unless the account says adopt (an entry Breakglass
 * staged is disabled and expired, and its groups are the catalog's, so re-staging needs no adopt).
 */
export function checkTakeOver(dn: ParsedDn, entry: AdEntry, declared: readonly ParsedDn[], adopt: boolean, now: number): void {
  if (entry.rid !== undefined && entry.rid < FIRST_USER_RID) throw reservedLogin('ad account', dn.text, `it is a built-in account of the domain (RID ${entry.rid})`);
  if (!entry.isUser) throw new AppError('validation', `ad entry ${JSON.stringify(dn.text)} is not a user account`, { path: 'principal' });
  const powers = powersOf(entry, declared, now);
  if (powers.length > 0 && !adopt) throw unadoptedLogin('ad account', dn.text, powers);
}

/** One line per difference between declared and held group memberships (issue 12 P1 wording). */
export function groupDifferences(declared: readonly ParsedDn[], held: readonly ParsedDn[]): string[] {
  return [
    ...declared.filter((group) => !held.some((h) => sameDn(h, group))).map((group) => `groups: not a member of ${JSON.stringify(group.text)}`),
    ...held.filter((group) => !declared.some((d) => sameDn(d, group))).map((group) => `groups: undeclared membership of ${JSON.stringify(group.text)}`),
  ];
}
