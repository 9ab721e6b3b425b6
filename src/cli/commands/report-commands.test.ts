/** `report` against a fake server: the format and --out rules, the JSON figures, usage errors. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from '../program.js';
import { serverSideUnused } from '../../../test/support/cli-deps.js';

const stats = { count: 1, p50: 2, p99: 2, max: 2 };
const report = {
  generatedAt: '2030-01-31T00:00:00.000Z',
  since: '2030-01-01T00:00:00.000Z',
  auditHead: { seq: 42, hash: 'ab'.repeat(32) },
  checkpoint: { seq: 40, at: '2030-01-30T23:59:59.000Z', signaturePrefix: 'kw8ImdDnPpz9I4NE' },
  figures: {
    cases: 1,
    byCondition: { outage: 1 },
    byState: { closed: 1 },
    accounts: [{ account: 'pg-breakglass', mode: 'prestaged', cases: 1, requesters: { alice: 1 }, conditions: { outage: 1 }, lastUsedAt: '2030-01-02T00:00:00.000Z', rotationsSinceLastUse: 1, maxValidAfterEnd: 2, overdue: 0, misuseSuspected: 0 }],
    timeToAccess: stats,
    timeToRevoke: stats,
    privilegeValidAfterEnd: { ...stats, above60s: 0, shareAbove60s: 0 },
    certification: { certified: 1, awaiting: 0, necessary: 1, scoped: 1, removed: 1, latency: stats },
    overdue: [],
    misuseSuspected: [],
  },
  drills: { configured: false, note: 'not configured yet' },
  drillStatus: { configured: true, rows: [] },
  drift: { configured: false, note: 'not configured yet' },
  compliance: [{ framework: 'NIST SP 800-53 Rev. 5', control: 'AU-9', title: 'Protection of audit information', status: 'evidence', evidence: 'signed chain', where: 'report header' }],
};

async function run(...args: string[]) {
  const urls: URL[] = [];
  let stdout = '';
  let stderr = '';
  const deps: CliDeps = {
    ...serverSideUnused,
    env: { BREAKGLASS_TOKEN: 'bgt_admin_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (input) => {
      const url = new URL(input instanceof Request ? input.url : input);
      urls.push(url);
      const format = url.searchParams.get('format');
      return Promise.resolve(
        format === 'html'
          ? new Response('<!doctype html><svg></svg>', { status: 200, headers: { 'content-type': 'text/html' } })
          : new Response(JSON.stringify(report), { status: 200, headers: { 'content-type': 'application/json' } }),
      );
    },
    stdoutIsTTY: false,
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  return { code, stdout, stderr, urls };
}

describe('breakglass report', () => {
  it('--format json without --out prints the figures as JSON on stdout', async () => {
    const result = await run('report', '--since', '30d', '--format', 'json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(report);
    expect(result.urls[0]?.pathname).toBe('/v1/reports/governance');
    expect(Object.fromEntries(result.urls[0]!.searchParams)).toEqual({ since: '30d', format: 'json' });
  });

  it('--out FILE takes the format from its extension and writes the server\'s document', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bg-report-cli-')), 'r.html');
    const result = await run('report', '--out', file);
    expect(result.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('<!doctype html><svg></svg>');
    expect(result.stdout).toContain(`wrote ${file} (html`);
    expect(result.urls[0]?.searchParams.get('since')).toBe('90d');
  });

  it('--format json --out FILE writes the JSON and prints a summary with the audit head', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bg-report-cli-')), 'figures.json');
    const result = await run('report', '--format', 'json', '--out', file);
    expect(result.code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
    expect(result.stdout).toContain(`audit chain head: seq 42 ${'ab'.repeat(32)}`);
  });

  it('a bad --since or --format, or html without --out, is a usage error and nothing is sent', async () => {
    for (const args of [['--since', 'forever'], ['--format', 'pdf'], ['--format', 'html']]) {
      const result = await run('report', ...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.urls).toEqual([]);
    }
  });
});
