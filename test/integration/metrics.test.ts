/**
 * The metrics contract against a real server (issue 10): after one closed case on a real
 * PostgreSQL target, `GET /metrics` serves every name and `breakglass_revocation_lag_seconds_count`
 * is at least 1; on both store dialects, scraped with an admin token and with
 * BREAKGLASS_METRICS_TOKEN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { catalogFor, createStoreDatabase, eventually, startHarness, type Dialect, type Harness } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());
const sharedPg = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));

const dialects: Dialect[] = ['sqlite', 'postgres'];
const scrapeToken = 'integration-metrics-token-7f3a9c2e5b1d4086';

/** The value of one unlabelled sample line of the text format. */
const sample = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

describe.skipIf(binaries.skip)('metrics against a real server', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPgCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  describe.each(dialects)('on the %s store', (dialect) => {
    let h: Harness;
    let alice: string;
    let bob: string;
    let drop: (() => Promise<void>) | undefined;
    const skip = () => dialect === 'postgres' && sharedPg.skip;

    beforeAll(async () => {
      if (skip()) return;
      const db = dialect === 'postgres' ? await createStoreDatabase() : undefined;
      drop = db?.drop;
      h = await startHarness({ dialect, metricsToken: scrapeToken, ...(db ? { databaseUrl: db.url } : {}) });
      const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role: `bg_metrics_${dialect}` }));
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      alice = await h.enrol('alice');
      bob = await h.enrol('bob');
    });
    afterAll(async () => {
      await h?.stop();
      await drop?.();
    });

    const scrape = async (token: string) => {
      const response = await fetch(`${h.server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, text: await response.text() };
    };

    it.skipIf(skip())('contract: after one closed case, breakglass_revocation_lag_seconds_count ≥ 1', async () => {
      const invoked = await h.call(alice, 'POST', '/v1/grants', { account: 'pg-breakglass', condition: 'outage', reason: 'primary down', incident: 'INC-10', ttl: '5m' });
      expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
      const id: string = invoked.body.id;
      const during = await scrape(h.adminToken);
      expect(during.status).toBe(200);
      expect(sample(during.text, 'breakglass_grants_active')).toBe(1);
      expect(during.text).toMatch(/^breakglass_grants_total\{account="pg-breakglass",condition="outage"\} 1$/m);

      expect((await h.call(alice, 'POST', `/v1/grants/${id}/end`)).status).toBe(200);
      await eventually(async () => (await h.call(bob, 'GET', `/v1/grants/${id}`)).body.state === 'awaiting-certification', 20_000, 'revocation and rotation');
      const certified = await h.call(bob, 'POST', `/v1/grants/${id}/certify`, { necessary: true, scoped: true, removed: true, note: 'INC-10' });
      expect(certified.body).toMatchObject({ state: 'closed' });

      for (const token of [h.adminToken, scrapeToken]) {
        const after = await scrape(token);
        expect(after.status).toBe(200);
        expect(sample(after.text, 'breakglass_revocation_lag_seconds_count')).toBeGreaterThanOrEqual(1);
        expect(sample(after.text, 'breakglass_privilege_valid_after_end_seconds_count')).toBeGreaterThanOrEqual(1);
        expect(sample(after.text, 'breakglass_time_to_access_seconds_count')).toBeGreaterThanOrEqual(1);
        expect(sample(after.text, 'breakglass_grants_active')).toBe(0);
        expect(sample(after.text, 'breakglass_cases_uncertified')).toBe(0);
        expect(sample(after.text, 'breakglass_audit_head_seq')).toBeGreaterThan(0);
        for (const name of ['breakglass_revocations_overdue', 'breakglass_drift_findings', 'breakglass_oldest_uncertified_case_age_seconds', 'breakglass_drill_last_success_timestamp_seconds', 'breakglass_audit_last_checkpoint_timestamp_seconds', 'process_cpu_user_seconds_total']) {
          expect(after.text, name).toContain(`# HELP ${name} `);
        }
      }
    });

    it.skipIf(skip())('401 without a valid token, 403 for a responder', async () => {
      expect((await fetch(`${h.server.url}/metrics`)).status).toBe(401);
      expect((await scrape(`${scrapeToken}x`)).status).toBe(401);
      expect((await scrape(alice)).status).toBe(403);
    });
  });
});
