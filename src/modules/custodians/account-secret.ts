import { kitBinding, sealToPublicKey, sealedKeyId } from '../../crypto/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';

/**
 * Seals an account's pre-staged secret the way its policy demands: to the custodians' public
 * key for dual-control accounts (the server cannot open it again), else under the root key.
 */
export async function sealAccountSecret(ctx: Pick<ModuleContext, 'vault'>, tx: StoreTx, account: AccountRecord, secret: string, version: number): Promise<string> {
  if (!account.quorum) return ctx.vault.seal(secret, aad.accountSecret(account.id, version));
  const key = await tx.catalog.getCustodianKey(account.id);
  if (!key) throw new AppError('conflict', `account "${account.name}" needs its key ceremony first: breakglass ceremony ${account.name}`);
  return sealToPublicKey(key.publicKey, secret, await custodianSecretAad(tx, account, version));
}

/**
 * Seals a new secret the account's way and records it as the next version, a compare-and-set on
 * the version the caller read: a stage or rotation by another instance in between makes this
 * one fail with `conflict` instead of both winning. Callers hold `ctx.accountLocks` for the
 * account from reading it to here, so within one process the writers never race.
 */
export async function recordAccountSecret(ctx: Pick<ModuleContext, 'vault'>, tx: StoreTx, account: AccountRecord, secret: string): Promise<number> {
  const version = account.secretVersion + 1;
  await tx.catalog.setAccountSecret(account.id, await sealAccountSecret(ctx, tx, account, secret, version), account.secretVersion);
  return version;
}

/** The associated data of a custodian-sealed secret: its row and version, and what it opens. */
export async function custodianSecretAad(tx: StoreTx, account: AccountRecord, version: number): Promise<string> {
  const target = await tx.catalog.findTargetById(account.targetId);
  const { host, port } = target?.settings ?? {};
  return (
    aad.accountSecret(account.id, version) +
    kitBinding({
      account: account.name,
      username: account.principal,
      target: { type: target?.type ?? '', host: typeof host === 'string' ? host : undefined, port: typeof port === 'number' ? port : undefined },
    })
  );
}

/** Is this sealed secret sealed to a custodian key (and so closed to the server)? */
export function isCustodianSealed(sealed: string): boolean {
  return sealedKeyId(sealed) !== undefined;
}
