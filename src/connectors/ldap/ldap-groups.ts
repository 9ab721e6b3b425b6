/**
 * Issue 12 (LDAP group memberships): the groups a pre-staged entry is declared to be a member of
 * (`spec.groups`), given exactly at staging and read back by `inspect`. Memberships live on the
 * groups (`member` of a groupOfNames, `uniqueMember` of a groupOfUniqueNames), so they are read
 * with searches whose filters are ldapts filter objects: the account's DN is a filter *value*,
 * encoded by ldapts, never text spliced into a filter string.
 */
import { Attribute, Change, EqualityFilter, OrFilter, PresenceFilter, type Client, type Filter } from 'ldapts';
import { AppError } from '../../errors/index.js';
import { isDeclared } from './ldap-adopt.js';
import { isStrictlyUnder, parseDn, type ParsedDn } from './ldap-dn.js';
import {
  LDAP_INSUFFICIENT_ACCESS,
  LDAP_NO_SUCH_ATTRIBUTE,
  LDAP_NO_SUCH_OBJECT,
  LDAP_OBJECT_CLASS_VIOLATION,
  LDAP_VALUE_EXISTS,
  resultCodeOf,
  resultText,
  toAppError,
} from './ldap-errors.js';

/** The attributes that list a group's members, by the group's objectClass. */
const MEMBER_ATTRIBUTE = { groupofnames: 'member', groupofuniquenames: 'uniqueMember' } as const;
type MemberAttribute = (typeof MEMBER_ATTRIBUTE)[keyof typeof MEMBER_ATTRIBUTE];
const MEMBER_ATTRIBUTES: readonly MemberAttribute[] = ['member', 'uniqueMember'];

/** A declared group as staging found it: the attributes the account's DN goes in. */
export interface DeclaredGroup {
  readonly dn: ParsedDn;
  readonly attributes: readonly MemberAttribute[];
}

const objectClassFilter = () => new PresenceFilter({ attribute: 'objectClass' });
const listing = (attribute: MemberAttribute, dn: ParsedDn): Filter => new EqualityFilter({ attribute, value: dn.text });
const listingAny = (dn: ParsedDn): Filter => new OrFilter({ filters: MEMBER_ATTRIBUTES.map((attribute) => listing(attribute, dn)) });
const quoted = (dn: ParsedDn | string) => JSON.stringify(typeof dn === 'string' ? dn : dn.text);

/** Reads a group's objectClass at base scope; undefined when the entry is missing. */
async function groupClasses(client: Client, group: ParsedDn): Promise<string[] | undefined> {
  try {
    const { searchEntries } = await client.search(group.text, { scope: 'base', filter: objectClassFilter(), attributes: ['objectClass'] });
    const entry = searchEntries[0];
    if (entry === undefined) return undefined;
    const key = Object.keys(entry).find((k) => k.toLowerCase() === 'objectclass');
    const value = key === undefined ? [] : entry[key];
    return (Array.isArray(value) ? value : [value]).map((v) => v?.toString().toLowerCase() ?? '');
  } catch (err) {
    if (resultCodeOf(err) === LDAP_NO_SUCH_OBJECT) return undefined;
    throw err;
  }
}

/**
 * Checks every declared group before anything is written: it must exist and be a
 * groupOfNames or groupOfUniqueNames. Fails with `target_error` naming the first that is not.
 */
export async function declaredGroups(client: Client, dn: ParsedDn, groups: readonly ParsedDn[]): Promise<DeclaredGroup[]> {
  const found: DeclaredGroup[] = [];
  for (const group of groups) {
    const classes = await groupClasses(client, group);
    if (classes === undefined) {
      throw new AppError('target_error', `ldap group ${quoted(group)} in spec.groups of ${quoted(dn)} does not exist on the directory; create it or remove it from the account`, { retryable: false });
    }
    const attributes = Object.entries(MEMBER_ATTRIBUTE).filter(([cls]) => classes.includes(cls)).map(([, attribute]) => attribute);
    if (attributes.length === 0) {
      throw new AppError('target_error', `ldap entry ${quoted(group)} in spec.groups of ${quoted(dn)} is not a groupOfNames or groupOfUniqueNames`, { retryable: false });
    }
    found.push({ dn: group, attributes });
  }
  return found;
}

/**
 * Where the account's other memberships are looked for: the naming context that holds it (the
 * root DSE's `namingContexts`), since groups usually sit beside the accounts' `baseDn`, not
 * under it. `fallback` (the target's baseDn) when the root DSE does not say.
 */
async function searchBase(client: Client, dn: ParsedDn, fallback: ParsedDn | undefined): Promise<ParsedDn> {
  const { searchEntries } = await client.search('', { scope: 'base', filter: objectClassFilter(), attributes: ['namingContexts'] });
  const value = searchEntries[0]?.['namingContexts'] ?? [];
  const contexts = (Array.isArray(value) ? value : [value]).flatMap((text) => {
    try {
      return [parseDn(text.toString(), 'namingContexts')];
    } catch {
      return [];
    }
  });
  const holding = contexts.filter((context) => isStrictlyUnder(dn, context)).sort((a, b) => b.rdns.length - a.rdns.length)[0];
  const base = holding ?? fallback;
  if (base === undefined) {
    throw new AppError('target_error', `ldap cannot tell which naming context holds ${quoted(dn)} (the root DSE lists none above it); set the target's baseDn`, { retryable: false });
  }
  return base;
}

