import { authorize, type Actor } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { custodianSecretAad, isCustodianSealed } from './account-secret.js';

/**
 * The offline kit of a dual-control account: everything k custodians need to open the current
 * secret with no server — the secret sealed to their key, the public key to check the rebuilt
 * key, and the fingerprints of their shares. Nothing in it opens without k shares. The serial
 * changes with every rotation and every ceremony, so a stale printed kit is detectable.
 */
export async function kitDocument(ctx: ModuleContext, actor: Actor, accountName: string) {
  return ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountByName(accountName);
    if (!account) throw appError.notFound(`account "${accountName}"`);
    // Before anything tells whether the account has a ceremony or a staged secret.
    authorize(actor, 'custodian.kit', { account: { name: account.name, custodians: account.quorum?.custodians ?? [] } });
    const key = await tx.catalog.getCustodianKey(account.id);
    if (!account.quorum || !key) throw appError.notFound(`key ceremony of account "${accountName}" (run breakglass ceremony ${accountName})`);
    if (account.secretSealed === undefined || account.staging !== 'staged' || !isCustodianSealed(account.secretSealed)) {
      throw new AppError('not_found', `account "${accountName}" has no secret sealed to its custodians yet; it is being staged`);
    }
    const target = await tx.catalog.findTargetById(account.targetId);
    const { host, port } = target?.settings ?? {};
    return {
      format: 'breakglass-kit' as const,
      version: 1 as const,
      account: account.name,
      username: account.principal,
      target: {
        name: target?.name ?? '',
        type: target?.type ?? '',
        ...(typeof host === 'string' ? { host } : {}),
        ...(typeof port === 'number' ? { port } : {}),
      },
      kid: key.kid,
      publicKey: key.publicKey,
      threshold: key.threshold,
      custodians: key.shares.map((s) => ({ name: s.holder, fingerprint: s.fingerprint })),
      kitSerial: `${key.kid}.${account.secretVersion}`,
      secretVersion: account.secretVersion,
      aad: await custodianSecretAad(tx, account, account.secretVersion),
      sealed: account.secretSealed,
      issuedAt: ctx.clock.now().toISOString(),
    };
  });
}
