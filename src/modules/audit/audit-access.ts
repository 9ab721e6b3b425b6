import { authorize, type Actor } from '../../domain/index.js';
import type { ChainVerification } from '../../crypto/index.js';
import type { ModuleContext } from '../context.js';
import { raiseSystemAlert } from '../alerts/alert-outbox.js';
import { exportBundle, verifyStoredChain } from './audit-reader.js';

/** `audit verify` on the server: the whole stored chain against its signed checkpoints. */
export async function verifyAudit(ctx: ModuleContext, actor: Actor): Promise<ChainVerification> {
  authorize(actor, 'audit.verify');
  const result = await verifyStoredChain(ctx.store, ctx.audit.publicKeyPem);
  if (!result.ok) {
    // A broken chain is news for security operations, whoever found it.
    await raiseSystemAlert(ctx, 'audit.verify-failed', `the audit chain failed verification at seq ${result.firstBadSeq}: ${result.reason}`, {
      firstBadSeq: result.firstBadSeq,
      reason: result.reason,
      checkedBy: actor.name,
    }).catch((error: unknown) => ctx.log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'the audit.verify-failed alert could not be written'));
  }
  return result;
}

/** `audit export`: the self-contained JSON Lines bundle, streamed. */
export function exportAudit(ctx: ModuleContext, actor: Actor): AsyncGenerator<string> {
  authorize(actor, 'audit.export');
  return exportBundle(ctx.store, ctx.audit.publicKeyPem, ctx.clock);
}
