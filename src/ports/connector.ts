/**
 * What Breakglass needs from a target system. One interface, capability flags, one conformance
 * suite (DESIGN.md §7). Implementations live in src/connectors/<type>/ and throw `AppError`
 * with code `target_unavailable` (retryable: network, timeout, server starting) or
 * `target_error` (not retryable: permission denied, bad configuration). Errors never carry a
 * secret.
 */
export interface ConnectorCapabilities {
  /** Can terminate the live sessions of an account. */
  readonly supportsSessionKill: boolean;
  /** The credential carries its own expiry on the target (PostgreSQL VALID UNTIL, SSH validity). */
  readonly supportsNativeExpiry: boolean;
  readonly supportsPrestaged: boolean;
  readonly supportsEphemeral: boolean;
}

/** A login name and its secret. Never logged, never put in an error. */
export interface Credential {
  readonly username: string;
  readonly password: string;
}

/** What the target says about an account right now (for verification and drift detection). */
export interface AccountInspection {
  readonly exists: boolean;
  readonly canLogin: boolean;
  /** Native expiry of the credential on the target, if any. */
  readonly validUntil: Date | undefined;
  /** Number of live sessions of the account. */
  readonly sessions: number;
}

/** Result of trying a credential: did the target accept the secret? */
export type VerifyResult = 'accepted' | 'rejected';

export interface PrestagedConnector {
  readonly capabilities: ConnectorCapabilities;
  /**
   * Makes the account exist in its disabled state with the given secret: create it when
   * missing, otherwise disable it and set the secret. Idempotent.
   */
  stage(principal: string, secret: string): Promise<void>;
  /** Lets the account log in until `validUntil` (carried natively where the target can). */
  enable(principal: string, validUntil: Date): Promise<void>;
  /** Stops new logins and terminates every live session of the account. */
  disable(principal: string): Promise<void>;
  /** Replaces the account's secret; the account stays disabled. */
  rotate(principal: string, newSecret: string): Promise<void>;
  /**
   * Does the target accept this secret for the account? A disabled account whose secret is
   * right counts as `accepted` where the target can tell (PostgreSQL authenticates before it
   * checks LOGIN), so a rotation can be verified without enabling the account.
   */
  verify(credential: Credential): Promise<VerifyResult>;
  inspect(principal: string): Promise<AccountInspection>;
  /** Releases pooled connections. */
  close(): Promise<void>;
}

/** Connection settings of a target plus its admin secret, unsealed only for the call. */
export interface TargetConnection {
  readonly type: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly adminSecret: string | undefined;
  /** Per-operation timeout in milliseconds (default 5000). */
  readonly timeoutMs?: number;
}

export type ConnectorFactory = (target: TargetConnection) => PrestagedConnector;
