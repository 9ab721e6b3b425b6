/**
 * How the root key is sealed at rest (DESIGN.md §3) and what the rest of the system may ask of
 * it. Implementations live in src/root-key/; the HTTP layer sees only `SealGate`, the store
 * implements `SealedValueRepository` for root key rotation.
 */

/** The four seals `breakglass init --seal` offers. */
export const sealModes = ['keyfile', 'passphrase', 'shamir', 'pkcs11'] as const;
export type SealMode = (typeof sealModes)[number];

/**
 * Where the secrets that open a seal come from. Each is asked for only when the seal needs it,
 * so a service that sets none of them is never prompted.
 */
export interface UnsealInputs {
  /** The passphrase of a `passphrase` seal (BREAKGLASS_PASSPHRASE, or a terminal prompt). */
  readonly passphrase?: () => Promise<string>;
  /** The user PIN of a `pkcs11` seal (BREAKGLASS_PKCS11_PIN). */
  readonly pkcs11Pin?: () => Promise<string>;
  /** `threshold` unseal shares of a `shamir` seal, in their text form (offline commands only). */
  readonly shares?: (threshold: number) => Promise<readonly string[]>;
}

/** A sealed root key and how to open it. */
export interface KeyProvider {
  readonly mode: SealMode;
  /**
   * True for `shamir`: the key is rebuilt from shares that operators present to a running,
   * sealed server one at a time, so the server starts sealed instead of asking at startup.
   */
  readonly startsSealed: boolean;
  /** Non-secret facts for status and audit events (threshold, token label, KDF parameters). */
  readonly describe: Readonly<Record<string, string | number>>;
  /** The 32-byte root key; the caller owns (and eventually zeroes) the buffer. */
  unseal(inputs: UnsealInputs): Promise<Buffer>;
}

/** `GET /v1/sys/seal-status`. `threshold` and `shares` are null for seals without shares. */
export interface SealStatus {
  readonly sealed: boolean;
  readonly mode: SealMode;
  readonly threshold: number | null;
  readonly shares: number | null;
  /** Valid distinct shares presented so far (0 once unsealed). */
  readonly progress: number;
}

/** What the HTTP layer may do with the seal: look at it, and present one unseal share. */
export interface SealGate {
  status(): SealStatus;
  /**
   * Presents one share (text form). A malformed, foreign or repeated share is refused with an
   * AppError and does not count; the threshold-th valid share unseals the server.
   */
  unseal(share: string): Promise<SealStatus>;
}

/** The columns that hold values sealed under the root key. */
export type SealedColumn = 'targets.admin_secret_sealed' | 'accounts.secret_sealed' | 'grants.credential_sealed' | 'settings.value' | 'pending_shares.share_sealed' | 'alert_channels.secret_sealed'
  // issue 14 (enroll): a person's TOTP secret.
  | 'local_credentials.totp_secret_sealed';

export interface SealedValueRecord {
  readonly column: SealedColumn;
  /** Row id (target, account, grant id) or, for settings, the setting key. */
  readonly id: string;
  /** The account's secret version, or a pending share's custodian key generation (part of the associated data); absent elsewhere. */
  readonly version?: number;
  /** A pending share's custodian (its row is grant id + holder). */
  readonly holder?: string;
  readonly sealed: string;
}

/**
 * Root key rotation: every sealed value, re-encrypted in one transaction. Must run inside
 * `Store.transaction`.
 */
export interface SealedValueRepository {
  /** Blocks other writers of the sealed tables until the transaction ends (PostgreSQL; SQLite's write transaction already does). */
  lockForRewrap(): Promise<void>;
  /**
   * PostgreSQL: connections of serving Breakglass instances to this database, from any machine
   * (by `application_name`). SQLite: 0 (a server on the same machine is found by its marker file).
   */
  servingConnections(): Promise<number>;
  /** Every non-null value of the sealed columns; of the settings table, only `settingKeys`. */
  list(settingKeys: readonly string[]): Promise<SealedValueRecord[]>;
  /** Compare-and-set: writes `to` where the value is still `record.sealed`; false otherwise. */
  replace(record: SealedValueRecord, to: string): Promise<boolean>;
  /**
   * Every text column of the store (audit tables excepted: append-only, and never hold a
   * secret) with how many values in it look like root-key envelopes (`"alg":"A256GCM"`), so a
   * rotation can refuse to leave behind a sealed column it does not know.
   */
  countEnvelopes(): Promise<{ table: string; column: string; count: number }[]>;
}
