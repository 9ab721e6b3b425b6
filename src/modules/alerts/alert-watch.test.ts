/**
 * The alert watch on the test bed (fake clock, real store and job handlers): each time-driven
 * alert is raised once per occurrence, repeated where its rule says, never after the condition
 * ends, and exactly once with two watches on one store (two instances) or after a restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStoreDatabase } from '../../../test/support/harness.js';
import { probeTcp, requireService } from '../../../test/support/integration.js';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Grant } from '../../domain/index.js';
import type { AlertPayload, Store } from '../../ports/index.js';
import { createPostgresStore } from '../../store/create-store.js';
import { certify } from '../grants/certify.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { revokeGrant } from '../jobs/revoke-grant.js';
import { createAlertWatch, type AlertWatch } from './alert-watch.js';

const postgres = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));
const MINUTE = 60_000;
const DAY = 86_400_000;

const routes = `
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }
routes:
  - events: ["grant.expiring", "grant.revocation-overdue", "grant.rotation-failed", "grant.certification-overdue"]
    channels: [secops-hook]
`;

describe('alert watch', () => {
  let bed: TestBed;
  let watch: AlertWatch;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(`${bedCatalog}${routes}`);
    watch = newWatch();
  });
  afterEach(async () => {
    await bed.close();
  });

  const newWatch = () => createAlertWatch(bed.ctx, { settings: { publicUrl: 'https://breakglass.test' } });
  const invokeFor = (account: string, ttl = '15m', n = 1) => invoke(bed.ctx, bed.actors.alice, { account, condition: 'outage', reason: `primary down ${n}`, incident: `INC-${n}`, ttl });
  /** The time-driven alerts in the outbox, oldest first, as `[event, id]`. */
  const raised = async (): Promise<AlertPayload[]> => {
    const messages = await bed.store.transaction((tx) => tx.outbox.list({}));
    return messages.map((m) => m.payload).filter((p) => p.actor === 'system' && p.id.startsWith('grant.')).reverse();
  };
  const ids = async () => (await raised()).map((p) => p.id);
  /** Moves the fake clock in steps, ticking the watch (and, if asked, the jobs) at each. */
  const run = async (ms: number, options: { stepMs?: number; jobs?: boolean } = {}) => {
    const step = options.stepMs ?? 10_000;
    for (let passed = 0; passed < ms; passed += step) {
      bed.clock.advance(Math.min(step, ms - passed));
      if (options.jobs) await bed.runDue();
      await watch.tick();
    }
  };

  it('grant.expiring: once, ten minutes before the expiry of an active grant, with who, what and why', async () => {
    const grant = await invokeFor('db-ephemeral', '15m');
    await run(5 * MINUTE - 10_000);
    expect(await ids()).toEqual([]);
    await run(10_000);
    const [warning, ...rest] = await raised();
    expect(rest).toEqual([]);
    expect(warning).toMatchObject({
      event: 'grant.expiring',
      id: `grant.expiring-${grant.id}-${grant.expiresAt.getTime()}`,
      severity: 'info',
      grant: grant.id,
      account: 'db-ephemeral',
      target: 'db',
      requester: 'alice',
      incident: 'INC-1',
      expiresAt: grant.expiresAt.toISOString(),
      link: `https://breakglass.test/v1/grants/${grant.id}`,
      details: { occurrence: grant.expiresAt.getTime(), expiresInMs: 10 * MINUTE },
    });
    await run(10 * MINUTE, { jobs: true });
    expect(await ids()).toEqual([warning!.id]); // not repeated, and the expiry itself raised nothing here
  });

  it('grant.expiring: a grant shorter than the warning is not warned about (its activation alert has the expiry)', async () => {
    await invokeFor('db-ephemeral', '5m');
    await run(5 * MINUTE - 1);
    expect(await ids()).toEqual([]);
  });

  it('grant.expiring: a policy may set its own warning (expiryWarning)', async () => {
    await bed.apply(`${bedCatalog}${routes}`.replace('    maxTtl: 1h\n', '    maxTtl: 1h\n    expiryWarning: 2m\n'));
    const grant = await invokeFor('db-ephemeral', '15m');
    await run(10 * MINUTE);
    expect(await ids()).toEqual([]); // the server's 10 minutes do not apply to this policy
    await run(3 * MINUTE);
    expect(await ids()).toEqual([`grant.expiring-${grant.id}-${grant.expiresAt.getTime()}`]);
    expect((await raised())[0]!.details).toMatchObject({ warningMs: 2 * MINUTE });
  });

  it('grant.revocation-overdue: a minute past the expiry, again every minute while it lasts, not after the revocation', async () => {
    const grant = await invokeFor('db-ephemeral', '15m');
    bed.target.setDown(true);
    await run(15 * MINUTE, { jobs: true, stepMs: MINUTE });
    expect(await ids()).toEqual([`grant.expiring-${grant.id}-${grant.expiresAt.getTime()}`]);
    await run(3 * MINUTE + 30_000, { jobs: true });
    const overdue = (await raised()).filter((p) => p.event === 'grant.revocation-overdue');
    expect(overdue.map((p) => p.id)).toEqual([1, 2, 3].map((n) => `grant.revocation-overdue-${grant.id}-${n}`));
    expect(overdue[0]).toMatchObject({ severity: 'critical', account: 'db-ephemeral', details: { occurrence: 1, state: 'revoking', dueAt: grant.expiresAt.toISOString() } });
    bed.target.setDown(false);
    await run(5 * MINUTE, { jobs: true });
    expect((await bed.store.transaction((tx) => tx.grants.findById(grant.id)))!.state).toBe('awaiting-certification');
    expect((await raised()).filter((p) => p.event === 'grant.revocation-overdue')).toHaveLength(3);
  });

  it('grant.revocation-overdue: an early end is due at once, not at the expiry', async () => {
    const grant = await invokeFor('db-ephemeral', '1h');
    bed.target.setDown(true);
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await run(MINUTE, { jobs: true });
    expect(await ids()).toEqual([`grant.revocation-overdue-${grant.id}-1`]);
  });

  it('grant.rotation-failed: rotating for five minutes, again every five, not once the rotation is verified', async () => {
    const grant = await rotating();
    const since = await revokedAt(grant);
    bed.target.setDown(true);
    await run(4 * MINUTE, { jobs: true });
    expect(await ids()).toEqual([]);
    await run(11 * MINUTE, { jobs: true });
    expect(await ids()).toEqual([1, 2, 3].map((n) => `grant.rotation-failed-${grant.id}-${n}`));
    expect((await raised())[0]).toMatchObject({ severity: 'critical', account: 'db-breakglass', details: { occurrence: 1, rotatingSince: since.toISOString() } });
    bed.target.setDown(false);
    await run(20 * MINUTE, { jobs: true, stepMs: MINUTE });
    expect((await bed.store.transaction((tx) => tx.grants.findById(grant.id)))!.state).toBe('awaiting-certification');
    expect(await ids()).toHaveLength(3);
  });

  it('grant.certification-overdue: once, seven days after the case began waiting; not after it is certified', async () => {
    const grant = await invokeFor('db-ephemeral', '15m');
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await bed.runDue();
    await run(7 * DAY - MINUTE, { stepMs: DAY / 4 });
    expect(await ids()).toEqual([]);
    await run(MINUTE);
    expect(await ids()).toEqual([`grant.certification-overdue-${grant.id}-1`]);
    expect((await raised())[0]).toMatchObject({ severity: 'warning', requester: 'alice' });
    await run(14 * DAY, { stepMs: DAY });
    expect(await ids()).toHaveLength(1);
    await certify(bed.ctx, bed.actors.bob, grant.id, { necessary: true, scoped: true, removed: true, note: 'reviewed' });
    await run(7 * DAY, { stepMs: DAY });
    expect(await ids()).toHaveLength(1);
  });

  it('two instances: two watches on one store raise each occurrence exactly once, together or in turn; so does a restarted one', async () => {
    const grant = await invokeFor('db-ephemeral', '15m');
    bed.target.setDown(true);
    const peer = newWatch();
    for (let minute = 0; minute < 18; minute++) {
      bed.clock.advance(MINUTE);
      await bed.runDue();
      // Both at once (interleaved transactions), then each again, then a fresh one (a restart).
      await Promise.all([watch.tick(), peer.tick()]);
      await peer.tick();
      await watch.tick();
      await newWatch().tick();
    }
    expect(await ids()).toEqual([
      `grant.expiring-${grant.id}-${grant.expiresAt.getTime()}`,
      ...[1, 2, 3].map((n) => `grant.revocation-overdue-${grant.id}-${n}`),
    ]);
  });

  it('no route, no alert and no mark: a route added later hears of a condition that still lasts', async () => {
    await bed.apply(bedCatalog);
    const grant = await invokeFor('db-ephemeral', '15m');
    bed.target.setDown(true);
    await run(17 * MINUTE + 30_000, { jobs: true, stepMs: MINUTE });
    expect(await ids()).toEqual([]);
    await bed.apply(`${bedCatalog}${routes}`);
    await watch.tick();
    expect(await ids()).toEqual([`grant.revocation-overdue-${grant.id}-2`]);
  });

  it('routing: a route that does not name a timed event gets nothing of it', async () => {
    await bed.apply(`${bedCatalog}${routes}`.replace('"grant.expiring", ', ''));
    await invokeFor('db-ephemeral', '15m');
    await run(6 * MINUTE);
    expect(await bed.store.transaction((tx) => tx.outbox.list({}))).toEqual([]);
  });

  /** A pre-staged grant ended and revoked: rotating, its rotation job not yet run. */
  async function rotating(): Promise<Grant> {
    const grant = await invokeFor('db-breakglass', '15m');
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await revokeGrant(bed.ctx, grant.id);
    expect((await bed.store.transaction((tx) => tx.grants.findById(grant.id)))!.state).toBe('rotating');
    return grant;
  }
  async function revokedAt(grant: Grant): Promise<Date> {
    return (await bed.store.transaction((tx) => tx.grants.findById(grant.id)))!.revokedAt!;
  }
});

