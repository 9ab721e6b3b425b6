import type { AccountRecord, PrestagedOperations } from '../../ports/index.js';

/** "No expiry" for a standing login: the far end of every target's date range. */
export const standbyUntil = new Date('9999-12-31T00:00:00Z');

/**
 * A dual-control account with offline access stands ready to log in between grants: the
 * offline kit is useless against a disabled account, and the kit exists for when Breakglass
 * is down. The secret itself is what is guarded — k custodians together, rotated after each use.
 */
export async function restoreStandby(ops: PrestagedOperations, account: AccountRecord): Promise<boolean> {
  if (!account.quorum?.offlineAccess) return false;
  await ops.enable(account.principal, standbyUntil);
  return true;
}
