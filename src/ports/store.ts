import type { AlertAckRepository, AlertCatalogRepository, AlertMarkRepository, OutboxRepository } from './alerts.js';
import type { DriftRepository } from './drift.js';
import type {
  Account,
  AccountId,
  Grant,
  GrantId,
  GrantState,
  JobId,
  Policy,
  Target,
  TokenId,
  UserId,
  UserRole,
} from '../domain/index.js';
import type { SealedValueRepository } from './key-provider.js';
// issue 11 (H2): co-responders
import type { CoResponderRepository } from './co-responders.js';
// issue 14 (enroll)
import type { LocalCredentialRepository } from './local-credentials.js';

/**
 * Persistence port. Every write happens inside `Store.transaction`, and the repositories are
 * reachable only from the transaction handle, so a state change and its audit event cannot be
 * written apart (invariant I2).
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * Calls `listener` when another instance (or this one) schedules or puts back a job, with its
   * due time when known; returns the unsubscribe. PostgreSQL only (`LISTEN/NOTIFY`); absent on
   * SQLite, where one process owns the file and the poll suffices. A hint, never the schedule.
   */
  onJobsChanged?(listener: (dueAt: Date | undefined) => void): () => void;
  // issue 13 (store reads)
  /**
   * Runs read-only work on one consistent snapshot, without the write lock: SQLite reads a WAL
   * snapshot on its own read-only connection (a writer, in this process or another, never makes
   * it wait); PostgreSQL runs a `REPEATABLE READ, READ ONLY` transaction, never serializable.
   * The handle offers lookups only, so nothing can be written (or audited) through it: anything
   * that must be audited or changes state goes through `transaction`.
   * @example const grant = await store.read((tx) => tx.grants.findById(id));
   */
  read<T>(work: (tx: StoreReadTx) => Promise<T>): Promise<T>;
}

// issue 13 (store reads)
/** What a read may call: the repositories' lookups, and the chain head without its lock. */
export interface StoreReadTx {
  readonly users: Pick<UserRepository, 'findByName' | 'findById' | 'list'>;
  readonly tokens: Pick<TokenRepository, 'findByHash' | 'findById' | 'list' | 'enrolmentCodeHolder'>;
  readonly catalog: Pick<
    CatalogRepository,
    'listTargets' | 'listPolicies' | 'listAccounts' | 'findAccountByName' | 'findAccountById' | 'findTargetById' | 'findPolicyById' | 'getCustodianKey'
  >;
  readonly grants: Pick<GrantRepository, 'findById' | 'list' | 'holdingAccount' | 'accountsHeld'>;
  readonly jobs: Pick<JobRepository, 'findFor' | 'nextDueAt'>;
  readonly audit: Pick<AuditRepository, 'events' | 'checkpoints' | 'lastCheckpoint' | 'eventsAbout'> &
    // issue 13 (verify): chain verification reads its pages without the write lock.
    Pick<AuditRepository, 'storedEvents'> & {
    /** The chain head as committed when the read began (no lock: a read never delays an append). */
    head(): Promise<{ seq: number; hash: string; checkpointAt: Date | undefined }>;
  };
  readonly settings: Pick<SettingsRepository, 'get'>;
  readonly coResponders: Pick<CoResponderRepository, 'list' | 'find'>;
}

/**
 * What is wrong with the store itself, as opposed to one unit of work: it cannot take a write
 * (disk full, read-only, I/O error), it cannot be reached (PostgreSQL down), or it is `lost` —
 * the SQLite file the server opened was removed or replaced under it (terminal).
 */
export type StoreFault = 'unwritable' | 'unreachable' | 'lost';

/** A fault and what it is, for the operator: no secret, no path outside the data directory. */
export interface StoreCondition {
  readonly fault: StoreFault;
  readonly detail: string;
}

/** The store's own view of its health, for the monitor in src/modules/store-health. */
export interface StoreHealthProbe {
  /**
   * A cheap check that the store is the one opened and takes a write (a heartbeat row);
   * undefined when it does. Never throws.
   */
  probe(): Promise<StoreCondition | undefined>;
  /** What a failed transaction says about the store itself; undefined for an ordinary failure. */
  diagnose(error: unknown): StoreCondition | undefined;
}

