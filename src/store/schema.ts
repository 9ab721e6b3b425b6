import type { Generated } from 'kysely';

/**
 * Row shapes of the Breakglass schema as Kysely sees them. Timestamps are epoch milliseconds
 * (`bigint` columns, read back as JS numbers on both dialects); JSON is stored as text so the
 * same migration and the same queries work on SQLite and PostgreSQL.
 */
export interface Database {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  enrolment_codes: EnrolmentCodesTable;
  targets: TargetsTable;
  policies: PoliciesTable;
  accounts: AccountsTable;
  custodian_keys: CustodianKeysTable;
  grants: GrantsTable;
  jobs: JobsTable;
  pending_shares: PendingSharesTable;
  alert_channels: AlertChannelsTable;
  alert_routes: AlertRoutesTable;
  alert_outbox: AlertOutboxTable;
  alert_marks: AlertMarksTable;
  alert_acks: AlertAcksTable;
  alert_escalations: AlertEscalationsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_head: AuditHeadTable;
  settings: SettingsTable;
  drift_findings: DriftFindingsTable;
  // issue 11 (H2): co-responders (0018)
  co_responders: CoRespondersTable;
  // issue 14 (enroll): local sign-in credentials (0025)
  local_credentials: LocalCredentialsTable;
}

// issue 14 (enroll)
/** A person's local sign-in credentials (0025): nothing here is a secret in clear. */
export interface LocalCredentialsTable {
  user_id: string;
  /** argon2id PHC string. */
  password_hash: string;
  /** Sealed under the root key, aad `aad.localTotpSecret(user_id)`. */
  totp_secret_sealed: string;
  totp_last_step: number | string | null;
  /** JSON array of hex SHA-256 of the recovery codes still unused. */
  recovery_hashes: string;
  created_at: number | string;
  updated_at: number | string;
}

/** Issue 11 (H2): someone who joined a live pre-staged case (0018), with their own one reveal. */
export interface CoRespondersTable {
  grant_id: string;
  user_id: string;
  user_name: string;
  reason: string;
  joined_at: number | string;
  revealed_at: number | string | null;
}

export interface UsersTable {
  id: string;
  name: string;
  /** JSON array of roles. */
  roles: string;
  /** A custodian's X25519 public key (base64url), for shares encrypted to them. */
  recipient: Generated<string | null>;
  created_at: number;
  /** 0/1: automation; an admin may mint its tokens. */
  service: Generated<number>;
  /** 0/1: no token of theirs authenticates. */
  disabled: Generated<number>;
  /** 0/1: listed by a catalog (a catalog that no longer lists them disables them). */
  declared: Generated<number>;
}

export interface ApiTokensTable {
  /** SHA-256 (hex) of the bearer token; the token itself is never stored. */
  token_hash: string;
  /** Public id (`tok_…`), for listing and revoking. */
  id: string;
  user_id: string;
  label: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  /** Name of who minted it (`system` for the first admin token). */
  created_by: string;
  /** Id of the user who minted it; null when the engine did. */
  created_by_id: string | null;
}

