import { AppError, appError } from '../errors/index.js';
import type { AccountRecord, Connector, EphemeralOperations, PrestagedOperations, TargetRecord } from '../ports/index.js';
import type { ModuleContext } from './context.js';
import { aad } from './vault/vault.js';

/**
 * Runs `work` with a connector to the target, unsealing its admin secret only for the call,
 * and always releases the connection.
 */
export async function withConnector<T>(
  ctx: Pick<ModuleContext, 'connectors' | 'vault'>,
  target: TargetRecord,
  work: (connector: Connector) => Promise<T>,
): Promise<T> {
  const adminSecret =
    target.adminSecretSealed === undefined ? undefined : ctx.vault.open(target.adminSecretSealed, aad.targetAdmin(target.id));
  const timeout = target.settings['timeoutMs'];
  const connector = ctx.connectors({
    name: target.name,
    type: target.type,
    settings: target.settings,
    adminSecret,
    ...(typeof timeout === 'number' ? { timeoutMs: timeout } : {}),
  });
  try {
    return await work(connector);
  } finally {
    await connector.close();
  }
}

/** The current pre-staged secret of an account, unsealed in memory. */
export function openAccountSecret(ctx: Pick<ModuleContext, 'vault'>, account: AccountRecord): string {
  if (account.secretSealed === undefined) throw appError.conflict(`account "${account.name}" has no staged secret yet`);
  return ctx.vault.open(account.secretSealed, aad.accountSecret(account.id, account.secretVersion));
}

/** The pre-staged operations of a connector, or a clear error when its type has none. */
export function prestagedOps(connector: Connector, target: TargetRecord): PrestagedOperations {
  if (!connector.prestaged) throw new AppError('target_error', `targets of type ${target.type} do not support pre-staged accounts`);
  return connector.prestaged;
}

/** The ephemeral operations of a connector, or a clear error when its type has none. */
export function ephemeralOps(connector: Connector, target: TargetRecord): EphemeralOperations {
  if (!connector.ephemeral) throw new AppError('target_error', `targets of type ${target.type} do not support ephemeral accounts`);
  return connector.ephemeral;
}
