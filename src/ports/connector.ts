/**
 * What Breakglass needs from a target system. One interface, capability flags, one conformance
 * suite (DESIGN.md §7, test/conformance/connector-conformance.ts). Implementations live in
 * src/connectors/<type>/ and throw `AppError` with code `target_unavailable` (retryable:
 * network, timeout, server starting), `target_error` (not retryable: permission denied, bad
 * configuration) or `validation` (a hostile or malformed name). Errors never carry a secret.
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

/**
 * What the one-time reveal hands to the responder: `{username, password}` for databases,
 * caches and directories; `{username, certificate, privateKey}` for SSH.
 */
export type RevealedCredential = { readonly username: string } & Readonly<Record<string, string>>;

/** What the target says about an account right now (for verification and drift detection). */
export interface AccountInspection {
  readonly exists: boolean;
  readonly canLogin: boolean;
  /** Native expiry of the credential on the target, if any. */
  readonly validUntil: Date | undefined;
  /** Number of live sessions of the account (0 where the target cannot tell). */
  readonly sessions: number;
  // issue 12 (P1): declared privileges read back.
  /**
   * How the account's privileges on the target differ from what the account spec declares (one
   * line each, no secret), `[]` when they match; `undefined` when not compared (no spec given,
   * or a connector that cannot read them back).
   */
  readonly privilegeDifferences?: readonly string[];
}

/** Result of trying a credential: did the target accept the secret? */
export type VerifyResult = 'accepted' | 'rejected';

// issue 12 (P2): truthful evidence — what ending sessions did, and what the server answered.
/**
 * What `disable` / `revoke` found and did: the account's live sessions when it looked (after
 * new logins were stopped), and how many of them it ended. A connector that cannot see sessions
 * returns nothing (recorded as 0, like `AccountInspection.sessions`).
 */
export interface SessionsEnded {
  readonly sessionsBefore: number;
  readonly sessionsEnded: number;
}
/** A verdict with the server's own answer code behind it (SQLSTATE `28P01`, MariaDB `1045`, …; `ok` when accepted). */
export interface DetailedVerify {
  readonly verdict: VerifyResult;
  /** Never server text: a code or a short fixed word, safe for the audit chain. */
  readonly code: string | undefined;
}

/** Account-level settings from the catalog (role, user, privileges, rules, principals, …). */
export type AccountSpec = Readonly<Record<string, unknown>>;

/** How far staging may go with a login that is already on the target. */
export interface StageOptions {
  /**
   * Take over a login that exists with login rights, superuser (or the target's equivalent) or
   * members. Breakglass passes true when the account says `adopt: true`, or when it staged this
   * principal on this target itself before. Reserved logins (the target's admin, system users)
   * are refused whatever this says.
   */
  readonly adopt: boolean;
}

/** Pre-staged mode: a standing account kept disabled, enabled for a grant, rotated after. */
export interface PrestagedOperations {
  /**
   * Makes the account exist in its disabled state with the given secret: create it when
   * missing, otherwise disable it and set the secret. Idempotent. A login that exists with
   * power of its own is refused (`conflict`, naming what it has) unless `options.adopt`.
   */
  stage(principal: string, secret: string, spec?: AccountSpec, options?: StageOptions): Promise<void>;
  /** Lets the account log in until `validUntil` (carried natively where the target can). */
  enable(principal: string, validUntil: Date): Promise<void>;
  /** Stops new logins and terminates every live session of the account. Idempotent. */
  disable(principal: string): Promise<SessionsEnded | void>;
  /** Replaces the account's secret; the account stays (or becomes) disabled. */
  rotate(principal: string, newSecret: string): Promise<void>;
  /**
   * Does the target accept this secret for the account? Must work while the account is
   * disabled (PostgreSQL authenticates before it checks LOGIN; Redis compares the stored hash),
   * so a rotation can be verified without enabling the account.
   */
  verify(credential: Credential): Promise<VerifyResult>;
  /** issue 12 (P2): `verify` with the server's answer code; optional (rotation evidence falls back to `verify`). */
  verifyDetailed?(credential: Credential): Promise<DetailedVerify>;
  /**
   * A real login with the credential, as a responder would make it (drills, issue 10): accepted
   * only while the account may log in now, unlike `verify`. The session is closed at once.
   * Optional: without it a drill falls back to `verify` and says so.
   */
  tryLogin?(credential: Credential): Promise<VerifyResult>;
  inspect(principal: string): Promise<AccountInspection>;
  // issue 12 (P1): with the account spec, `inspect` also compares the declared privileges.
  inspect(principal: string, spec: AccountSpec | undefined): Promise<AccountInspection>;
}

