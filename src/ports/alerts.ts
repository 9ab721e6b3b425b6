import type { AlertEvent, GrantId, Severity, TimedAlertEvent, ChannelType } from '../domain/index.js';

export { channelTypes, type ChannelType } from '../domain/index.js';

/** A channel as the catalog declares it; its secret (webhook key, SMTP password, …) sealed. */
export interface ChannelRecord {
  readonly name: string;
  readonly type: ChannelType;
  /** Type-specific settings without any secret (url, host, port, to, …). */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly secretSealed: string | undefined;
}

/** Which events go to which channels. */
export interface RouteRecord {
  /** Event names, or `*` for every event. */
  readonly events: readonly string[];
  readonly channels: readonly string[];
  /** Only alerts about these accounts (grant events); all when absent. */
  readonly accounts?: readonly string[] | undefined;
  /** Only alerts at least this severe. */
  readonly minSeverity?: Severity | undefined;
  /**
   * A duration (`10m`): an alert of this route nobody acknowledges within it is sent again to
   * `escalateTo`. Both or neither (the catalog schema says so).
   */
  readonly ackWithin?: string | undefined;
  readonly escalateTo?: readonly string[] | undefined;
}

/**
 * What an alert says. Never a secret: built from the grant, the account and the audit event,
 * none of which holds one. Fields that do not apply to an event are absent.
 */
export interface AlertPayload {
  readonly event: AlertEvent;
  /** The idempotency key: the audit event that raised it (`evt-<seq>`), or a generated id. */
  readonly id: string;
  readonly at: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly grant?: string;
  readonly account?: string;
  readonly target?: string;
  readonly requester?: string;
  readonly approvers?: readonly string[];
  readonly condition?: string;
  readonly incident?: string;
  readonly reason?: string;
  readonly expiresAt?: string;
  readonly link?: string;
  /** The case is a drill (issue 10): the account was really used, on purpose, and nobody's emergency. */
  readonly drill?: true;
  readonly actor?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** The audit stream (`audit.event`, `audit.checkpoint`): the chain record as hashed and signed. */
  readonly seq?: number;
  readonly hash?: string;
  readonly prevHash?: string;
  readonly action?: string;
  readonly subject?: string;
  /** A checkpoint's Ed25519 signature (base64) over {seq, hash, at}. */
  readonly signature?: string;
  /**
   * A signed, short-lived link that acknowledges the alert without a token (its route has
   * `ackWithin` and the server a public URL); each channel gets its own.
   */
  readonly ackLink?: string;
  /** Sent again because nobody acknowledged it in time; `details.escalatedFrom` is the original id. */
  readonly escalated?: boolean;
}

export type OutboxState = 'pending' | 'sent' | 'dead';

/** One alert on its way to one channel. */
export interface OutboxMessage {
  /** `alr_…`: what `breakglass alerts retry` and `ack` take. */
  readonly id: string;
  readonly channel: string;
  readonly payload: AlertPayload;
  readonly state: OutboxState;
  readonly attempts: number;
  readonly dueAt: Date;
  readonly createdAt: Date;
  readonly sentAt: Date | undefined;
  readonly lastError: string | undefined;
  readonly fence: number;
}

export interface OutboxRepository {
  /** Written in the caller's transaction: the alert commits with what it reports, or not at all. */
  enqueue(messages: readonly { readonly channel: string; readonly payload: AlertPayload; readonly dueAt: Date }[]): Promise<void>;
  /**
   * Claims, per channel, the oldest message not yet sent if it is due (so each channel gets its
   * messages in order), leasing it until `leaseUntil` (PostgreSQL: FOR UPDATE SKIP LOCKED).
   */
  claimDue(now: Date, owner: string, leaseUntil: Date, limit: number): Promise<OutboxMessage[]>;
  /** Sent, if the claim is current. */
  markSent(message: Pick<OutboxMessage, 'id' | 'fence'>, at: Date): Promise<boolean>;
  /** Failed: back to pending at `dueAt`, or `dead` when the channel gave up. */
  markFailed(message: Pick<OutboxMessage, 'id' | 'fence'>, error: string, next: { readonly dueAt: Date } | 'dead'): Promise<boolean>;
  /** Newest first. */
  list(filter: { readonly state?: OutboxState; readonly limit?: number }): Promise<OutboxMessage[]>;
  find(id: string): Promise<OutboxMessage | undefined>;
  /** A dead message back to pending, due now, attempts reset. */
  revive(id: string, now: Date): Promise<boolean>;
  countDead(): Promise<number>;
  /** Frees the leases of earlier lives of an instance (owners starting with `prefix`, not `owner`). */
  releaseEarlierLives(owner: string, prefix: string): Promise<number>;
}

