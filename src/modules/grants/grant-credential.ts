import type { GrantId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { RevealedCredential, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';

/**
 * The credential a grant carries under the root key: an ephemeral credential until its one
 * reveal, or a dual-control secret released at the quorum until the rotation has proved it dead.
 */
export function sealGrantCredential(ctx: Pick<ModuleContext, 'vault'>, id: GrantId, credential: RevealedCredential): string {
  return ctx.vault.seal(JSON.stringify(credential), aad.grantCredential(id));
}

/**
 * Opens the credential a grant carries, checked for its shape: a malformed one is an integrity
 * error, never an unchecked cast. Returns undefined when the grant carries none.
 */
export async function openGrantCredential(ctx: Pick<ModuleContext, 'vault'>, tx: StoreTx, id: GrantId): Promise<RevealedCredential | undefined> {
  const sealed = await tx.grants.getCredential(id);
  if (sealed === undefined) return undefined;
  let credential: unknown;
  try {
    credential = JSON.parse(ctx.vault.open(sealed, aad.grantCredential(id)));
  } catch (cause) {
    if (cause instanceof AppError) throw cause;
    throw new AppError('integrity', `grant ${id} holds a credential that is not JSON`);
  }
  if (!isRevealable(credential)) throw new AppError('integrity', `grant ${id} holds a credential of an unknown shape`);
  return credential;
}

/** The released password of a dual-control grant, or an integrity error naming what is missing. */
export async function releasedPassword(ctx: Pick<ModuleContext, 'vault'>, tx: StoreTx, id: GrantId): Promise<string | undefined> {
  const credential = await openGrantCredential(ctx, tx, id);
  if (credential === undefined) return undefined;
  const password = credential['password'];
  if (typeof password !== 'string') throw new AppError('integrity', `grant ${id} holds a released credential without a password`);
  return password;
}

function isRevealable(value: unknown): value is RevealedCredential {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  const str = (key: string) => typeof v[key] === 'string';
  return str('username') && (str('password') || (str('certificate') && str('privateKey'))) && Object.values(v).every((x) => typeof x === 'string');
}
