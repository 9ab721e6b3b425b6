/** The HTML and CSV renderings: self-contained, charts as inline SVG, store text escaped. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { certify } from '../grants/certify.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { governanceReport, type GovernanceReport } from './governance-report.js';
import { escapeHtml, reportHtml } from './report-html.js';
import { reportCsv, reportCsvHeader } from './report-csv.js';

const hostile = '<script>alert("x")</script>';

describe('report renderings', () => {
  let bed: TestBed;
  let report: GovernanceReport;
  let html: string;
  beforeAll(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: hostile, incident: 'INC-7', ttl: '15m' });
    bed.clock.advance(10_000);
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await bed.runDue();
    await certify(bed.ctx, bed.actors.bob, grant.id, { necessary: false, scoped: true, removed: true, note: '=cmd()' });
    report = await governanceReport(bed.ctx, bed.actors.admin, { since: new Date(0) });
    html = await reportHtml(report);
  });
  afterAll(async () => {
    await bed.close();
  });

  it('draws the charts as inline SVG with drawn bars, and loads nothing from outside', () => {
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(4);
    expect(html).toMatch(/<path d="M/);
    // Seconds and hours never share an axis: certification latency (hours) has its own chart.
    expect(svgs[1]).toContain('Access and revocation (seconds)');
    expect(svgs[1]).not.toContain('certification latency');
    expect(svgs[2]).toContain('Certification latency (hours)');
    expect(html).not.toMatch(/<script|<link|src=|href="http/i);
    expect(html).toContain("default-src 'none'");
  });

  it('escapes a hostile reason from the store (injection)', () => {
    expect(html).not.toContain(hostile);
    expect(html).toContain(escapeHtml(hostile));
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });

  it('states the audit head, the compliance mapping, and the drill and drift sections', () => {
    expect(html).toContain(`seq <b>${report.auditHead.seq}</b>, hash <code>${report.auditHead.hash}</code>`);
    expect(html).toContain('NHI-03');
    expect(html).toContain('<td class="gap">gap</td>');
    expect(html).toContain('<h2>Drill history</h2>');
    expect(html).not.toContain('not configured yet');
  });

  it('CSV: one row per account of the catalog, used or not, with the same figures', () => {
    const lines = reportCsv(report).trimEnd().split('\r\n');
    expect(lines[0]).toBe(reportCsvHeader.join(','));
    expect(lines.slice(1)).toEqual([`db-ephemeral,ephemeral,1,alice:1,outage:1,${report.figures.accounts[0]!.lastUsedAt},,0,0,1`, 'db-breakglass,prestaged,0,,,,0,,0,0']);
  });

  it('CSV: a cell a spreadsheet would run as a formula is neutralised (formula injection)', () => {
    const account = { ...report.figures.accounts[0]!, account: '=HYPERLINK("http://x","y")' };
    const csv = reportCsv({ ...report, figures: { ...report.figures, accounts: [account] } });
    expect(csv.split('\r\n')[1]).toMatch(/^"'=HYPERLINK\(""http:\/\/x"",""y""\)",/);
  });
});
