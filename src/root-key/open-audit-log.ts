import { publicKeyFromPrivate } from '../crypto/index.js';
import { AppError } from '../errors/index.js';
import { createAuditLog, type AuditLog } from '../modules/audit/audit-log.js';
import { aad, type Vault } from '../modules/vault/vault.js';
import type { Clock, Store } from '../ports/index.js';
import { settingKeys } from './settings-keys.js';

/**
 * The audit log of a store, with its signing key opened by the root key. Needs the root key, so
 * a sealed server cannot write audit events until it is unsealed.
 */
export async function openAuditLog(store: Store, vault: Vault, clock: Clock): Promise<AuditLog> {
  const { publicKeyPem, sealed } = await store.transaction(async (tx) => ({
    publicKeyPem: await tx.settings.get(settingKeys.auditPublicKey),
    sealed: await tx.settings.get(settingKeys.auditPrivateKeySealed),
  }));
  if (!publicKeyPem || !sealed) throw new AppError('integrity', 'the audit signing key is missing from the store; was this database initialised?');
  const privateKeyPem = vault.open(sealed, aad.auditSigningKey());
  // The stored public key must be the half of our sealed private key: someone with write access
  // to the database but not the root key could otherwise re-sign a rewritten chain.
  if (publicKeyFromPrivate(privateKeyPem) !== publicKeyPem) {
    throw new AppError('integrity', 'the audit public key in the store does not match the sealed signing key; the store was tampered with');
  }
  return createAuditLog({ clock, publicKeyPem, privateKeyPem });
}