/** One-time enrolment codes (SHA-256 only), valid once and for a short time. */
export interface EnrolmentCodesTable {
  code_hash: string;
  user_id: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface TargetsTable {
  id: string;
  name: string;
  type: string;
  /** JSON object of connection settings (never a secret). */
  settings: string;
  admin_secret_sealed: string | null;
  /** Set when a catalog apply no longer listed it (0005). */
  retired_at: Generated<number | string | null>;
}

export interface PoliciesTable {
  id: string;
  name: string;
  /** JSON array of condition names. */
  conditions: string;
  incident_pattern: string | null;
  /** JSON object, e.g. {"mode":"post-hoc"}. */
  approval: string;
  default_ttl_ms: number;
  max_ttl_ms: number;
  min_ttl_ms: number | null;
  /** How long before expiry `grant.expiring` is raised (0013); the server's default when null. */
  expiry_warning_ms: Generated<number | string | null>;
  // issue 11 (H3): `certifyWithin` in ms (0019), null when the policy sets none.
  certify_within_ms: Generated<number | string | null>;
  /** JSON array of roles. */
  invokers: string;
  // issue 11 (H2): bounds (0018)
  max_extensions: Generated<number | null>;
  max_total_ms: Generated<number | string | null>;
  cooldown_ms: Generated<number | string | null>;
  require_certified_previous: Generated<number>;
  /** Set when a catalog apply no longer listed it (0005). */
  retired_at: Generated<number | string | null>;
  // issue 11 (H4): invocation criteria (0020)
  reason_min_length: Generated<number | string | null>;
  /** JSON array of the user names among `invokers` (the roles are in `invokers`). */
  invoker_users: Generated<string | null>;
  /** JSON object {url, onUnreachable, timeoutMs?, allowCleartext?}; no secret. */
  incident_check: Generated<string | null>;
  // issue 11 (H1), 0017: JSON of the ApproverRule (mode approvers), and `escalate.after` in ms.
  approvers: Generated<string | null>;
  escalate_after_ms: Generated<number | string | null>;
}

export interface AccountsTable {
  id: string;
  name: string;
  target_id: string;
  policy_id: string;
  mode: string;
  principal: string;
  /** JSON object of the account's type-specific settings. */
  spec: Generated<string>;
  /** JSON of the custodian Quorum, or null. */
  quorum: string | null;
  /** JSON of the DrillSchedule (0015), or null. */
  drill: Generated<string | null>;
  /** Since when the account has had a drill schedule, ms (0016), or null. */
  drill_since: Generated<number | string | null>;
  staging: Generated<string>;
  secret_version: Generated<number>;
  secret_sealed: string | null;
  /** Set when a catalog apply no longer listed it (0005). */
  retired_at: Generated<number | string | null>;
  /** Where Breakglass last staged it itself (0007). */
  staged_on: Generated<string | null>;
  /** The catalog's autoRemediate, 0 or 1 (0014). */
  auto_remediate: Generated<number>;
}

export interface GrantsTable {
  id: string;
  account_id: string;
  requester_id: string;
  requester_name: string;
  condition: string;
  reason: string;
  incident: string;
  state: string;
  mode: string;
  created_at: number;
  activated_at: number | null;
  expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
  revoked_at: number | null;
  rotated_at: number | null;
  revealed_at: number | null;
  closed_at: number | null;
  /** JSON of the Certification, with `at` as epoch ms. */
  certification: string | null;
  failure: string | null;
  /** Envelope-sealed credential of an ephemeral grant, until it is revealed. */
  credential_sealed: Generated<string | null>;
  ttl_ms: number | null;
  /** 1 for a drill (migration 0015). */
  drill: Generated<number>;
  // issue 11 (H1), 0017: JSON array of the approvers' decisions (`at` as epoch ms); escalation.
  approvals: Generated<string | null>;
  escalated: Generated<number>;
  escalation_reason: Generated<string | null>;
  // issue 11 (H3, 0019): when the certification deadline passed; JSON of the admin's Resolution (`at` in ms).
  certification_overdue_at: Generated<number | string | null>;
  resolution: Generated<string | null>;
  // issue 11 (H2): bounds (0018)
  extensions: Generated<number>;
  override_reason: Generated<string | null>;
  // issue 12 (P2, 0022): JSON of the grant's RevocationEvidence.
  revocation: Generated<string | null>;
}

export interface CustodianKeysTable {
  account_id: string;
  kid: string;
  public_key: string;
  threshold: number;
  shares: string;
  generation: number;
  created_at: number;
}

export interface JobsTable {
  id: string;
  kind: string;
  subject: string;
  due_at: number;
  attempts: Generated<number>;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  /** Incremented by every claim (0008). */
  fence: Generated<number>;
}

/** Custodian shares presented for a grant awaiting its quorum (0009); sealed, never in clear. */
export interface PendingSharesTable {
  grant_id: string;
  holder: string;
  share_sealed: string;
  presented_at: number;
}

export interface AlertChannelsTable {
  name: string;
  type: string;
  /** JSON object, never a secret. */
  settings: string;
  secret_sealed: string | null;
}

export interface AlertRoutesTable {
  position: number;
  /** JSON of a RouteRecord. */
  route: string;
}

export interface AlertOutboxTable {
  id: string;
  /** Delivery order: per channel, the lowest pending seq goes first. */
  seq: number;
  channel: string;
  /** JSON of the AlertPayload; never a secret. */
  payload: string;
  state: string;
  attempts: Generated<number>;
  due_at: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  fence: Generated<number>;
}

/** What the alert watch raised, once per grant, event and occurrence (0011). */
export interface AlertMarksTable {
  grant_id: string;
  event: string;
  occurrence: number;
  raised_at: number;
}

/** Who acknowledged an alert's event, and when (0012). */
export interface AlertAcksTable {
  event_id: string;
  acked_by: string;
  acked_at: number;
  note: string | null;
}

/** An alert to send again unless acknowledged in time (0012). */
export interface AlertEscalationsTable {
  event_id: string;
  step: number;
  due_at: number;
  /** JSON array of channel names. */
  channels: string;
  /** JSON of the AlertPayload as first sent; never a secret. */
  payload: string;
  escalated_at: number | null;
}

export interface AuditEventsTable {
  seq: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  /** JSON object. */
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  at: number;
  signature: string;
}

/** Exactly one row (id = 1): the chain head, locked to serialize appends on PostgreSQL. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
  checkpoint_at: number | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

/** What a drift scan saw (0014); see src/ports/drift.ts. */
export interface DriftFindingsTable {
  id: string;
  account: string;
  kind: string;
  subject: string;
  detail: string;
  first_seen: number;
  last_seen: number;
  resolved_at: number | null;
  acked_by: string | null;
  acked_reason: string | null;
}
