import { ackKeySetting } from '../modules/alerts/alert-ack-link.js';

/**
 * Settings that hold the audit signing key and the alert acknowledgement-link key. Private
 * halves are sealed under the root key, so opening the audit log and rotating the root key both
 * need these names; `init` writes the audit ones, the first ack-able alert the link key.
 */
export const settingKeys = {
  auditPublicKey: 'audit.public-key',
  auditPrivateKeySealed: 'audit.private-key.sealed',
  alertAckKeySealed: ackKeySetting,
} as const;
