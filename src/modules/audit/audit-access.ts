import { authorize, type Actor } from '../../domain/index.js';
import type { ChainVerification } from '../../crypto/index.js';
import type { ModuleContext } from '../context.js';
import { exportBundle, verifyStoredChain } from './audit-reader.js';

/** `audit verify` on the server: the whole stored chain against its signed checkpoints. */
export async function verifyAudit(ctx: ModuleContext, actor: Actor): Promise<ChainVerification> {
  authorize(actor, 'audit.verify');
  return verifyStoredChain(ctx.store, ctx.audit.publicKeyPem);
}

/** `audit export`: the self-contained JSON Lines bundle, streamed. */
export function exportAudit(ctx: ModuleContext, actor: Actor): AsyncGenerator<string> {
  authorize(actor, 'audit.export');
  return exportBundle(ctx.store, ctx.audit.publicKeyPem, ctx.clock);
}