/** A store that can say whether it is healthy (both dialects' `create*` return one). */
export interface ProbedStore extends Store {
  readonly health: StoreHealthProbe;
}

export interface StoreTx {
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly catalog: CatalogRepository;
  readonly grants: GrantRepository;
  readonly jobs: JobRepository;
  readonly pendingShares: PendingShareRepository;
  readonly alerts: AlertCatalogRepository;
  readonly outbox: OutboxRepository;
  readonly alertMarks: AlertMarkRepository;
  readonly alertAcks: AlertAckRepository;
  readonly drift: DriftRepository;
  readonly audit: AuditRepository;
  readonly settings: SettingsRepository;
  /** Root key rotation only (src/root-key). */
  readonly sealedValues: SealedValueRepository;
  // issue 11 (H2): the co-responders of live pre-staged cases.
  readonly coResponders: CoResponderRepository;
  // issue 14 (enroll): local sign-in credentials.
  readonly localCredentials: LocalCredentialRepository;
}

export interface UserRecord {
  readonly id: UserId;
  readonly name: string;
  readonly roles: readonly UserRole[];
  /** A custodian's X25519 public key: ceremony shares are encrypted to it. */
  readonly recipient?: string | undefined;
  readonly createdAt: Date;
  /** Automation, not a person: an admin may mint its tokens. */
  readonly service: boolean;
  /** No token of a disabled user authenticates. */
  readonly disabled: boolean;
  /** Listed by a catalog: a later catalog that no longer lists the user disables them. */
  readonly declared: boolean;
}

export interface UserUpsert {
  readonly name: string;
  readonly roles: readonly UserRole[];
  readonly recipient?: string | undefined;
  readonly service?: boolean;
  readonly disabled?: boolean;
  /** Set by catalog apply; the first admin from `init` is not declared. */
  readonly declared?: boolean;
}

export interface UserRepository {
  /** Creates or replaces a user by name (the id stays); absent flags are false. */
  upsert(user: UserUpsert, now: Date): Promise<UserRecord>;
  findByName(name: string): Promise<UserRecord | undefined>;
  findById(id: UserId): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  setDisabled(id: UserId, disabled: boolean): Promise<void>;
}

/** An API token as listed: never the token, nor its hash. */
export interface TokenRecord {
  readonly id: TokenId;
  readonly userId: UserId;
  /** The owner's name. */
  readonly user: string;
  readonly label: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | undefined;
  readonly lastUsedAt: Date | undefined;
  readonly revokedAt: Date | undefined;
  /** Who minted it (a user name, or `system`). */
  readonly createdBy: string;
  readonly createdById: UserId | undefined;
}

export interface NewToken {
  readonly id: TokenId;
  readonly userId: UserId;
  /** SHA-256 of the bearer token; the token itself is never stored. */
  readonly tokenHash: string;
  readonly label: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | undefined;
  readonly createdBy: string;
  readonly createdById: UserId | undefined;
}