/**
 * The DNs of the groups in the account's naming context whose `filter` attribute lists it. A
 * bind DN that may not search the naming context itself (slapd answers noSuchObject or
 * insufficientAccess) searches under `fallback` (the target's baseDn) instead.
 */
async function listedBy(client: Client, dn: ParsedDn, fallback: ParsedDn | undefined, filter: Filter): Promise<string[]> {
  const search = async (base: ParsedDn) => (await client.search(base.text, { scope: 'sub', filter, attributes: ['1.1'] })).searchEntries.map((entry) => entry.dn);
  const base = await searchBase(client, dn, fallback);
  try {
    return await search(base);
  } catch (err) {
    const code = resultCodeOf(err);
    if (fallback === undefined || base === fallback || (code !== LDAP_NO_SUCH_OBJECT && code !== LDAP_INSUFFICIENT_ACCESS)) throw err;
    return search(fallback);
  }
}

/** Does the group's `filter` attribute list the account? Read at base scope on the group. */
async function groupLists(client: Client, group: ParsedDn, filter: Filter): Promise<boolean> {
  try {
    const { searchEntries } = await client.search(group.text, { scope: 'base', filter, attributes: ['1.1'] });
    return searchEntries.length > 0;
  } catch (err) {
    if (resultCodeOf(err) === LDAP_NO_SUCH_OBJECT) return false;
    throw err;
  }
}

/** One membership change; a value already there (add) or already gone (delete) is the goal reached. */
async function change(client: Client, dn: ParsedDn, group: string, operation: 'add' | 'delete', attribute: MemberAttribute): Promise<void> {
  try {
    await client.modify(group, new Change({ operation, modification: new Attribute({ type: attribute, values: [dn.text] }) }));
  } catch (err) {
    const code = resultCodeOf(err);
    if (code === (operation === 'add' ? LDAP_VALUE_EXISTS : LDAP_NO_SUCH_ATTRIBUTE)) return;
    const what = `${operation === 'add' ? 'adding it to' : 'removing it from'} ${attribute} of group ${quoted(group)}`;
    if (operation === 'delete' && code === LDAP_OBJECT_CLASS_VIOLATION) {
      throw new AppError(
        'target_error',
        `ldap stage of ${quoted(dn)}: ${what} failed with ${resultText(code)}: it is the group's only member and the group needs one; add another member, delete the group, or declare it in spec.groups`,
        { cause: { code }, retryable: false },
      );
    }
    throw toAppError(err, { op: `stage (${what})`, dn: dn.text, secretBearing: false });
  }
}

/**
 * Makes the account a member of exactly `declared`: added to each declared group's member
 * attributes, removed from every other group in its naming context that lists it.
 */
export async function giveExactly(client: Client, dn: ParsedDn, declared: readonly DeclaredGroup[], fallback: ParsedDn | undefined): Promise<void> {
  for (const group of declared) {
    for (const attribute of group.attributes) await change(client, dn, group.dn.text, 'add', attribute);
  }
  const wanted = declared.map((group) => group.dn);
  for (const attribute of MEMBER_ATTRIBUTES) {
    for (const group of await listedBy(client, dn, fallback, listing(attribute, dn))) {
      if (!isDeclared(group, wanted)) await change(client, dn, group, 'delete', attribute);
    }
  }
}

/**
 * The groups in the account's naming context whose `member` or `uniqueMember` lists it, as the
 * server writes their DNs: what the adopt check counts when there is no memberof overlay.
 */
export async function groupsListing(client: Client, dn: ParsedDn, fallback: ParsedDn | undefined): Promise<string[]> {
  return listedBy(client, dn, fallback, listingAny(dn));
}

/**
 * How the account's memberships differ from `declared`, one line each (`[]`: none), in the
 * words of the other connectors: `groups: not a member of "…"`, `groups: undeclared
 * membership of "…"`. A declared group is read where it is, even outside the naming context.
 */
export async function groupDifferences(client: Client, dn: ParsedDn, declared: readonly ParsedDn[], fallback: ParsedDn | undefined): Promise<string[]> {
  const differences: string[] = [];
  for (const group of declared) {
    if (!(await groupLists(client, group, listingAny(dn)))) {
      const gone = (await groupClasses(client, group)) === undefined;
      differences.push(`groups: not a member of ${quoted(group)}${gone ? ' (the group does not exist)' : ''}`);
    }
  }
  for (const group of await listedBy(client, dn, fallback, listingAny(dn))) {
    if (!isDeclared(group, declared)) differences.push(`groups: undeclared membership of ${quoted(group)}`);
  }
  return differences;
}
