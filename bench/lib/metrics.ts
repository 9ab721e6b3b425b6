import type { BurstResult, BurstSpec } from '../burst-expiry.js';
import type { Figure } from './report.js';

/**
 * One figure of the issue-13 table, against its same-run baseline. `value`, `ratio` and `met`
 * are null when the figure could not be measured in this run; `note` then says why.
 */
export interface Metric {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  /** The same-run baseline, in the same unit as `value`. */
  readonly baseline: number | null;
  readonly baselineName: string;
  /** value / baseline. */
  readonly ratio: number | null;
  readonly goal: string;
  readonly met: boolean | null;
  /** Samples behind the value (grants, requests, runs). */
  readonly n?: number;
  readonly note?: string;
}

/** The figure id of a burst (bench 6). */
export const burstId = (spec: BurstSpec) => `revoke.burst-${spec.n}${spec.background > 0 ? `-with-${spec.background}` : ''}`;

type Goal = { readonly on: 'value' | 'ratio'; readonly op: '≤' | '≥'; readonly limit: number; readonly text: string };

const byId = (figures: readonly Figure[], id: string) => figures.find((f) => f.id === id);
const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

function metric(name: string, unit: string, value: number | undefined, baselineName: string, baseline: number | undefined, goal: Goal, extra: { n?: number; note?: string } = {}): Metric {
  const measured = finite(value);
  const ratio = measured && finite(baseline) && baseline > 0 ? value / baseline : undefined;
  const judged = goal.on === 'value' ? (measured ? value : undefined) : ratio;
  const met = judged === undefined ? null : goal.op === '≤' ? judged <= goal.limit : judged >= goal.limit;
  const note = extra.note ?? (measured ? undefined : 'not measured in this run');
  return {
    name,
    value: measured ? value : null,
    unit,
    baseline: finite(baseline) ? baseline : null,
    baselineName,
    ratio: ratio ?? null,
    goal: goal.text,
    met,
    ...(extra.n === undefined ? {} : { n: extra.n }),
    ...(note === undefined ? {} : { note }),
  };
}

/** Reasons figures are missing, by section key (burst, http, rss, case, audit, batch). */
export type Problems = Readonly<Record<string, string>>;

