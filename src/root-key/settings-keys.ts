/**
 * Settings that hold the audit signing key. Its private half is sealed under the root key, so
 * opening the audit log and rotating the root key both need these names; `init` writes them.
 */
export const settingKeys = {
  auditPublicKey: 'audit.public-key',
  auditPrivateKeySealed: 'audit.private-key.sealed',
} as const;
