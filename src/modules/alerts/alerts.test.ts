/**
 * The transactional outbox on the test bed: alerts written with the change they report, routed
 * by the catalog, delivered in order per channel, retried with backoff, dead after the limit
 * (and that itself announced on the other channels). The sender is a recording fake here; the
 * real channels are tested against real receivers in src/notify and test/integration.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { AppError } from '../../errors/index.js';
import type { AlertPayload, ChannelConnection } from '../../ports/index.js';
import { generateSigningKeyPair } from '../../crypto/index.js';
import { verifyAudit } from '../audit/audit-access.js';
import { invoke } from '../grants/invoke.js';
import { runDrill } from '../drills/run-drill.js';
import { createAlertRelay, type AlertRelay } from './alert-relay.js';

const alerting = (maxAttempts = 3) => `
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value, maxAttempts: ${maxAttempts} }
  - { name: backup-hook, type: webhook, url: "http://127.0.0.1:9/backup", secret: backup-secret-value }
routes:
  - events: ["grant.activated", "grant.revoked", "grant.revocation-overdue"]
    channels: [secops-hook]
`;

describe('alerts outbox', () => {
  let bed: TestBed;
  let relay: AlertRelay;
  let delivered: { channel: string; payload: AlertPayload; secret: string | undefined }[];
  let down: Set<string>;
  beforeEach(async () => {
    bed = await createTestBed();
    delivered = [];
    down = new Set();
    const sender = async (channel: ChannelConnection, payload: AlertPayload) => {
      if (down.has(channel.name)) throw new AppError('target_unavailable', `webhook channel "${channel.name}" answered HTTP 500`);
      delivered.push({ channel: channel.name, payload, secret: channel.secret });
      return { status: 'HTTP 200' };
    };
    relay = createAlertRelay(bed.ctx, { webhook: () => Promise.resolve(sender) }, { random: () => 0 });
  });
  afterEach(async () => {
    await bed.close();
  });

  const activate = (n: number) => invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: `primary down ${n}`, incident: `INC-${n}`, ttl: '15m' });
  const outbox = () => bed.store.transaction((tx) => tx.outbox.list({}));
  /** Runs the relay until nothing due is left at the fake clock's now. */
  const drain = async () => {
    for (let i = 0; i < 50 && (await relay.tick()) > 0; i++);
  };

  it('outbox: an activation writes its alert in the same transaction, with who, what and why; the relay delivers it once', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    const grant = await activate(1);
    const [message] = await outbox();
    expect(message).toMatchObject({ channel: 'secops-hook', state: 'pending', attempts: 0 });
    expect(message!.payload).toMatchObject({
      event: 'grant.activated',
      severity: 'critical',
      grant: grant.id,
      account: 'db-ephemeral',
      target: 'db',
      requester: 'alice',
      condition: 'outage',
      incident: 'INC-1',
      reason: 'primary down 1',
      expiresAt: grant.expiresAt.toISOString(),
      link: `https://breakglass.test/v1/grants/${grant.id}`,
    });
    const activated = (await bed.auditEvents()).find((e) => e.action === 'grant.activated' && e.subject === grant.id)!;
    expect(message!.payload.id).toBe(`evt-${activated.seq}`);
    await drain();
    expect(delivered.map((d) => [d.channel, d.payload.event, d.payload.id])).toEqual([['secops-hook', 'grant.activated', `evt-${activated.seq}`]]);
    expect(delivered[0]!.secret).toBe('hook-secret-value');
    expect((await outbox())[0]).toMatchObject({ state: 'sent', attempts: 1 });
    await drain();
    expect(delivered).toHaveLength(1);
  });

  it('outbox: no route, no alert; an event a route does not name is not sent', async () => {
    await bed.apply(bedCatalog);
    await activate(1);
    expect(await outbox()).toEqual([]);
    await bed.apply(`${bedCatalog}${alerting()}`.replace('"grant.activated", ', ''));
    await activate(2);
    expect(await outbox()).toEqual([]);
  });

  it('outbox: an alert that cannot be written takes its change with it (fail closed)', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    const enqueue = bed.store.transaction.bind(bed.store);
    (bed.store as { transaction: typeof enqueue }).transaction = (work) =>
      enqueue((tx) => work({ ...tx, outbox: { ...tx.outbox, enqueue: () => Promise.reject(new Error('disk full')) } }));
    await expect(activate(1)).rejects.toThrow();
    (bed.store as { transaction: typeof enqueue }).transaction = enqueue;
    expect(await bed.store.transaction((tx) => tx.grants.list({}))).toEqual([]);
    expect(bed.target.principals().filter((p) => p !== 'bg_admin')).toEqual([]); // no credential left on the target
  });

  it('outbox: a receiver that is down gets everything, in order, once it is back', async () => {
    await bed.apply(`${bedCatalog}${alerting(100)}`);
    down.add('secops-hook');
    for (const n of [1, 2, 3]) await activate(n);
    for (let minute = 0; minute < 60; minute++) {
      bed.clock.advance(1_000);
      await drain();
    }
    expect(delivered).toEqual([]);
    const waiting = (await outbox()).find((m) => m.payload.incident === 'INC-1')!;
    expect(waiting.attempts).toBeGreaterThan(3);
    expect(waiting.lastError).toContain('HTTP 500');
    down.delete('secops-hook');
    bed.clock.advance(60_000);
    await drain();
    expect(delivered.map((d) => d.payload.incident)).toEqual(['INC-1', 'INC-2', 'INC-3']);
  });

  it('outbox: a receiver that fails for ever ends in dead, and the dead letter reaches the other channel', async () => {
    await bed.apply(`${bedCatalog}${alerting(3)}`);
    down.add('secops-hook');
    await activate(1);
    for (let i = 0; i < 10; i++) {
      bed.clock.advance(60_000);
      await drain();
    }
    const messages = await outbox();
    const dead = messages.find((m) => m.channel === 'secops-hook')!;
    expect(dead).toMatchObject({ state: 'dead', attempts: 3 });
    expect(delivered.map((d) => [d.channel, d.payload.event])).toEqual([['backup-hook', 'alert.dead']]);
    expect(delivered[0]!.payload.details).toMatchObject({ alert: dead.id, channel: 'secops-hook', event: 'grant.activated' });
    expect(await bed.store.transaction((tx) => tx.outbox.countDead())).toBe(1);
  });

  it('secrets: no channel secret in any outbox row', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    await activate(1);
    const rows = JSON.stringify(await outbox());
    expect(rows).not.toContain('hook-secret-value');
    expect(rows).not.toContain('backup-secret-value');
    const channels = JSON.stringify(await bed.store.transaction((tx) => tx.alerts.listChannels()));
    expect(channels).not.toContain('hook-secret-value');
  });

  it('audit.verify-failed: a chain that fails verification raises its alert, routed like the others', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`.replace('"grant.activated", "grant.revoked"', '"grant.activated", "audit.verify-failed"'));
    await activate(1);
    // Checked against another key: every signed checkpoint fails, as after a rewritten chain.
    const stranger = { ...bed.ctx, audit: { ...bed.ctx.audit, publicKeyPem: generateSigningKeyPair().publicKeyPem } };
    const result = await verifyAudit(stranger, bed.actors.admin);
    expect(result.ok).toBe(false);
    const raised = (await outbox()).find((m) => m.payload.event === 'audit.verify-failed')!;
    expect(raised).toMatchObject({ channel: 'secops-hook', state: 'pending' });
    expect(raised.payload).toMatchObject({ severity: 'critical', details: { checkedBy: 'admin' } });
    expect(await verifyAudit(bed.ctx, bed.actors.admin)).toMatchObject({ ok: true });
  });

  it('a drill is announced but pages nobody: its routine steps are info and marked drill; a route with minSeverity warning skips them; drill.failed stays critical', async () => {
    await bed.apply(`${bedCatalog}
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }
  - { name: pager-hook, type: webhook, url: "http://127.0.0.1:9/pager", secret: pager-secret-value }
routes:
  - { events: ["*"], channels: [secops-hook] }
  - { events: ["*"], channels: [pager-hook], minSeverity: warning }
`);
    bed.clock.advance(2_000);
    await bed.runDue();
    expect((await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass')).result).toBe('passed');
    const messages = await outbox();
    const activated = messages.find((m) => m.channel === 'secops-hook' && m.payload.event === 'grant.activated');
    expect(activated?.payload).toMatchObject({ severity: 'info', drill: true, summary: expect.stringMatching(/^drill — grant.activated: db-breakglass/) });
    expect(messages.filter((m) => m.channel === 'pager-hook' && m.payload.drill === true)).toEqual([]);

    bed.target.plant('bg_admin', 'changed-by-hand', { canLogin: false });
    expect((await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass')).result).toBe('failed');
    const failed = (await outbox()).filter((m) => m.payload.event === 'drill.failed');
    expect(failed.map((m) => [m.channel, m.payload.severity]).sort()).toEqual([['pager-hook', 'critical'], ['secops-hook', 'critical']]);
  });
});
