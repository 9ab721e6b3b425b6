import { authorize, type Actor } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';

/**
 * The public key of a target's SSH certificate authority, for sshd's `TrustedUserCAKeys`.
 * With no name, the only SSH target; the private key is unsealed in memory only to derive it.
 */
export async function sshCaPublicKey(ctx: ModuleContext, actor: Actor, targetName: string | undefined): Promise<{ target: string; caPublicKey: string }> {
  authorize(actor, 'ssh-ca.read');
  const targets = (await ctx.store.transaction((tx) => tx.catalog.listTargets())).filter((t) => t.type === 'ssh');
  const target = targetName === undefined ? targets[0] : targets.find((t) => t.name === targetName);
  if (!target) throw appError.notFound(targetName === undefined ? 'ssh target (declare one with type: ssh and apply)' : `ssh target "${targetName}"`);
  if (targetName === undefined && targets.length > 1) {
    throw new AppError('validation', `there are ${targets.length} ssh targets; name one: ${targets.map((t) => t.name).join(', ')}`, { path: 'target' });
  }
  const driver = ctx.drivers('ssh');
  if (!driver?.publicInfo || target.adminSecretSealed === undefined) throw new AppError('integrity', `ssh target "${target.name}" has no CA key`);
  const info = await driver.publicInfo(ctx.vault.open(target.adminSecretSealed, aad.targetAdmin(target.id)));
  const caPublicKey = info['caPublicKey'];
  if (caPublicKey === undefined) throw new AppError('integrity', `ssh target "${target.name}" has no CA public key`);
  return { target: target.name, caPublicKey };
}
