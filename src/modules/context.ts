import type { ChannelSenders, Clock, ConnectorDriver, ConnectorFactory, Store } from '../ports/index.js';
import type { AuditLog } from './audit/audit-log.js';
import type { GrantObserver } from './grants/grant-observer.js';
import type { KeyedMutex } from './lib/keyed-mutex.js';
import type { Metrics } from './metrics/metrics-registry.js';
import type { Vault } from './vault/vault.js';

/** The minimal structured logger the use cases need (pino satisfies it). Never pass a secret. */
export interface Logger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Everything a use case may depend on; src/app builds it once. */
export interface ModuleContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly vault: Vault;
  readonly audit: AuditLog;
  readonly connectors: ConnectorFactory;
  /** The registered driver of a target type (for secrets Breakglass generates, public info). */
  readonly drivers: (type: string) => ConnectorDriver | undefined;
  readonly log: Logger;
  /** Tells the scheduler that a job became due earlier than it planned for. */
  readonly wake: () => void;
  readonly retry: RetryPolicy;
  /** Serializes changes of one account's secret (stage, rotate) within this process. */
  readonly accountLocks: KeyedMutex;
  /**
   * Told of every grant transition inside its transaction, after its audit event: where the
   * alerts outbox hangs (invariant I6), so an alert is written with the change or not at all.
   */
  readonly grantObservers: readonly GrantObserver[];
  /** Each alert channel type's sender (src/notify), for `channel test`; the relay uses the same. */
  readonly channelSenders?: ChannelSenders;
  /** The server's Prometheus metrics: drift and drill modules set their gauges here; none on a bed. */
  readonly metrics?: Metrics;
}

/** Backoff for work on targets that fail: retried for ever, never given up. */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseMs: 1_000, maxMs: 60_000 };

/** Delay before attempt `attempts + 1`: exponential, capped, with up to 20% jitter. */
export function backoffDelay(policy: RetryPolicy, attempts: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempts, 30));
  return Math.round(exponential * (1 + 0.2 * random()));
}
