/** The governance report as CSV: one row per account, the same figures as the JSON. */
import type { GovernanceReport } from './governance-report.js';

/**
 * One RFC 4180 cell. A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR) gets a
 * leading `'`, since requester names come from the store.
 */
function cell(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const tally = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .map(([key, n]) => `${key}:${n}`)
    .join(' ');

export const reportCsvHeader = ['account', 'mode', 'cases', 'requesters', 'conditions', 'last_used_at', 'rotations_since_last_use', 'max_valid_after_end_s', 'overdue', 'misuse_suspected'] as const;

export function reportCsv(report: GovernanceReport): string {
  const rows = report.figures.accounts.map((a) =>
    [a.account, a.mode, a.cases, tally(a.requesters), tally(a.conditions), a.lastUsedAt, a.rotationsSinceLastUse, a.maxValidAfterEnd, a.overdue, a.misuseSuspected].map(cell).join(','),
  );
  return [reportCsvHeader.join(','), ...rows].join('\r\n') + '\r\n';
}
