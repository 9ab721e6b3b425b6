/**
 * The governance report contract, with the built CLI against a real server and a real
 * PostgreSQL target: `report --format html --out` writes a file with an SVG chart and the audit
 * head; `--format json` prints the same figures. Then headless Chromium opens the HTML file and
 * the charts must have drawn (bars as SVG paths), with the hostile reason shown as text.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliPath, type CliResult } from '../support/cli-process.js';
import { catalogFor, createStoreDatabase, eventually, startHarness, type Dialect, type Harness } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());
const sharedPg = await requireService('PostgreSQL on 127.0.0.1:5432 (the store)', () => probeTcp('127.0.0.1', 5432));
const dialects: Dialect[] = ['sqlite', 'postgres'];
const chromium = await requireService('chromium (headless, for the report HTML)', () => {
  execFileSync('sh', ['-c', 'command -v chromium'], { stdio: 'ignore' });
  return true;
});

/** The built CLI, asynchronously: the server runs in this process, so a synchronous spawn would stall it. */
function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const hostile = '<script>document.title="pwned"</script>';

describe.skipIf(binaries.skip)('breakglass report (built CLI, real server, real PostgreSQL target)', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPgCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  describe.each(dialects)('on the %s store', (dialect) => {
    const skip = dialect === 'postgres' && sharedPg.skip;
    let h: Harness;
    let drop: (() => Promise<void>) | undefined;
    let env: Record<string, string>;
    const dir = mkdtempSync(join(tmpdir(), 'bg-report-'));
    const htmlFile = join(dir, 'r.html');

    beforeAll(async () => {
      if (skip) return;
      const db = dialect === 'postgres' ? await createStoreDatabase() : undefined;
      drop = db?.drop;
      h = await startHarness({ dialect, ...(db ? { databaseUrl: db.url } : {}) });
      const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role: `bg_report_${dialect}` }));
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      const alice = await h.enrol('alice');
      const bob = await h.enrol('bob');
      // One whole case: invoked with a hostile reason, revealed, ended, revoked and rotated, certified as not necessary.
      const invoked = await h.call(alice, 'POST', '/v1/grants', { account: 'pg-breakglass', condition: 'outage', reason: hostile, incident: 'INC-77', ttl: '5m' });
      expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
      const id = invoked.body.id as string;
      expect((await h.call(alice, 'POST', `/v1/grants/${id}/reveal`)).status).toBe(200);
      expect((await h.call(alice, 'POST', `/v1/grants/${id}/end`)).status).toBe(200);
      await eventually(async () => (await h.call(alice, 'GET', `/v1/grants/${id}`)).body.state === 'awaiting-certification', 30_000, 'revocation and rotation');
      const certified = await h.call(bob, 'POST', `/v1/grants/${id}/certify`, { necessary: false, scoped: true, removed: true, note: 'not needed' });
      expect(certified.status, JSON.stringify(certified.body)).toBe(200);
      env = { BREAKGLASS_ADDR: h.server.url, BREAKGLASS_TOKEN: h.adminToken };
    });
    afterAll(async () => {
      await h?.stop();
      await drop?.();
    });

    it.skipIf(skip)('report --since 30d --format html --out r.html writes an <svg chart and the audit head', async () => {
      const run = await runCli(['report', '--since', '30d', '--format', 'html', '--out', htmlFile], env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`wrote ${htmlFile} (html`);
      const html = readFileSync(htmlFile, 'utf8');
      expect(html).toContain('<svg');
      expect(html).not.toContain(hostile);
      expect(statSync(htmlFile).mode & 0o077).toBe(0);
      const verify = await h.call(h.adminToken, 'GET', '/v1/audit/verify');
      const head = await h.call(h.adminToken, 'GET', '/v1/reports/governance?since=30d');
      expect(head.body.auditHead.seq).toBe(verify.body.headSeq);
      expect(html).toContain(`seq <b>${head.body.auditHead.seq}</b>, hash <code>${head.body.auditHead.hash}</code>`);
    });

    it.skipIf(skip)('report --since 30d --format json prints the same figures as JSON', async () => {
      const run = await runCli(['report', '--since', '30d', '--format', 'json'], env);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.figures).toMatchObject({ cases: 1, byCondition: { outage: 1 }, certification: { certified: 1, necessary: 0 } });
      expect(report.figures.accounts).toEqual([expect.objectContaining({ account: 'pg-breakglass', cases: 1, requesters: { alice: 1 }, rotationsSinceLastUse: 1 })]);
      expect(report.figures.misuseSuspected[0]).toMatchObject({ reason: hostile, signals: expect.arrayContaining(['certified-unnecessary']) });
      expect(report.figures.privilegeValidAfterEnd.count).toBe(1);
      expect(report.drills).toEqual({ configured: true, rows: [] }); // no drill ran in this period
    });

    it.skipIf(skip)('GET /v1/reports/governance serves CSV (one row per account) and refuses a bad duration', async () => {
      const csv = await h.call(h.adminToken, 'GET', '/v1/reports/governance?since=30d&format=csv');
      expect(csv.status).toBe(200);
      expect(String(csv.body).trimEnd().split('\r\n')).toHaveLength(2);
      expect((await h.call(h.adminToken, 'GET', '/v1/reports/governance?since=forever')).status).toBe(400);
      const alice = await h.enrol('alice');
      expect((await h.call(alice, 'GET', '/v1/reports/governance')).status).toBe(403);
    });

    describe.skipIf(chromium.skip || skip)('in headless Chromium', () => {
      it('the report opens and its charts drew (SVG bars), the hostile reason shown as text', () => {
        const profile = mkdtempSync(join(tmpdir(), 'bg-chromium-'));
        const flags = ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`];
        const dom = execFileSync('chromium', [...flags, '--dump-dom', `file://${htmlFile}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
        const svgs = dom.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
        expect(svgs).toHaveLength(4);
        for (const svg of svgs) expect(svg).toMatch(/<path d="M[^"]+"/);
        // The usage chart drew one bar for the one case: a filled series path, not only axes.
        expect(svgs[0]).toMatch(/<path d="M[^"]+Z" [^>]*fill="#5470c6"/);
        expect(dom).not.toContain('<script>document.title');
        expect(dom).toContain('&lt;script&gt;document.title');
        expect(dom).not.toContain('<title>pwned</title>');
        const png = join(profile, 'report.png');
        execFileSync('chromium', [...flags, `--screenshot=${png}`, '--window-size=1200,1600', `file://${htmlFile}`], { timeout: 60_000, stdio: 'ignore' });
        expect(existsSync(png) && statSync(png).size).toBeGreaterThan(20_000);
      });
    });
  });
});
