/**
 * The two refusals of staging a pre-staged account over a login that is already on the target.
 * A reserved login (the target's admin, system users) is never taken; one that exists with
 * power of its own (can log in, superuser or equivalent, has members) only with `adopt: true`.
 */
import { AppError } from '../../errors/index.js';

/**
 * @example throw reservedLogin('postgres role', 'pg_monitor', 'PostgreSQL reserves the pg_ prefix')
 */
export function reservedLogin(what: string, principal: string, why: string): AppError {
  return new AppError('validation', `${what} ${JSON.stringify(principal)} is reserved (${why}); choose another name for the break-glass account`, { path: 'principal' });
}

/**
 * `powers` names what the login has, as the target calls it (`LOGIN`, `SUPERUSER`, `2 members`).
 *
 * @example if (powers.length && !options.adopt) throw unadoptedLogin('postgres role', role, ['LOGIN'])
 */
export function unadoptedLogin(what: string, principal: string, powers: readonly string[]): AppError {
  return new AppError(
    'conflict',
    `${what} ${JSON.stringify(principal)} already exists on the target with ${powers.join(', ')}; Breakglass takes over an existing login only when the account says adopt: true (its password will be replaced and it will be disabled between grants)`,
    { path: 'adopt' },
  );
}
