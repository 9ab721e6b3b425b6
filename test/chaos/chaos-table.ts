/** The chaos report: one row per scenario, its violations (the first few in full) and the worst lateness. */
import type { RunResult } from './chaos-run.js';
import { expectedToFailUntilStoreHealth, type ScenarioName } from './scenarios.js';

export interface ScenarioRow {
  readonly scenario: ScenarioName;
  readonly runs: number;
  readonly failedRuns: number;
  readonly violations: string[];
  readonly maxAfterExpiryMs: number | undefined;
  readonly maxAfterBoundMs: number | undefined;
  readonly maxRevokedAfterBoundMs: number | undefined;
  /** `must pass`, `xfail: store-health` (expectedToFailUntilStoreHealth), or `skipped: <why>`. */
  readonly expectation: string;
}

const max = (values: (number | undefined)[]): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
};

export function summarise(scenario: ScenarioName, results: readonly RunResult[], skipped?: string): ScenarioRow {
  return {
    scenario,
    runs: results.length,
    failedRuns: results.filter((r) => r.violations.length > 0).length,
    violations: results.flatMap((r) => r.violations.map((v) => `[${r.label}] ${v}`)),
    maxAfterExpiryMs: max(results.map((r) => r.lateness?.afterExpiryMs)),
    maxAfterBoundMs: max(results.map((r) => r.lateness?.afterBoundMs)),
    maxRevokedAfterBoundMs: max(results.map((r) => r.revokedAfterBoundMs)),
    expectation: skipped !== undefined ? `skipped: ${skipped}` : expectedToFailUntilStoreHealth.includes(scenario) ? 'xfail: store-health' : 'must pass',
  };
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${value}`);

/** A plain-text table (it goes to CI logs), then the first violations of each scenario. */
export function formatTable(rows: readonly ScenarioRow[], seed: number, elapsedMs: number, detailsPerScenario = 3): string {
  const header = ['scenario', 'runs', 'violating runs', 'violations', 'late after expiry ms', 'late after comeback ms', 'revoked after bound ms', 'expectation'];
  const body = rows.map((r) => [r.scenario, `${r.runs}`, `${r.failedRuns}`, `${r.violations.length}`, ms(r.maxAfterExpiryMs), ms(r.maxAfterBoundMs), ms(r.maxRevokedAfterBoundMs), r.expectation]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  const out = [
    `chaos: seed ${seed} (replay with CHAOS_SEED=${seed}), ${Math.round(elapsedMs / 1000)} s`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...body.map(line),
  ];
  for (const row of rows.filter((r) => r.violations.length > 0)) {
    out.push('', `${row.scenario} (${row.expectation}):`, ...row.violations.slice(0, detailsPerScenario).map((v) => `  - ${v}`));
    if (row.violations.length > detailsPerScenario) out.push(`  … and ${row.violations.length - detailsPerScenario} more`);
  }
  const xpass = rows.filter((r) => r.expectation.startsWith('xfail') && r.runs > 0 && r.violations.length === 0);
  if (xpass.length > 0) out.push('', `XPASS (take off expectedToFailUntilStoreHealth): ${xpass.map((r) => r.scenario).join(', ')}`);
  return out.join('\n');
}
