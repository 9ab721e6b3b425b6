/**
 * The governance report as one self-contained HTML file: no script, no external resource (the
 * CSP says so too), styles inline, charts as inline SVG. Every string from the store is
 * escaped with `escapeHtml`; the charts' own text is escaped by ECharts.
 */
import type { ComplianceControl } from './compliance-map.js';
import type { DurationStats } from './governance-figures.js';
import type { GovernanceReport, OptionalSection } from './governance-report.js';
import { certificationChart, certificationLatencyChart, durationsChart, usageChart } from './report-charts.js';

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML element or a quoted attribute. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (char) => entities[char] ?? char);
}

const style = `
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#57606a}
.evidence{color:#1a7f37}.partial{color:#9a6700}.gap{color:#cf222e;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts figure{margin:0}
code{font-size:.85rem;word-break:break-all}`;

const cells = (values: readonly unknown[], tag = 'td') => `<tr>${values.map((value) => `<${tag}>${escapeHtml(value ?? '—')}</${tag}>`).join('')}</tr>`;

function table(headers: readonly string[], rows: readonly (readonly unknown[])[], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${escapeHtml(empty)}</p>`;
  return `<table><thead>${cells(headers, 'th')}</thead><tbody>${rows.map((row) => cells(row)).join('')}</tbody></table>`;
}

const tally = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .map(([key, n]) => `${key} (${n})`)
    .join(', ');
const seconds = (value: number | null) => (value === null ? '—' : `${value} s`);
const statsRow = (name: string, stats: DurationStats, meaning: string) => [name, stats.count, seconds(stats.p50), seconds(stats.p99), seconds(stats.max), meaning];

function header(report: GovernanceReport): string {
  const cp = report.checkpoint;
  return `<h1>Breakglass governance report</h1>
<p>Cases created from <b>${escapeHtml(report.since)}</b> to <b>${escapeHtml(report.generatedAt)}</b> (UTC).</p>
<table><tbody>
<tr><th>Audit chain head</th><td>seq <b>${report.auditHead.seq}</b>, hash <code>${escapeHtml(report.auditHead.hash)}</code></td></tr>
<tr><th>Latest signed checkpoint</th><td>${cp ? `seq <b>${cp.seq}</b> at ${escapeHtml(cp.at)}, signature <code>${escapeHtml(cp.signaturePrefix)}…</code>` : 'none yet'}</td></tr>
</tbody></table>
<p class="muted">Tie this report to the evidence: <code>breakglass audit export --out audit.jsonl &amp;&amp; breakglass audit verify --file audit.jsonl</code> must show a chain that contains this head.</p>`;
}

function figuresSection(report: GovernanceReport, charts: readonly string[]): string {
  const f = report.figures;
  const valid = f.privilegeValidAfterEnd;
  const share = valid.shareAbove60s === null ? '—' : `${(valid.shareAbove60s * 100).toFixed(1)} % (${valid.above60s} of ${valid.count})`;
  return `<h2>Summary</h2>
<p><b>${f.cases}</b> ${f.cases === 1 ? 'case' : 'cases'}; by condition: ${escapeHtml(tally(f.byCondition) || 'none')}; by state: ${escapeHtml(tally(f.byState) || 'none')}.</p>
<p>Privilege still valid more than 60 s after its case ended: <b>${share}</b>.</p>
${table(['measure', 'cases', 'p50', 'p99', 'max', 'from → to'], [
  statsRow('time to access', f.timeToAccess, 'requested → activated'),
  statsRow('time to revoke', f.timeToRevoke, 'case end (TTL or early end) → revocation verified on the target'),
  statsRow('privilege valid after end', valid, 'case end → revocation verified (still-unrevoked cases counted to now)'),
  statsRow('certification latency', f.certification.latency, 'awaiting certification → certified'),
], '')}
<div class="charts">${charts.map((chart) => `<figure>${chart}</figure>`).join('')}</div>`;
}

function casesSections(report: GovernanceReport): string {
  const f = report.figures;
  return `<h2>Usage per account</h2>
${table(['account', 'mode', 'cases', 'by whom', 'conditions', 'last used', 'rotations since last use', 'max valid after end', 'overdue', 'misuse suspected'],
  f.accounts.map((a) => [a.account, a.mode, a.cases, tally(a.requesters), tally(a.conditions), a.lastUsedAt, a.rotationsSinceLastUse ?? 'n/a (ephemeral)', seconds(a.maxValidAfterEnd), a.overdue, a.misuseSuspected]), 'No case in this period.')}
<h2>Certification: ${f.certification.certified} certified (${f.certification.necessary} necessary, ${f.certification.scoped} scoped, ${f.certification.removed} removed), ${f.certification.awaiting} awaiting</h2>
<h3>Overdue (awaiting certification for more than 7 days)</h3>
${table(['case', 'account', 'requester', 'incident', 'reason', 'awaiting since', 'days'], f.overdue.map((c) => [c.id, c.account, c.requester, c.incident, c.reason, c.awaitingSince, c.ageDays]), 'None.')}
<h3>Misuse suspected</h3>
<p class="muted">A case is listed when it was certified as not necessary, when its credential was revealed and the case ended early within a minute of the reveal, or when its condition is not among its policy's conditions.</p>
${table(['case', 'account', 'requester', 'incident', 'reason', 'signals'], f.misuseSuspected.map((c) => [c.id, c.account, c.requester, c.incident, c.reason, c.signals.join(', ')]), 'None.')}`;
}

function optional(title: string, section: OptionalSection<Readonly<Record<string, unknown>>>): string {
  if (!section.configured) return `<h2>${escapeHtml(title)}</h2><p class="muted">${escapeHtml(section.note)}.</p>`;
  const headers = [...new Set(section.rows.flatMap((row) => Object.keys(row)))];
  return `<h2>${escapeHtml(title)}</h2>${table(headers, section.rows.map((row) => headers.map((key) => row[key])), 'None.')}`;
}

function complianceSection(controls: readonly ComplianceControl[]): string {
  const rows = controls
    .map((c) => `<tr><td>${escapeHtml(c.framework)}</td><td><b>${escapeHtml(c.control)}</b> ${escapeHtml(c.title)}</td><td class="${c.status}">${c.status}</td><td>${escapeHtml(c.evidence)}</td><td>${escapeHtml(c.where)}</td></tr>`)
    .join('');
  return `<h2>Compliance mapping</h2>
<p class="muted"><b>evidence</b>: Breakglass holds it; <b>partial</b>: it covers part of the control; <b>gap</b>: it holds nothing for it.</p>
<table><thead>${cells(['framework', 'control', 'status', 'evidence held (or missing)', 'where'], 'th')}</thead><tbody>${rows}</tbody></table>`;
}

/** The whole report as one HTML document. */
export async function reportHtml(report: GovernanceReport): Promise<string> {
  const charts = await Promise.all([usageChart(report.figures), durationsChart(report.figures), certificationLatencyChart(report.figures), certificationChart(report.figures)]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Breakglass governance report ${escapeHtml(report.generatedAt)}</title><style>${style}</style></head>
<body>
${header(report)}
${figuresSection(report, charts)}
${casesSections(report)}
${optional('Drill history', report.drills)}
${optional('Drill status per account (never drilled or overdue)', report.drillStatus)}
${optional('Drift findings', report.drift)}
${complianceSection(report.compliance)}
</body></html>
`;
}
