/** Keys of the settings table that the app layer owns. */
export const settingKeys = {
  auditPublicKey: 'audit.public-key',
  auditPrivateKeySealed: 'audit.private-key.sealed',
} as const;
