import { openWithRootKey, sealWithRootKey } from '../../crypto/index.js';
import type { AccountId, GrantId, TargetId, UserId } from '../../domain/index.js';

/**
 * Seals secrets under the root key (envelope encryption). The associated data binds each
 * ciphertext to its row and version, so a sealed value copied to another row does not open.
 */
export interface Vault {
  seal(plaintext: string, aad: string): string;
  open(sealed: string, aad: string): string;
}

export function createVault(rootKey: Buffer): Vault {
  return {
    seal: (plaintext, aad) => sealWithRootKey(rootKey, plaintext, aad),
    open: (sealed, aad) => openWithRootKey(rootKey, sealed, aad).toString('utf8'),
  };
}

/** Associated data of each kind of sealed value: one place, so writers and readers agree. */
export const aad = {
  targetAdmin: (id: TargetId) => `target:${id}:admin-secret`,
  accountSecret: (id: AccountId, version: number) => `account:${id}:secret:v${version}`,
  auditSigningKey: () => 'settings:audit.signing-key',
  grantCredential: (id: GrantId) => `grant:${id}:credential`,
  pendingShare: (id: GrantId, holder: string, keyGeneration: number) => `grant:${id}:share:${holder}:key-generation:${keyGeneration}`,
  channelSecret: (name: string) => `alert-channel:${name}:secret`,
  alertAckKey: () => 'settings:alert.ack-key',
  // issue 14 (enroll): a person's TOTP secret, bound to their row in local_credentials.
  localTotpSecret: (id: UserId) => `user:${id}:totp-secret`,
} as const;
