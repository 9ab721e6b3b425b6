/**
 * I2: no state change without its audit event. The audit insert is made to fail for real
 * (a SQLite trigger that aborts it) and the action must fail with nothing changed.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogFor, startHarness, type Harness } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());

describe.skipIf(binaries.skip)('I2 fail-closed audit', () => {
  let cluster: PgCluster;
  let h: Harness;
  let alice: string;
  let db: Database.Database;
  beforeAll(async () => {
    cluster = await startPgCluster();
    h = await startHarness({ dialect: 'sqlite' });
    await h.call(h.adminToken, 'POST', '/v1/apply', catalogFor(cluster, { role: 'bg_failclosed' }));
    alice = await h.enrol('alice');
    db = new Database(join(h.dataDir, 'breakglass.db'));
  });
  afterAll(async () => {
    db?.close();
    await h?.stop();
    await cluster?.stop();
  });

  const breakAudit = () => db.exec(`CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store down'); END;`);
  const repairAudit = () => db.exec('DROP TRIGGER audit_down');
  const invoke = () => h.call(alice, 'POST', '/v1/grants', { account: 'pg-breakglass', condition: 'outage', reason: 'r', incident: 'INC-1', ttl: '5m' });

  it('I2: when the audit insert fails, invoke fails and no grant exists', async () => {
    breakAudit();
    try {
      const refused = await invoke();
      expect(refused.status).toBe(500);
      expect(refused.body.error.code).toBe('audit_failed');
    } finally {
      repairAudit();
    }
    expect((await h.call(alice, 'GET', '/v1/grants')).body.grants).toEqual([]);
    const jobs = db.prepare("select count(*) as n from jobs where kind <> 'stage'").get() as { n: number };
    expect(jobs.n).toBe(0);
  });

  it('I2: when the audit insert fails, end fails and the grant stays active; the chain stays intact', async () => {
    const grant = (await invoke()).body;
    expect(grant.state).toBe('active');
    breakAudit();
    try {
      const refused = await h.call(alice, 'POST', `/v1/grants/${grant.id}/end`);
      expect(refused.status).toBe(500);
    } finally {
      repairAudit();
    }
    expect((await h.call(alice, 'GET', `/v1/grants/${grant.id}`)).body.state).toBe('active');
    expect((await h.call(h.adminToken, 'GET', '/v1/audit/verify')).body.ok).toBe(true);
    await h.call(alice, 'POST', `/v1/grants/${grant.id}/end`);
  });
});