export interface AlertCatalogRepository {
  listChannels(): Promise<ChannelRecord[]>;
  findChannel(name: string): Promise<ChannelRecord | undefined>;
  /** The catalog's channels and routes, as a whole: what it no longer lists is gone. */
  replace(channels: readonly ChannelRecord[], routes: readonly RouteRecord[]): Promise<void>;
  listRoutes(): Promise<RouteRecord[]>;
}

/**
 * What the alert watch has raised: one row per grant, time-driven event and occurrence (the
 * n-th repetition of an overdue condition; the expiry time for a warning). The primary key
 * makes a raise exactly once, whichever instance or run gets there first.
 */
export interface AlertMarkRepository {
  /** Records the occurrence in the caller's transaction; false when it was recorded already. */
  mark(grantId: GrantId, event: TimedAlertEvent, occurrence: number, at: Date): Promise<boolean>;
}

/** Someone said "seen" to an alert: per event (`evt-<seq>`), whichever channel they saw it on. */
export interface AlertAck {
  readonly eventId: string;
  /** A user's name, or `link:<channel>` for the signed link in a message. */
  readonly ackedBy: string;
  readonly ackedAt: Date;
  readonly note: string | undefined;
}

/** An alert to send again to `channels` at `dueAt` unless its event is acknowledged by then. */
export interface PendingEscalation {
  readonly eventId: string;
  /** The position of the route that asked for it: one escalation per route and event. */
  readonly step: number;
  readonly dueAt: Date;
  readonly channels: readonly string[];
  /** The alert as first sent (without a channel's ack link). */
  readonly payload: AlertPayload;
}

export interface AlertAckRepository {
  /** Records the first acknowledgement of an event; answers the one that stands and whether it is this one. */
  acknowledge(ack: AlertAck): Promise<{ readonly ack: AlertAck; readonly first: boolean }>;
  /** The acknowledgements of these events (absent: not acknowledged). */
  find(eventIds: readonly string[]): Promise<Map<string, AlertAck>>;
  /** Written with the alert, in its transaction. */
  scheduleEscalations(escalations: readonly PendingEscalation[]): Promise<void>;
  /** Due, not escalated and not acknowledged, oldest first. */
  dueEscalations(now: Date, limit: number): Promise<PendingEscalation[]>;
  /**
   * Marks an escalation done if it was not, and its event is still unacknowledged: true for
   * exactly one caller, who then writes the escalated alert in the same transaction.
   */
  markEscalated(eventId: string, step: number, at: Date): Promise<boolean>;
}

/** A channel with its secret unsealed, for the one delivery. */
export interface ChannelConnection {
  readonly name: string;
  readonly type: ChannelType;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly secret: string | undefined;
}

/** What the receiver answered, for `channel test` and the outbox's last error. */
export interface DeliveryReceipt {
  readonly status: string;
}

/** Sends one alert over one channel; throws (an AppError, retryable or not) when it was not accepted. */
export type ChannelSender = (channel: ChannelConnection, payload: AlertPayload) => Promise<DeliveryReceipt>;

/** Each channel type's sender, loaded when first needed (src/notify/senders.ts). */
export type ChannelSenders = Readonly<Partial<Record<ChannelType, () => Promise<ChannelSender>>>>;