/** The issue's table from this run's figures. */
export function issueMetrics(figures: readonly Figure[], bursts: readonly BurstResult[], problems: Problems): Metric[] {
  const metrics: Metric[] = [];
  const deluser = byId(figures, 'redis.deluser')?.latency;
  for (const burst of bursts) {
    const figure = byId(figures, burstId(burst.spec));
    const others = burst.backgroundActive < burst.spec.background ? `${burst.backgroundActive.toLocaleString('en-US')} of the planned ${burst.spec.background.toLocaleString('en-US')}` : burst.spec.background.toLocaleString('en-US');
    const what = `revocation lag, ${burst.spec.n} grants expiring in one second${burst.spec.background > 0 ? ` (${others} other active)` : ''}`;
    const note = burst.note ?? (burst.revokedEarly > 0 ? `${burst.revokedEarly} revoked before expiry` : undefined);
    const extra = { n: burst.lag.n, ...(note === undefined ? {} : { note }) };
    metrics.push(metric(`${what}, p99`, 'ms', figure?.latency.p99, 'redis ACL DELUSER p99', deluser?.p99, { on: 'value', op: '≤', limit: 1_000, text: 'p99 ≤ 1000 ms' }, extra));
    metrics.push(metric(`${what}, max`, 'ms', figure?.latency.max, 'redis ACL DELUSER max', deluser?.max, { on: 'value', op: '≤', limit: 2_000, text: 'max ≤ 2000 ms' }, extra));
  }
  const credential = byId(figures, 'invoke.credential')?.latency;
  const floor = byId(figures, 'access.floor')?.latency;
  metrics.push(metric('time to access (invoke → credential), p99', 'ms', credential?.p99, 'floor p99: ALTER ROLE LOGIN (warm) + 1 fsync\'d commit', floor?.p99, { on: 'ratio', op: '≤', limit: 3, text: 'ratio ≤ 3' }, { n: credential?.n ?? 0, ...noteFor(problems, 'case') }));
  metrics.push(metric('time to access (invoke → credential), p50', 'ms', credential?.p50, 'floor p50', floor?.p50, { on: 'ratio', op: '≤', limit: 3, text: '(p50, for reading) ratio ≤ 3' }, { n: credential?.n ?? 0, ...noteFor(problems, 'case') }));
  const read = byId(figures, 'http.grant-read.throughput');
  const bare = byId(figures, 'http.bare-route.throughput');
  metrics.push(metric('authenticated GET /v1/grants/{id}', 'req/s', read?.ratePerS, 'bare Fastify route, same process', bare?.ratePerS, { on: 'ratio', op: '≥', limit: 0.25, text: 'ratio ≥ 0.25' }, noteFor(problems, 'http')));
  const batch = byId(figures, 'audit.append-batch.sqlite');
  const rawBatch = byId(figures, 'sqlite.plain-insert-batch');
  metrics.push(metric('audit appends in batches of 100 (SQLite)', 'events/s', batch?.ratePerS, 'raw batched INSERT of the same rows', rawBatch?.ratePerS, { on: 'ratio', op: '≥', limit: 0.25, text: 'ratio ≥ 0.25' }, noteFor(problems, 'batch')));
  const sha = byId(figures, 'sha256.canonical');
  for (const [id, what] of [['audit.verify.rows', 'in memory'], ['audit.verify.sqlite', 'from SQLite'], ['audit.verify.postgres', 'from PostgreSQL']] as const) {
    const figure = byId(figures, id);
    if (figure === undefined && id === 'audit.verify.postgres') continue;
    // Each store's runs have the baseline timed between them (bench 4).
    const baseline = figure?.baseline === undefined ? sha : byId(figures, figure.baseline);
    metrics.push(metric(`chain verification, ${what}`, 'events/s', figure?.ratePerS, 'raw SHA-256 of the same canonical bytes', baseline?.ratePerS, { on: 'ratio', op: '≥', limit: 0.5, text: 'ratio ≥ 0.5' }, { n: figure?.latency.n ?? 0, ...noteFor(problems, 'audit') }));
  }
  const peak = byId(figures, 'server.peak-rss');
  const start = byId(figures, 'server.start-rss');
  const active = (peak?.extra?.['activeGrants'] as number | undefined) ?? 0;
  const events = (peak?.extra?.['auditEvents'] as number | undefined) ?? 0;
  metrics.push(metric(`server peak RSS (${active.toLocaleString('en-US')} active grants, ${events.toLocaleString('en-US')} audit events)`, 'MiB', peak?.latency.max, 'server RSS at start, same data', start?.latency.max, { on: 'value', op: '≤', limit: 250, text: '≤ 250 MiB' }, noteFor(problems, 'rss')));
  return metrics;
}

function noteFor(problems: Problems, key: string): { note?: string } {
  // http and rss are measured on the burst bench's server: its failure is theirs.
  const note = problems[key] ?? (key === 'http' || key === 'rss' ? problems['burst'] : undefined);
  return note === undefined ? {} : { note };
}

const num = (x: number | null, digits = 0) => (x === null ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** The metrics as a Markdown table: name, value, unit, baseline, ratio, goal, met. */
export function renderMetrics(metrics: readonly Metric[]): string {
  const header = ['name', 'value', 'unit', 'baseline', 'ratio', 'goal', 'met'];
  const rows = metrics.map((m) => [
    m.name,
    num(m.value, m.value !== null && m.value < 10 ? 2 : 0),
    m.unit,
    m.baseline === null ? '-' : `${num(m.baseline, m.baseline < 10 ? 2 : 0)} (${m.baselineName})`,
    m.ratio === null ? '-' : m.ratio.toFixed(m.ratio < 10 ? 2 : 1),
    m.goal,
    m.met === null ? `not measured${m.note === undefined ? '' : `: ${m.note}`}` : m.met ? 'yes' : `no${m.note === undefined ? '' : ` (${m.note})`}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 1 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 1 || i === 4 ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
