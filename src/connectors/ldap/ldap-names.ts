/**
 * What the LDAP connector accepts as an account, a secret, a spec or a time, checked before
 * anything reaches the directory. DN parsing itself is ldap-dn.ts.
 */
import type { AccountSpec } from '../../ports/index.js';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { refuseReserved } from './ldap-adopt.js';
import { isStrictlyUnder, mayAlias, parseDn, sameDn, type ParsedDn } from './ldap-dn.js';
import { MAX_GROUPS } from './ldap-spec.js';

/** The leaf RDN types an account may be named by; anything else (ou=, dc=) is not an account. */
const ACCOUNT_RDN_TYPES = new Set(['cn', 'uid']);

const specSchema = z.strictObject({
  dn: z.string().optional(),
  /** A pwdPolicy entry to attach as pwdPolicySubentry (when the directory default does not lock). */
  policyDn: z.string().optional(),
  // issue 12 (LDAP group memberships): the catalog passes every account field it holds, adopt too.
  adopt: z.boolean().optional(),
  /** The groups the entry is a member of, exactly (absent: none); see ldap-groups.ts. */
  groups: z.array(z.string()).max(MAX_GROUPS).optional(),
});

/** The account spec as the connector uses it. */
export interface LdapAccountSpec {
  readonly policyDn: ParsedDn | undefined;
  /**
   * Declared group DNs, in the catalog's order; `[]`: a member of no group; undefined: the spec
   * says nothing, and staging leaves the entry's memberships alone.
   */
  readonly groups: readonly ParsedDn[] | undefined;
}

/**
 * A principal Breakglass may act on: a valid DN under `baseDn`, named cn= or uid=; when
 * `mutating`, never a reserved entry (ldap-adopt.ts): the DN Breakglass binds as (locking it
 * would lock Breakglass out) or the server's own trees. The catalog refuses those too
 * (ldap-spec.ts); this is the check that holds whatever the catalog let through.
 */
export function checkAccount(principal: string, mutating: boolean, bindDn: ParsedDn, baseDn: ParsedDn | undefined): ParsedDn {
  const dn = parseDn(principal, 'principal');
  const leaf = dn.rdns[0];
  if (leaf === undefined || !ACCOUNT_RDN_TYPES.has(leaf.type)) {
    throw new AppError('validation', 'ldap account DN must be named by cn= or uid=', { path: 'principal' });
  }
  if (mutating) refuseReserved(dn, bindDn);
  if (baseDn !== undefined && !isStrictlyUnder(dn, baseDn)) {
    throw new AppError('validation', `ldap account DN ${JSON.stringify(dn.text)} is not under baseDn`, { path: 'principal' });
  }
  return dn;
}

export function checkSecret(secret: string): void {
  // An empty password is an anonymous bind; NUL cannot be typed at most LDAP clients.
  if (typeof secret !== 'string' || secret === '' || secret.includes('\0')) {
    throw new AppError('validation', 'ldap secret must be a non-empty string without NUL', { path: 'secret' });
  }
}

/**
 * The account spec: `{dn?, policyDn?, adopt?, groups?}`; `dn`, when given, must name the
 * principal. Each group DN is parsed strictly, named once (compared as generously as the server
 * might match), and never the account itself.
 */
export function parseAccountSpec(spec: AccountSpec | undefined, dn: ParsedDn): LdapAccountSpec {
  const parsedSpec = specSchema.safeParse(spec ?? {});
  if (!parsedSpec.success) {
    const issue = parsedSpec.error.issues[0];
    throw new AppError('validation', `ldap account spec is invalid: ${issue?.message ?? 'unknown'}`, { path: `spec.${issue?.path.join('.') ?? ''}` });
  }
  if (parsedSpec.data.dn !== undefined && !sameDn(parseDn(parsedSpec.data.dn, 'spec.dn'), dn)) {
    throw new AppError('validation', 'ldap spec.dn does not match the principal', { path: 'spec.dn' });
  }
  const policyDn = parsedSpec.data.policyDn === undefined ? undefined : parseDn(parsedSpec.data.policyDn, 'spec.policyDn');
  if (parsedSpec.data.groups === undefined) return { policyDn, groups: undefined };
  const groups: ParsedDn[] = [];
  for (const [index, text] of parsedSpec.data.groups.entries()) {
    const path = `spec.groups.${index}`;
    const group = parseDn(text, path);
    if (mayAlias(group, dn)) throw new AppError('validation', 'ldap spec.groups names the account itself', { path });
    if (groups.some((seen) => mayAlias(seen, group))) {
      throw new AppError('validation', `ldap spec.groups names ${JSON.stringify(group.text)} twice; list each group once`, { path });
    }
    groups.push(group);
  }
  return { policyDn, groups };
}

/** The entry stage creates: an inetOrgPerson whose cn/sn (and uid) come from the RDN. */
export function newEntry(dn: ParsedDn): Record<string, string[]> {
  const leaf = dn.rdns[0];
  if (leaf === undefined) throw new AppError('validation', 'ldap DN is empty', { path: 'principal' });
  const entry: Record<string, string[]> = { objectClass: ['inetOrgPerson'], cn: [leaf.value], sn: [leaf.value] };
  if (leaf.type === 'uid') entry['uid'] = [leaf.value];
  return entry;
}

/** GeneralizedTime in UTC, truncated to the second so the grant never ends late. */
export function generalizedTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-T:]/g, '')}Z`;
}

export function parseGeneralizedTime(text: string | undefined): Date | undefined {
  const m = text === undefined ? null : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,](\d+))?Z$/.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * 1000);
  const date = new Date(Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms));
  // Date.UTC maps years 0–99 to 1900–1999; set the year on its own.
  date.setUTCFullYear(Number(y));
  return Number.isNaN(date.getTime()) ? undefined : date;
}
