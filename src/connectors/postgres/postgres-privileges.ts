/**
 * Issue 12 (P1): the privileges a pre-staged PostgreSQL role is declared to hold — `superuser`,
 * `createrole`, `createdb` (absent: false) and `grantedRoles` (memberships) — given at staging,
 * exactly (every other attribute off, every undeclared membership revoked), and read back.
 */
import pg from 'pg';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import type { AccountSpec } from '../../ports/index.js';
import type { PgAdmin } from './postgres-admin.js';
import { checkRole } from './postgres-names.js';

const { escapeIdentifier } = pg;

export interface DeclaredPrivileges {
  readonly superuser: boolean;
  readonly createrole: boolean;
  readonly createdb: boolean;
  /** Deduplicated, in the catalog's order. */
  readonly grantedRoles: readonly string[];
}

/** The other account fields (`role`, `adopt`) are the catalog's; only these are read here. */
const declaredSchema = z.object({
  superuser: z.boolean().optional(),
  createrole: z.boolean().optional(),
  createdb: z.boolean().optional(),
  grantedRoles: z.array(z.string()).max(32).optional(),
});

/** Reads the declared privileges from the account spec; a malformed one is refused with its path. */
export function parseDeclaredPrivileges(spec: AccountSpec | undefined, role: string, adminUser: string): DeclaredPrivileges {
  const parsed = declaredSchema.safeParse(spec ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = ['spec', ...(issue?.path ?? []).map(String)].join('.');
    throw new AppError('validation', `postgres pre-staged spec is invalid at ${path}: ${issue?.message ?? 'unknown'}`, { path });
  }
  const { superuser = false, createrole = false, createdb = false, grantedRoles = [] } = parsed.data;
  const granted = [...new Set(grantedRoles)].map((name, index) => {
    // Membership in the admin role would hand the responder Breakglass's own power on the target.
    const checked = checkRole(name, adminUser, `spec.grantedRoles.${index}`);
    if (checked === role) throw new AppError('validation', 'postgres grantedRoles names the account itself', { path: `spec.grantedRoles.${index}` });
    return checked;
  });
  return { superuser, createrole, createdb, grantedRoles: granted };
}

/** The role attributes staging sets: the declared ones, and every other power off. */
export function attributeClause(declared: DeclaredPrivileges): string {
  return [
    declared.superuser ? 'SUPERUSER' : 'NOSUPERUSER',
    declared.createrole ? 'CREATEROLE' : 'NOCREATEROLE',
    declared.createdb ? 'CREATEDB' : 'NOCREATEDB',
    'NOREPLICATION NOBYPASSRLS INHERIT',
  ].join(' ');
}

interface ActualPrivileges {
  readonly superuser: boolean;
  readonly createrole: boolean;
  readonly createdb: boolean;
  readonly memberOf: readonly string[];
}

async function readPrivileges(admin: PgAdmin, op: string, role: string): Promise<ActualPrivileges | undefined> {
  const res = await admin.run(
    op,
    role,
    `select r.rolsuper, r.rolcreaterole, r.rolcreatedb,
            coalesce((select array_agg(g.rolname::text order by g.rolname)
                        from pg_auth_members m join pg_roles g on g.oid = m.roleid
                       where m.member = r.oid), '{}') as member_of
       from pg_roles r where r.rolname = $1`,
    [role],
  );
  const row = res.rows[0] as { rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; member_of: string[] } | undefined;
  if (row === undefined) return undefined;
  return { superuser: row.rolsuper, createrole: row.rolcreaterole, createdb: row.rolcreatedb, memberOf: row.member_of };
}

/**
 * Makes the role's memberships exactly the declared ones (after its attributes were set): a
 * granted role that does not exist is an error naming it, an undeclared membership is revoked.
 */
export async function grantDeclaredRoles(admin: PgAdmin, op: string, role: string, declared: DeclaredPrivileges): Promise<void> {
  await admin.transaction(op, role, async (sql) => {
    if (declared.grantedRoles.length > 0) {
      const found = await sql('select rolname::text as name from pg_roles where rolname = any($1::text[])', [declared.grantedRoles]);
      const names = new Set((found.rows as { name: string }[]).map((r) => r.name));
      const missing = declared.grantedRoles.find((name) => !names.has(name));
      if (missing !== undefined) {
        throw new AppError('target_error', `postgres granted role ${JSON.stringify(missing)} of pre-staged role ${JSON.stringify(role)} does not exist on the target`, { retryable: false });
      }
    }
    const current = await sql(
      `select g.rolname::text as name from pg_auth_members m
         join pg_roles g on g.oid = m.roleid join pg_roles r on r.oid = m.member
        where r.rolname = $1`,
      [role],
    );
    const held = new Set((current.rows as { name: string }[]).map((r) => r.name));
    const ident = escapeIdentifier(role);
    for (const name of held) {
      if (!declared.grantedRoles.includes(name)) await sql(`REVOKE ${escapeIdentifier(name)} FROM ${ident}`);
    }
    for (const name of declared.grantedRoles) {
      if (!held.has(name)) await sql(`GRANT ${escapeIdentifier(name)} TO ${ident}`);
    }
  });
}

/** What differs between the declared privileges and the role's (one line each; `[]`: none). */
export async function privilegeDifferences(admin: PgAdmin, op: string, role: string, declared: DeclaredPrivileges): Promise<string[] | undefined> {
  const actual = await readPrivileges(admin, op, role);
  if (actual === undefined) return undefined;
  const differences: string[] = [];
  for (const flag of ['superuser', 'createrole', 'createdb'] as const) {
    if (actual[flag] !== declared[flag]) differences.push(`${flag}: declared ${String(declared[flag])}, actual ${String(actual[flag])}`);
  }
  const missing = declared.grantedRoles.filter((name) => !actual.memberOf.includes(name));
  const extra = actual.memberOf.filter((name) => !declared.grantedRoles.includes(name));
  if (missing.length > 0) differences.push(`grantedRoles: not a member of ${missing.join(', ')}`);
  if (extra.length > 0) differences.push(`grantedRoles: undeclared membership of ${extra.join(', ')}`);
  return differences;
}
