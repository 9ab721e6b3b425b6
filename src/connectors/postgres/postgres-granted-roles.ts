/**
 * The account spec of an ephemeral PostgreSQL credential, and the checks that keep it from
 * handing out more than the catalog meant: role names validated like principals, the admin role
 * and superuser-like roles refused.
 */
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { ephemeralPrincipal } from '../../ports/index.js';
import type { PgAdmin } from './postgres-admin.js';
import { checkRole } from './postgres-names.js';

/** At most this many granted roles; the catalog allows the same. */
const MAX_GRANTED_ROLES = 32;

/**
 * Predefined roles that reach the server's file system or run programs as the server's OS user:
 * PostgreSQL documents them as a way to gain superuser-level access.
 */
const SERVER_ACCESS_ROLES = ['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files'];

const specSchema = z.strictObject({
  grantedRoles: z.array(z.string()).max(MAX_GRANTED_ROLES).optional(),
  reassignOwnedTo: z.string().optional(),
  dropOwned: z.boolean().optional(),
});

export interface EphemeralSpec {
  /** Roles the credential is a member of (deduplicated, in the catalog's order). */
  readonly grantedRoles: readonly string[];
  /** Who inherits the objects the credential created; undefined: nobody. */
  readonly reassignOwnedTo: string | undefined;
  /** DROP OWNED before DROP ROLE (default true). */
  readonly dropOwned: boolean;
}

/** The role of a grant's credential; a grant id without letters or digits would name no grant. */
export function issuedRole(grantId: string, adminUser: string): string {
  if (typeof grantId !== 'string' || ephemeralPrincipal(grantId) === 'bg_') {
    throw new AppError('validation', 'postgres grant id has no letters or digits to name a role after', { path: 'grantId' });
  }
  return checkRole(ephemeralPrincipal(grantId), adminUser, 'grantId');
}

/**
 * Parses the spec. Unknown keys are refused: a misspelt `grantedRole` would otherwise issue a
 * credential without the access the catalog meant, or one that leaves its objects behind.
 */
export function parseEphemeralSpec(spec: unknown, role: string, adminUser: string): EphemeralSpec {
  const parsed = specSchema.safeParse(spec ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = ['spec', ...(issue?.path ?? []).map(String)].join('.');
    throw new AppError('validation', `postgres ephemeral spec is invalid at ${path}: ${issue?.message ?? 'unknown'}`, { path });
  }
  const { grantedRoles = [], reassignOwnedTo, dropOwned = true } = parsed.data;
  const granted = [...new Set(grantedRoles)].map((name, index) => {
    // Membership in the admin role would hand the responder Breakglass's own power on the target.
    const checked = checkRole(name, adminUser, `spec.grantedRoles.${index}`);
    if (checked === role) throw new AppError('validation', 'postgres grantedRoles names the credential itself', { path: `spec.grantedRoles.${index}` });
    return checked;
  });
  if (reassignOwnedTo !== undefined) {
    checkRole(reassignOwnedTo, undefined, 'spec.reassignOwnedTo');
    if (reassignOwnedTo === role) {
      throw new AppError('validation', 'postgres reassignOwnedTo names the credential itself', { path: 'spec.reassignOwnedTo' });
    }
  }
  return { grantedRoles: granted, reassignOwnedTo, dropOwned };
}

/**
 * Refuses granted roles that do not exist, and roles that are, or through membership lead to, a
 * superuser, a CREATEROLE role (PostgreSQL calls those "almost-superuser"), a server-access role
 * or the admin role: a member can SET ROLE to any of them.
 */
export async function checkGrantable(admin: PgAdmin, role: string, granted: readonly string[]): Promise<void> {
  if (granted.length === 0) return;
  const res = await admin.run(
    'issue',
    role,
    `select g.name, r.oid is not null as found,
            exists(select 1 from pg_roles s
                    where (s.rolsuper or s.rolcreaterole or s.rolname = any($2::text[]))
                      and pg_has_role(r.oid, s.oid, 'MEMBER')) as superuser_like
       from unnest($1::text[]) with ordinality as g(name, n)
       left join pg_roles r on r.rolname = g.name
      order by g.n`,
    [granted, [...SERVER_ACCESS_ROLES, admin.settings.user]],
  );
  for (const [index, row] of (res.rows as { name: string; found: boolean; superuser_like: boolean }[]).entries()) {
    if (!row.found) {
      throw new AppError('target_error', `postgres granted role ${JSON.stringify(row.name)} does not exist on the target`, { retryable: false });
    }
    if (row.superuser_like) {
      throw new AppError('validation', `postgres granted role ${JSON.stringify(row.name)} is or leads to a superuser-like role`, {
        path: `spec.grantedRoles.${index}`,
      });
    }
  }
}