describe.skipIf(postgres.skip)('alert watch across instances (postgres)', () => {
  let bed: TestBed;
  let other: Store;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    const database = await createStoreDatabase();
    drop = database.drop;
    // Two pools over one database: what two instances have.
    bed = await createTestBed({ store: await createPostgresStore(database.url, { poolSize: 4 }) });
    other = await createPostgresStore(database.url, { poolSize: 4 });
    await bed.apply(`${bedCatalog}${routes}`);
  });
  afterEach(async () => {
    await other?.close();
    await bed?.close();
    await drop?.();
  });

  it('two instances: watches on two connections, ticking at once, raise each occurrence exactly once', async () => {
    const settings = { publicUrl: undefined };
    const watches = [createAlertWatch(bed.ctx, { settings }), createAlertWatch({ store: other, clock: bed.clock }, { settings }), createAlertWatch({ store: other, clock: bed.clock }, { settings })];
    const grants = await Promise.all([1, 2, 3].map((n) => invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'r', incident: `INC-${n}`, ttl: '15m' })));
    bed.target.setDown(true);
    for (let minute = 0; minute < 18; minute++) {
      bed.clock.advance(MINUTE);
      await bed.runDue();
      await Promise.all(watches.map((w) => w.tick()));
    }
    const messages = await bed.store.transaction((tx) => tx.outbox.list({}));
    const ids = messages.map((m) => m.payload.id).sort();
    const expected = grants.flatMap((g) => [`grant.expiring-${g.id}-${g.expiresAt.getTime()}`, ...[1, 2, 3].map((n) => `grant.revocation-overdue-${g.id}-${n}`)]).sort();
    expect(ids).toEqual(expected);
  });

});
