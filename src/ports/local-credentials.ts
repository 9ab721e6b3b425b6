import type { UserId } from '../domain/index.js';

/**
 * Issue 14 (enroll): a person's local sign-in credentials as stored. Nothing here is a secret in
 * clear: the password as its argon2id PHC string, the TOTP secret sealed under the root key
 * (aad `aad.localTotpSecret(userId)`), the recovery codes as SHA-256 hex.
 */
export interface LocalCredentialRecord {
  readonly userId: UserId;
  readonly passwordHash: string;
  readonly totpSecretSealed: string;
  /** The step of the last accepted TOTP code (each code is good once); null before the first. */
  readonly totpLastStep: number | null;
  readonly recoveryHashes: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Local credentials. Must run inside `Store.transaction`. */
export interface LocalCredentialRepository {
  /** Stores a user's credentials, replacing any earlier ones (enrolling again after a new invite). */
  put(record: Omit<LocalCredentialRecord, 'createdAt' | 'updatedAt' | 'totpLastStep'>, now: Date): Promise<void>;
  find(userId: UserId): Promise<LocalCredentialRecord | undefined>;
}
