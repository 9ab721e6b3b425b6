/**
 * Issue 12 (P1): a pre-staged MariaDB account holds exactly its declared `privileges` (the same
 * parser as ephemeral accounts, mysql-privileges.ts): staging revokes everything else first, and
 * `inspect` compares SHOW GRANTS with the declaration. `USAGE` (no privilege) is ignored; the
 * `IDENTIFIED BY PASSWORD '…'` part of a SHOW GRANTS line is never read, so no hash reaches a
 * difference.
 */
import type { Sql } from './mysql-admin.js';
import { quoteAccount } from './mysql-names.js';
import type { GrantClause } from './mysql-privileges.js';

/** Names SHOW GRANTS prints for privileges the catalog may spell another way (MariaDB 10.5+ aliases). */
const ALIASES: Readonly<Record<string, string>> = {
  ALL: 'ALL PRIVILEGES',
  'REPLICATION CLIENT': 'BINLOG MONITOR',
  'REPLICA MONITOR': 'SLAVE MONITOR',
  'REPLICATION REPLICA': 'REPLICATION SLAVE',
};

/** `on` → the set of privileges held there ("GRANT OPTION" included; "USAGE" left out). */
type Held = Map<string, Set<string>>;

function add(held: Held, on: string, privileges: readonly string[]): void {
  const set = held.get(on) ?? new Set<string>();
  for (const p of privileges) {
    const name = p.trim().replace(/\s+/g, ' ').toUpperCase();
    if (name !== 'USAGE' && name !== '') set.add(ALIASES[name] ?? name);
  }
  if (set.size > 0) held.set(on, set);
}

/** Splits `SELECT, INSERT (`a`, `b`), UPDATE` at the top-level commas. */
function splitPrivileges(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of list) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** What the declared clauses grant, in the same shape as `actualGrants`. */
export function declaredGrants(grants: readonly GrantClause[]): Held {
  const held: Held = new Map();
  for (const { clause } of grants) {
    const at = clause.lastIndexOf(' ON ');
    add(held, clause.slice(at + 4), clause.slice(0, at).split(','));
  }
  return held;
}

/** SHOW GRANTS of the account, as privileges per object; roles and proxies as their own entries. */
export async function actualGrants(sql: Sql, user: string): Promise<Held> {
  const rows = await sql.rows<Record<string, string>>(`SHOW GRANTS FOR ${quoteAccount(user)}`, []);
  const held: Held = new Map();
  for (const row of rows) {
    const line = Object.values(row)[0] ?? '';
    const grant = /^GRANT (.+?) ON (\S+) TO /.exec(line);
    if (grant) {
      const withOption = / WITH .*GRANT OPTION/.test(line);
      if (grant[1]?.startsWith('PROXY')) add(held, `PROXY ${grant[2] ?? ''}`, ['PROXY']);
      else add(held, grant[2] ?? '', [...splitPrivileges(grant[1] ?? ''), ...(withOption ? ['GRANT OPTION'] : [])]);
      continue;
    }
    const role = /^GRANT (\S+) TO /.exec(line);
    if (role) add(held, `role ${role[1] ?? ''}`, ['MEMBER']);
  }
  return held;
}

/** One line per object whose privileges differ (`[]`: exactly as declared). */
export function grantDifferences(declared: Held, actual: Held): string[] {
  const differences: string[] = [];
  for (const on of new Set([...declared.keys(), ...actual.keys()])) {
    const want = declared.get(on) ?? new Set<string>();
    const have = actual.get(on) ?? new Set<string>();
    const missing = [...want].filter((p) => !have.has(p) && !(have.has('ALL PRIVILEGES') && p !== 'GRANT OPTION'));
    const extra = [...have].filter((p) => !want.has(p));
    if (missing.length > 0) differences.push(`privileges on ${on}: missing ${missing.join(', ')}`);
    if (extra.length > 0) differences.push(`privileges on ${on}: undeclared ${extra.join(', ')}`);
  }
  return differences;
}
