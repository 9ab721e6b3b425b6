/**
 * `GET /metrics` over HTTP on the test bed (`app.inject`): the metric names in the Prometheus
 * text format for an admin or auditor token, 401 without a token, 403 for a responder, and the
 * separate BREAKGLASS_METRICS_TOKEN, which is no user's token.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import { metricsHook } from '../modules/metrics/metrics-hook.js';
import { createMetrics } from '../modules/metrics/metrics-registry.js';
import { buildHttpApp, type App } from './http-app.js';

const SCRAPE = 'metrics-scrape-token-0123456789abcdef0123';
/** Every name the issue lists (histograms by their _count line). */
const names = [
  'breakglass_grants_active',
  'breakglass_grants_total',
  'breakglass_time_to_access_seconds_count',
  'breakglass_revocation_lag_seconds_count',
  'breakglass_revocations_overdue',
  'breakglass_privilege_valid_after_end_seconds_count',
  'breakglass_drift_findings',
  'breakglass_cases_uncertified',
  'breakglass_oldest_uncertified_case_age_seconds',
  'breakglass_drill_last_success_timestamp_seconds',
  'breakglass_audit_head_seq',
  'breakglass_audit_last_checkpoint_timestamp_seconds',
  'process_resident_memory_bytes',
];

describe('GET /metrics', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    const metrics = createMetrics({ scrapeToken: SCRAPE });
    bed.ctx.audit.onAppend(metricsHook(metrics));
    await bed.apply(`${bedCatalog}users:\n  - { name: audrey, roles: [auditor] }\n`);
    for (const user of ['alice', 'audrey']) tokens[user] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    app = await buildHttpApp({ ctx: { ...bed.ctx, metrics }, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const scrape = async (token?: string) => {
    const response = await app.inject({ method: 'GET', url: '/metrics', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, type: response.headers['content-type'], body: response.body };
  };

  it('serves every metric name in the Prometheus text format to an admin and an auditor', async () => {
    for (const user of ['admin', 'audrey']) {
      const answer = await scrape(tokens[user]);
      expect(answer.status).toBe(200);
      expect(answer.type).toContain('text/plain');
      for (const name of names) expect(answer.body, name).toContain(`# HELP ${name.replace(/_count$/, '')} `);
      expect(answer.body).toMatch(/^breakglass_revocation_lag_seconds_count 0$/m);
    }
  });

  it('401 without a token or with a wrong one, 403 for a responder', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape('bg_not-a-real-token-000000000000')).status).toBe(401);
    const responder = await scrape(tokens['alice']);
    expect(responder.status).toBe(403);
    expect(JSON.parse(responder.body)).toMatchObject({ error: { code: 'forbidden' } });
    const refused = (await bed.auditEvents()).filter((event) => event.action === 'request.refused');
    expect(refused).toMatchObject([{ actor: 'alice', subject: 'metrics', details: { what: 'GET /metrics', code: 'forbidden' } }]);
  });

  it('BREAKGLASS_METRICS_TOKEN scrapes without being a user, and opens nothing else', async () => {
    const answer = await scrape(SCRAPE);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('breakglass_audit_head_seq');
    const other = await app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer ${SCRAPE}` } });
    expect(other.statusCode).toBe(401);
  });

  it('is not served when the server has no metrics', async () => {
    const bare = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
    expect((await bare.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${tokens['admin']}` } })).statusCode).toBe(404);
    await bare.close();
  });
});
