import { createHash } from 'node:crypto';
import { canonicalJson } from '../../crypto/canonical-json.js';
import { LEGACY_STAGED_ON, type AccountRecord, type TargetRecord } from '../../ports/index.js';
import { connectionFields } from './catalog-plan.js';

/**
 * Where an account is staged: the target, how it is reached (every connection setting), and the
 * principal — hashed, so the mark names no host. Staging records it; the next staging compares.
 *
 * @example stagingMark(target, 'bg_admin') // → 'sha256:3f0c…'
 */
export function stagingMark(target: TargetRecord, principal: string): string {
  const place = { target: target.id, type: target.type, connection: connectionFields(target.settings), principal };
  return `sha256:${createHash('sha256').update(canonicalJson(place)).digest('hex')}`;
}

/**
 * May staging take over a login that already exists there? When the account says `adopt: true`,
 * or when Breakglass staged this principal at this very place itself (a new key ceremony, a
 * change of sealing): then the login found is its own. A redirected target or a renamed
 * principal is somewhere new. Accounts staged before marks existed are trusted once.
 */
export function mayAdopt(account: AccountRecord, target: TargetRecord): boolean {
  if (account.spec['adopt'] === true) return true;
  return account.stagedOn === LEGACY_STAGED_ON || account.stagedOn === stagingMark(target, account.principal);
}
