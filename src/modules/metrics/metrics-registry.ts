import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one server, on its own registry (never prom-client's global one, so
 * a test process can build several servers). Histograms and the grants counter are observed when
 * their audit event is appended (metrics-hook.ts); the store gauges are set at scrape time
 * (read-metrics.ts), `drillLastSuccess` among them (from the store, so a restart or another
 * instance reports the same); `driftFindings` is set by the drift scan, which owns that fact.
 */
export interface Metrics {
  readonly registry: Registry;
  /** The separate scrape token (BREAKGLASS_METRICS_TOKEN), if one is configured. */
  readonly scrapeToken: string | undefined;
  readonly grantsActive: Gauge;
  readonly grantsTotal: Counter<'account' | 'condition'>;
  readonly timeToAccess: Histogram;
  readonly revocationLag: Histogram;
  readonly revocationsOverdue: Gauge;
  readonly privilegeValidAfterEnd: Histogram;
  /** Open drift findings by kind; the drift module sets it (0 until it exists). */
  readonly driftFindings: Gauge<'kind'>;
  readonly casesUncertified: Gauge;
  readonly oldestUncertifiedCaseAge: Gauge;
  /** Unix time of each account's last passed drill; the drill module sets it. */
  readonly drillLastSuccess: Gauge<'account'>;
  readonly auditHeadSeq: Gauge;
  readonly auditLastCheckpoint: Gauge;
}

/** Seconds from a few seconds to a day: access and revocation are minutes when all is well. */
const latencyBuckets = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 86_400];
/** After the end: anything above 60 s is the question the metric answers. */
const afterEndBuckets = [0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 86_400];

/**
 * Builds the registry with every Breakglass metric and prom-client's process defaults.
 * @example const metrics = createMetrics({ scrapeToken: env.metricsToken }); audit.onAppend(metricsHook(metrics));
 */
export function createMetrics(options: { readonly scrapeToken?: string | undefined } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    scrapeToken: options.scrapeToken,
    grantsActive: new Gauge({ name: 'breakglass_grants_active', help: 'Grants active now (the emergency credential is usable).', registers }),
    grantsTotal: new Counter({
      name: 'breakglass_grants_total',
      help: 'Grants requested since this process started, by account and condition.',
      labelNames: ['account', 'condition'],
      registers,
    }),
    timeToAccess: new Histogram({
      name: 'breakglass_time_to_access_seconds',
      help: 'From the request to the activation of a grant (custodian quorums included).',
      buckets: latencyBuckets,
      registers,
    }),
    revocationLag: new Histogram({
      name: 'breakglass_revocation_lag_seconds',
      help: 'From the scheduled end of a grant (expiry or early end) to its verified revocation.',
      buckets: latencyBuckets,
      registers,
    }),
    revocationsOverdue: new Gauge({ name: 'breakglass_revocations_overdue', help: 'Grants whose revocation is more than a minute past due and not yet verified.', registers }),
    privilegeValidAfterEnd: new Histogram({
      name: 'breakglass_privilege_valid_after_end_seconds',
      help: 'How long the emergency privilege stayed valid after its end (today: end to verified revocation).',
      buckets: afterEndBuckets,
      registers,
    }),
    driftFindings: new Gauge({ name: 'breakglass_drift_findings', help: 'Open drift findings on the targets, by kind.', labelNames: ['kind'], registers }),
    casesUncertified: new Gauge({ name: 'breakglass_cases_uncertified', help: 'Cases revoked and rotated, waiting for their certification.', registers }),
    oldestUncertifiedCaseAge: new Gauge({
      name: 'breakglass_oldest_uncertified_case_age_seconds',
      help: 'How long the oldest uncertified case has waited (0 when none waits).',
      registers,
    }),
    drillLastSuccess: new Gauge({
      name: 'breakglass_drill_last_success_timestamp_seconds',
      help: 'Unix time of the last drill that passed, by account.',
      labelNames: ['account'],
      registers,
    }),
    auditHeadSeq: new Gauge({ name: 'breakglass_audit_head_seq', help: 'Sequence number of the newest audit event.', registers }),
    auditLastCheckpoint: new Gauge({
      name: 'breakglass_audit_last_checkpoint_timestamp_seconds',
      help: 'Unix time of the newest signed audit checkpoint (0 before the first).',
      registers,
    }),
  };
}
