import { generatePassword } from '../../crypto/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord, TargetRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { restoreStandby } from '../custodians/standby.js';
import { prestagedOps, withConnector } from '../targets.js';

/**
 * Rotates on the target and proves it: the old secret rejected, the new one accepted. Only a
 * verified new secret goes back on standby for the offline kit. Returns the new secret.
 */
export async function rotateVerified(ctx: ModuleContext, account: AccountRecord, target: TargetRecord, oldSecret: string): Promise<string> {
  const newSecret = generatePassword();
  await withConnector(ctx, target, async (connector) => {
    const ops = prestagedOps(connector, target);
    await ops.rotate(account.principal, newSecret);
    const oldVerdict = await ops.verify({ username: account.principal, password: oldSecret });
    const newVerdict = await ops.verify({ username: account.principal, password: newSecret });
    if (oldVerdict !== 'rejected' || newVerdict !== 'accepted') {
      throw new AppError('target_unavailable', `rotation of "${account.principal}" on "${target.name}" not verified (old ${oldVerdict}, new ${newVerdict})`);
    }
    await restoreStandby(ops, account);
  });
  return newSecret;
}
