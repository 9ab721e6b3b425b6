/**
 * Strict parsing of the catalog's privilege strings (`"SELECT, INSERT ON app.*"`) into GRANT
 * clauses. Nothing of the input reaches SQL as written: privileges come from a whitelist and are
 * re-spelled from it, database and table names are checked and backtick-quoted here.
 */
import { AppError } from '../../errors/index.js';
import { quoteIdent } from './mysql-names.js';

/** The most specific level a privilege may be granted at. */
type Level = 'global' | 'database' | 'table';
const RANK: Record<Level, number> = { global: 0, database: 1, table: 2 };

/**
 * MariaDB 10.11 privileges. Left out on purpose: GRANT OPTION (would let the credential hand
 * privileges to accounts that outlive its revocation) and PROXY (a different grammar).
 */
const TABLE_LEVEL = ['ALL', 'ALL PRIVILEGES', 'USAGE', 'ALTER', 'CREATE', 'CREATE VIEW', 'DELETE', 'DELETE HISTORY', 'DROP', 'INDEX', 'INSERT', 'REFERENCES', 'SELECT', 'SHOW VIEW', 'TRIGGER', 'UPDATE'];
const DATABASE_LEVEL = ['ALTER ROUTINE', 'CREATE ROUTINE', 'CREATE TEMPORARY TABLES', 'EVENT', 'EXECUTE', 'LOCK TABLES'];
const GLOBAL_LEVEL = [
  'BINLOG ADMIN', 'BINLOG MONITOR', 'BINLOG REPLAY', 'CONNECTION ADMIN', 'CREATE TABLESPACE', 'CREATE USER', 'FEDERATED ADMIN',
  'FILE', 'PROCESS', 'READ_ONLY ADMIN', 'RELOAD', 'REPLICA MONITOR', 'REPLICATION CLIENT', 'REPLICATION MASTER ADMIN',
  'REPLICATION REPLICA', 'REPLICATION SLAVE', 'REPLICATION SLAVE ADMIN', 'SET USER', 'SHOW DATABASES', 'SHUTDOWN',
  'SLAVE MONITOR', 'SUPER',
];
const PRIVILEGES: ReadonlyMap<string, Level> = new Map([
  ...TABLE_LEVEL.map((p) => [p, 'table'] as const),
  ...DATABASE_LEVEL.map((p) => [p, 'database'] as const),
  ...GLOBAL_LEVEL.map((p) => [p, 'global'] as const),
]);

/** Unquoted-identifier characters plus `-`; we quote, so `-` is safe, `%` (a pattern) is not. */
const IDENTIFIER = /^[A-Za-z0-9_$-]{1,64}$/;
const MAX_CLAUSE_CHARS = 512;
const MAX_CLAUSES = 32;

/** One parsed privilege string, ready for `GRANT <clause> TO <account>`. */
export interface GrantClause {
  readonly clause: string;
}

/**
 * Parses `privileges` from an account spec. Throws `validation` on anything outside the grammar
 * `priv[, priv]* ON (*.* | db.* | db.table)`.
 *
 * @example
 *   parsePrivileges(['SELECT, INSERT ON app.*'], 'spec.privileges')
 *   // → [{ clause: 'SELECT, INSERT ON `app`.*' }]
 */
export function parsePrivileges(value: unknown, path: string): GrantClause[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_CLAUSES) {
    throw invalid(`must be a list of 1 to ${MAX_CLAUSES} privilege strings`, path);
  }
  return value.map((item, i) => parseClause(item, `${path}[${i}]`));
}

function parseClause(item: unknown, path: string): GrantClause {
  if (typeof item !== 'string' || item.length > MAX_CLAUSE_CHARS) throw invalid('must be a string of at most 512 characters', path);
  const match = /^\s*([A-Za-z_ ,\t]+?)\s+ON\s+(\S+)\s*$/i.exec(item);
  if (!match) throw invalid('must read "<privileges> ON <db>.<table>", e.g. "SELECT, INSERT ON app.*"', path);
  const privileges = parseList(match[1] ?? '', path);
  const target = parseTarget(match[2] ?? '', path);
  for (const privilege of privileges) {
    const level = PRIVILEGES.get(privilege) ?? 'global';
    if (RANK[target.level] > RANK[level]) throw invalid(`${privilege} can only be granted on ${level === 'global' ? '*.*' : 'db.*'}`, path);
  }
  return { clause: `${privileges.join(', ')} ON ${target.sql}` };
}

function parseList(list: string, path: string): string[] {
  const privileges = list.split(',').map((p) => p.trim().replace(/\s+/g, ' ').toUpperCase());
  const seen = new Set<string>();
  for (const privilege of privileges) {
    if (!PRIVILEGES.has(privilege)) throw invalid(`privilege ${JSON.stringify(privilege.slice(0, 40))} is not supported`, path);
    if (seen.has(privilege)) throw invalid(`privilege ${privilege} is listed twice`, path);
    seen.add(privilege);
  }
  if (privileges.length > 1 && privileges.some((p) => p === 'ALL' || p === 'ALL PRIVILEGES')) {
    throw invalid('ALL PRIVILEGES cannot be combined with other privileges', path);
  }
  return privileges;
}

function parseTarget(target: string, path: string): { level: Level; sql: string } {
  const parts = target.split('.');
  const [db, table] = parts;
  if (parts.length !== 2 || db === undefined || table === undefined) throw invalid('the target must be *.*, db.* or db.table', path);
  if (db === '*') {
    if (table !== '*') throw invalid('the target must be *.*, db.* or db.table', path);
    return { level: 'global', sql: '*.*' };
  }
  for (const name of table === '*' ? [db] : [db, table]) {
    if (!IDENTIFIER.test(name)) throw invalid(`${JSON.stringify(name.slice(0, 64))} is not a plain database or table name`, path);
  }
  // In a database-level grant `_` is a LIKE wildcard: `app_1`.* would also cover `appx1`.
  if (table === '*') return { level: 'database', sql: `${quoteIdent(db.replace(/_/g, '\\_'))}.*` };
  return { level: 'table', sql: `${quoteIdent(db)}.${quoteIdent(table)}` };
}

function invalid(message: string, path: string): AppError {
  return new AppError('validation', `mysql privileges: ${message}`, { path });
}