/** What an ephemeral credential is issued for. The connector derives names from `grantId`. */
export interface IssueRequest {
  readonly grantId: string;
  readonly spec: AccountSpec;
  readonly validUntil: Date;
}

/** Ephemeral mode: a per-grant credential created with the grant's scope and expiry. */
export interface EphemeralOperations {
  /** Creates the credential; idempotent per grant id (a retry replaces a half-made one). */
  issue(request: IssueRequest): Promise<RevealedCredential>;
  /** Destroys the credential and ends its sessions (or publishes its revocation). Idempotent. */
  revoke(request: Omit<IssueRequest, 'validUntil'>): Promise<SessionsEnded | void>;
  /** `exists: false` (or `canLogin: false`) once revoked; used to verify revocation. */
  inspectIssued(request: Omit<IssueRequest, 'validUntil'>): Promise<AccountInspection>;
  /**
   * A real login on the target with the credential `issue` returned for this request, as a
   * responder would make it (drills, issue 10): accepted only while the target lets it in now
   * (for SSH: the certificate valid and not in the KRL). The session is closed at once.
   * Optional: without it a drill logs in through the pre-staged side with a `{username,
   * password}` credential, where the connector has one.
   */
  tryLoginIssued?(request: Omit<IssueRequest, 'validUntil'>, credential: RevealedCredential): Promise<VerifyResult>;
  /**
   * Issue 11 (H2): moves the native expiry of the credential issued for this grant to
   * `validUntil` (an extension); the caller verifies with `inspectIssued`. Optional: without it
   * an ephemeral grant on this type of target cannot be extended.
   */
  extendIssued?(request: IssueRequest): Promise<void>;
}

export interface Connector {
  readonly capabilities: ConnectorCapabilities;
  readonly prestaged?: PrestagedOperations;
  readonly ephemeral?: EphemeralOperations;
  /** Releases pooled connections. */
  close(): Promise<void>;
}

/** Connection settings of a target plus its admin secret, unsealed only for the call. */
export interface TargetConnection {
  /** The target's name in the catalog (for messages and per-target files). */
  readonly name?: string;
  readonly type: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly adminSecret: string | undefined;
  /** Per-operation timeout in milliseconds (default 5000). */
  readonly timeoutMs?: number;
  // issue 13 (per-target limit)
  /**
   * Admin connections a pooled connector (postgres, mysql, redis, ldap) keeps to the target at
   * most, which is also how many operations run on it at once (BREAKGLASS_TARGET_CONNECTIONS,
   * default 4); the others wait for one.
   */
  readonly poolMax?: number;
}

/** What the server knows that a target's settings may depend on (see `prepareSettings`). */
export interface SettingsContext {
  /** The server's data directory (BREAKGLASS_DATA_DIR). */
  readonly dataDir: string;
  /** Directories whose executables exec targets may run (BREAKGLASS_EXEC_DIRS). */
  readonly execDirs: readonly string[];
  /** Directories besides the data directory where SSH targets may keep their KRL (BREAKGLASS_KRL_DIRS). */
  readonly krlDirs: readonly string[];
  /** The target's name in the catalog, if known. */
  readonly targetName: string | undefined;
}

/**
 * One registered connector type. The registry (src/connectors/specs.ts) names each type once:
 * its spec, which tells the catalog what the type accepts, and how to load this driver.
 */
export interface ConnectorDriver {
  create(target: TargetConnection): Connector;
  /**
   * Server-side preparation of the stored settings before every `create`: defaults that depend
   * on the server (SSH's KRL under the data directory) and checks against its own policy (exec
   * commands under BREAKGLASS_EXEC_DIRS). Throws `target_error` when the server refuses them.
   */
  prepareSettings?(settings: Readonly<Record<string, unknown>>, context: SettingsContext): Readonly<Record<string, unknown>>;
  /**
   * For targets whose secret Breakglass creates itself (the SSH certificate authority):
   * called at apply time when the target has no admin secret yet.
   */
  generateAdminSecret?(): Promise<string>;
  /** Public facts derived from the admin secret, e.g. `{caPublicKey}` for SSH. Never a secret. */
  publicInfo?(adminSecret: string): Promise<Readonly<Record<string, string>>>;
}

export type ConnectorFactory = (target: TargetConnection) => Connector;

/** The login name of a grant's ephemeral credential: stable per grant, safe on every target. */
export function ephemeralPrincipal(grantId: string): string {
  return `bg_${grantId.replace(/^gr_/, '').toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 32);
}
