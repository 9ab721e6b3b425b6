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
  /**
   * The user an enrolment code (by its SHA-256) belongs to, if it is unused and unexpired at
   * `now`. A read: it consumes nothing (`tokens.useEnrolmentCode` does, with a compare-and-set).
   */
  inviteHolder(codeHash: string, now: Date): Promise<UserId | undefined>;
  /** Stores a user's credentials, replacing any earlier ones (enrolling again after a new invite). */
  put(record: Omit<LocalCredentialRecord, 'createdAt' | 'updatedAt' | 'totpLastStep'>, now: Date): Promise<void>;
  find(userId: UserId): Promise<LocalCredentialRecord | undefined>;
}