export interface EnrolmentCode {
  /** SHA-256 of the code; the code itself is never stored. */
  readonly codeHash: string;
  readonly userId: UserId;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export interface TokenRepository {
  insert(token: NewToken): Promise<void>;
  /** The token with this hash and its user, whatever their state (the caller decides). */
  findByHash(tokenHash: string): Promise<{ token: TokenRecord; user: UserRecord } | undefined>;
  findById(id: TokenId): Promise<TokenRecord | undefined>;
  /** Newest first; one user's, or everybody's. */
  list(filter: { userId?: UserId }): Promise<TokenRecord[]>;
  /** Records when the token was last used. */
  touch(id: TokenId, now: Date): Promise<void>;
  /** Revokes one token; false when it was already revoked (compare-and-set). */
  revoke(id: TokenId, now: Date): Promise<boolean>;
  /** Revokes every live token of a user; returns how many. */
  revokeAllOf(userId: UserId, now: Date): Promise<number>;
  addEnrolmentCode(code: EnrolmentCode): Promise<void>;
  /**
   * Uses a code: succeeds once, before its expiry (compare-and-set on `used_at`), and returns
   * whose it is; `undefined` for an unknown, used or expired code.
   */
  useEnrolmentCode(codeHash: string, now: Date): Promise<UserId | undefined>;
  // issue 14 (enroll)
  /**
   * The user an enrolment code (by its SHA-256) belongs to, if it is unused and unexpired at
   * `now`. A read: it consumes nothing (`useEnrolmentCode` does, with a compare-and-set).
   */
  enrolmentCodeHolder(codeHash: string, now: Date): Promise<UserId | undefined>;
}

export interface TargetRecord extends Target {
  /** Envelope-sealed admin secret (see src/crypto/envelope.ts), never plaintext. */
  readonly adminSecretSealed: string | undefined;
}

/** `AccountRecord.stagedOn` of accounts staged before marks existed: trusted once. */
export const LEGACY_STAGED_ON = 'legacy';

export interface AccountRecord extends Account {
  /** Envelope-sealed current secret of a pre-staged account. */
  readonly secretSealed: string | undefined;
  /**
   * Where Breakglass last staged this account itself (`stagingMark`: target, its connection and
   * the principal). A login found there is ours to stage again; anywhere else it must be adopted.
   */
  readonly stagedOn: string | undefined;
}

export interface CustodianKeyRecord {
  readonly accountId: AccountId;
  /** Short id of the public key: which ceremony a share or a sealed file belongs to. */
  readonly kid: string;
  /** Raw X25519 public key, base64url. */
  readonly publicKey: string;
  readonly threshold: number;
  /** One entry per custodian: who holds which share, known by its fingerprint only. */
  readonly shares: readonly { readonly holder: string; readonly fingerprint: string }[];
  /** Increments with every ceremony. */
  readonly generation: number;
  readonly createdAt: Date;
}

export interface CatalogRepository {
  upsertTarget(target: Omit<TargetRecord, 'id'>): Promise<TargetRecord>;
  upsertPolicy(policy: Omit<Policy, 'id'>): Promise<Policy>;
  upsertAccount(account: Omit<AccountRecord, 'id' | 'staging' | 'secretVersion' | 'secretSealed' | 'stagedOn'>): Promise<AccountRecord>;
  /** The catalog as it stands: retired targets, policies and accounts are not listed. */
  listTargets(): Promise<TargetRecord[]>;
  listPolicies(): Promise<Policy[]>;
  listAccounts(): Promise<AccountRecord[]>;
  /** Not found once retired (it cannot be invoked); by id it stays reachable for past cases. */
  findAccountByName(name: string): Promise<AccountRecord | undefined>;
  findAccountById(id: AccountId): Promise<AccountRecord | undefined>;
  /** The catalog no longer lists it: hidden from listings and invocation; an upsert of its name brings it back. */
  retire(kind: 'target' | 'policy' | 'account', id: string, at: Date): Promise<void>;
  findTargetById(id: Target['id']): Promise<TargetRecord | undefined>;
  findPolicyById(id: Policy['id']): Promise<Policy | undefined>;
  /**
   * Records a new sealed secret: staging becomes `staged`, secretVersion becomes `expected + 1`.
   * A compare-and-set on the version: throws `conflict` when the account's version is no longer
   * `expected` (another stage or rotation wrote first), so two writers never both win.
   */
  setAccountSecret(id: AccountId, sealed: string, expected: number): Promise<void>;
  /** The public half of a dual-control account's key, and fingerprints of its shares. */
  getCustodianKey(accountId: AccountId): Promise<CustodianKeyRecord | undefined>;
  /** Replaces the account's custodian key (a new ceremony: the old shares stop working). */
  setCustodianKey(key: CustodianKeyRecord): Promise<void>;
  /** Remembers where the account was staged (see `AccountRecord.stagedOn`). */
  markStaged(id: AccountId, mark: string): Promise<void>;
  /** Forgets the staged secret: the account's principal or target changed, stage it again. */
  resetStaging(id: AccountId): Promise<void>;
  /** Locks the account row until the transaction ends (PostgreSQL); a no-op on SQLite. */
  lockAccount(id: AccountId): Promise<void>;
}

/** What `grants.list` keeps; every filter applies in SQL, before the limit. */
export interface GrantListFilter {
  readonly states?: readonly GrantState[];
  readonly accountId?: AccountId;
  readonly requesterId?: UserId;
  readonly drill?: boolean;
  readonly limit?: number;
  // issue 11 (H3): the history query.
  readonly requesterName?: string;
  /** By account name, retired accounts included (their cases stay history). */
  readonly accountName?: string;
  readonly incident?: string;
  /** Created at or after. */
  readonly since?: Date;
  /** Created before. */
  readonly until?: Date;
  /** Only cases past (true) or not past (false) their certification deadline. */
  readonly certificationOverdue?: boolean;
  /** Keyset page: only grants after this one in the newest-first order (created_at, id). */
  readonly before?: { readonly createdAt: Date; readonly id: GrantId };
}

export interface GrantRepository {
  insert(grant: Grant): Promise<void>;
  /**
   * Writes the whole grant as a compare-and-set on what `previous` read: its state and its
   * reveal, so two racing transitions (or two reveals) of one grant cannot both win.
   */
  update(grant: Grant, previous: Pick<Grant, 'state' | 'revealedAt'>): Promise<void>;
  findById(id: GrantId): Promise<Grant | undefined>;
  /** The sealed credential of an ephemeral grant; `undefined` clears it (after the reveal). */
  setCredential(id: GrantId, sealed: string | undefined): Promise<void>;
  getCredential(id: GrantId): Promise<string | undefined>;
  /** Newest first; `requesterId` keeps one person's grants (filtered in SQL, before the limit). */
  list(filter: GrantListFilter): Promise<Grant[]>;
  /** The grants that hold this account (domain `holdsAccount`, filtered in SQL), oldest first. */
  holdingAccount(accountId: AccountId): Promise<Grant[]>;
  /** Every account some grant holds (domain `holdsAccount`, filtered in SQL). */
  accountsHeld(): Promise<AccountId[]>;
}

/** Work the scheduler does on a grant: start revocation at the TTL, revoke, rotate. */
export type GrantJob = { readonly kind: 'expire' | 'revoke' | 'rotate' | CertificationJobKind; readonly grantId: GrantId };
// issue 11 (H3): the policy's `certifyWithin` passes for a case awaiting certification.
export type CertificationJobKind = 'certification-deadline';
/** Work the scheduler does on an account: stage its secret on the target. */
export type AccountJob = { readonly kind: 'stage'; readonly accountId: AccountId } | { readonly kind: 'drill'; readonly accountId: AccountId };
export type JobSpec = GrantJob | AccountJob;
export type JobKind = JobSpec['kind'];

export type JobRecord = JobSpec & {
  readonly id: JobId;
  readonly dueAt: Date;
  readonly attempts: number;
  readonly lastError: string | undefined;
  /** The fencing token of the latest claim: only its holder may renew, complete or retry. */
  readonly fence: number;
  readonly leaseOwner: string | undefined;
  readonly leaseUntil: Date | undefined;
};

/** A claim on one job: which job, and the fencing token that proves the claim is current. */
export interface JobClaim {
  readonly id: JobId;
  readonly fence: number;
}

export interface JobRepository {
  schedule(job: JobSpec & { readonly dueAt: Date }): Promise<JobRecord>;
  /**
   * Claims up to `limit` jobs due at `now` whose lease is free, leasing them to `owner` until
   * `leaseUntil` (PostgreSQL: FOR UPDATE SKIP LOCKED). Each claim increments the job's fence.
   */
  claimDue(now: Date, owner: string, leaseUntil: Date, limit: number): Promise<JobRecord[]>;
  /** Extends the lease while the claim is current; false when another claim replaced it (or the job is gone). */
  renew(claim: JobClaim, leaseUntil: Date): Promise<boolean>;
  /** Deletes the job if the claim is current; false (and nothing changes) otherwise. */
  complete(claim: JobClaim): Promise<boolean>;
  /** Puts a failed job back with a later due time and its attempt count, if the claim is current. */
  retry(claim: JobClaim, dueAt: Date, lastError: string): Promise<boolean>;
  /**
   * Frees leases at once: those held by `owner`, or — with `{ otherLivesOf }` — every lease of an
   * owner whose name starts with that instance prefix but is not `owner` (an earlier life of this
   * instance, which died holding them). Returns how many.
   */
  release(owner: string, options?: { otherLivesOf?: string }): Promise<number>;
  nextDueAt(): Promise<Date | undefined>;
  /** The jobs of one grant or account. */
  findFor(subject: GrantId | AccountId): Promise<JobRecord[]>;
}

/** A custodian's share held for a grant awaiting its quorum. */
export interface PendingShare {
  readonly grantId: GrantId;
  readonly holder: string;
  /** Sealed under the root key, bound to the grant, the holder and the key generation: never in clear. */
  readonly sealed: string;
  readonly presentedAt: Date;
}

/**
 * Shares presented for grants awaiting their quorum, shared by every instance. `hold` and
 * `drop` lock the grant row first (PostgreSQL; SQLite's write transaction already excludes
 * other writers), so presentations, the release and the end of a window on one grant happen
 * one after another: exactly one presentation sees the threshold, and no share outlives its
 * request.
 */
export interface PendingShareRepository {
  /** Holds a share; returns how many the grant holds now, or `undefined` when this holder already holds one. */
  hold(share: PendingShare): Promise<number | undefined>;
  /** The grant's shares, in the order presented. */
  list(grantId: GrantId): Promise<PendingShare[]>;
  /** Wipes the grant's shares; returns whose they were, in the order presented. */
  drop(grantId: GrantId): Promise<string[]>;
}

export interface AuditEventRecord {
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

// issue 13 (audit)
/** An event to insert, with the canonical JSON of its details: what the details column keeps. */
export interface AuditEventInsert extends AuditEventRecord {
  readonly detailsJson: string;
}

// issue 13 (audit)
/** An event as stored, its details still the column's JSON text: what chain verification hashes. */
export interface StoredAuditEvent {
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly detailsJson: string;
  readonly prevHash: string;
  readonly hash: string;
}

export interface CheckpointRecord {
  readonly seq: number;
  readonly hash: string;
  readonly at: Date;
  /** Base64 Ed25519 signature over the canonical JSON of {seq, hash, at}. */
  readonly signature: string;
}

export interface AuditRepository {
  /**
   * Returns the chain head and holds it until the transaction ends, so appends are serialized
   * (PostgreSQL: row lock on the head; SQLite: the write transaction).
   */
  lockHead(): Promise<{ seq: number; hash: string; checkpointAt: Date | undefined }>;
  insert(event: AuditEventRecord): Promise<void>;
  insertCheckpoint(checkpoint: CheckpointRecord): Promise<void>;
  events(fromSeq: number, limit: number): Promise<AuditEventRecord[]>;
  checkpoints(): Promise<CheckpointRecord[]>;
  /** The newest checkpoint only (the once-a-second signing tick must not read them all). */
  lastCheckpoint(): Promise<CheckpointRecord | undefined>;
  // issue 11 (H3): a case's timeline.
  /** The events about one subject (a grant id), oldest first, from `afterSeq` (exclusive), at most `limit`. */
  eventsAbout(subject: string, afterSeq: number, limit: number): Promise<AuditEventRecord[]>;
  // issue 13 (audit)
  /**
   * Inserts consecutive linked events (seq + 1, prevHash = the previous one's hash) in one
   * statement per chunk and moves the head once, only if the first extends the current head.
   */
  insertMany(events: readonly AuditEventInsert[]): Promise<void>;
  /** A keyset page of the chain as stored: seq > `afterSeq`, in seq order, at most `limit`. */
  storedEvents(afterSeq: number, limit: number): Promise<StoredAuditEvent[]>;
}

export interface SettingsRepository {
  get(key: string): Promise<string | undefined>;
  /** Sets a value; with `ifAbsent`, keeps an existing one and returns it. */
  set(key: string, value: string, options?: { ifAbsent?: boolean }): Promise<string>;
}
