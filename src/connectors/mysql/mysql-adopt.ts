/**
 * What an account `'<user>'@'%'` found on the target can do on its own, read before staging
 * takes it over: someone may use it (it is not ACCOUNT LOCK), it is a superuser in all but name
 * (SUPER, GRANT OPTION or CREATE USER on `*.*`: each lets it become or change any account), it
 * holds roles, or other accounts may log in as it (PROXY). Breakglass leaves its own accounts
 * locked with at most the catalog's grants, so restaging one finds no power unless the catalog
 * itself grants one of those privileges (then the engine's staging mark says adopt).
 */
import type { Sql } from './mysql-admin.js';

/** Bits of `global_priv.Priv.access`; these three have kept their place since MySQL 5. */
const SUPERUSER_BITS: readonly (readonly [bigint, string])[] = [
  [1n << 15n, 'SUPER'],
  [1n << 10n, 'GRANT OPTION'],
  [1n << 25n, 'CREATE USER'],
];

const POWERS_SQL = `
  SELECT JSON_VALUE(g.Priv, '$.account_locked') AS locked,
         JSON_VALUE(g.Priv, '$.access') AS access,
         (SELECT COUNT(*) FROM mysql.roles_mapping r WHERE r.User = g.User AND r.Host = g.Host) AS roles,
         (SELECT COUNT(*) FROM mysql.proxies_priv p WHERE p.Proxied_user = g.User AND p.Proxied_host = g.Host) AS proxies
    FROM mysql.global_priv g
   WHERE g.User = ? AND g.Host = '%'`;

interface PowersRow {
  locked: string | null;
  access: string | null;
  roles: number | string;
  proxies: number | string;
}

/** A count with its noun, as the refusal names it: `1 role`, `2 roles`. */
const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * The powers of the existing account as MariaDB names them (`login`, `SUPER`, `2 roles`), empty
 * when it is missing or inert (locked, no superuser privilege, no roles, no proxies).
 *
 * @example await existingPowers(sql, 'dba') // → ['login (not ACCOUNT LOCK)', 'SUPER']
 */
export async function existingPowers(sql: Sql, user: string): Promise<string[]> {
  const [row] = await sql.rows<PowersRow>(POWERS_SQL, [user]);
  if (row === undefined) return [];
  const powers: string[] = [];
  if (row.locked !== '1' && row.locked !== 'true') powers.push('login (not ACCOUNT LOCK)');
  const access = /^\d+$/.test(row.access ?? '') ? BigInt(row.access as string) : 0n;
  for (const [bit, name] of SUPERUSER_BITS) if ((access & bit) !== 0n) powers.push(name);
  const roles = Number(row.roles);
  if (roles > 0) powers.push(counted(roles, 'role'));
  const proxies = Number(row.proxies);
  if (proxies > 0) powers.push(`PROXY from ${counted(proxies, 'account')}`);
  return powers;
}
