/**
 * Looking after the alerting on the test bed: who may list alerts, retrying a dead one (the relay
 * then delivers it), and a channel test that reports the receiver's answer, failure included,
 * without the channel's secret in the answer or on the record. The sender is a recording fake.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Actor } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AlertPayload, ChannelConnection, ChannelSender } from '../../ports/index.js';
import { invoke } from '../grants/invoke.js';
import { createAlertRelay, type AlertRelay, type ChannelSenders } from './alert-relay.js';
import { listAlerts, retryAlert, testChannel } from './alerts-admin.js';

const SECRET = 'hook-secret-value';
const catalog = `${bedCatalog}
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: ${SECRET}, maxAttempts: 2 }
  - { name: backup-hook, type: webhook, url: "http://127.0.0.1:9/backup", secret: backup-secret-value }
routes:
  - { events: ["grant.activated"], channels: [secops-hook] }
users:
  - { name: audrey, roles: [auditor] }
`;

describe('alerts admin', () => {
  let bed: TestBed;
  let relay: AlertRelay;
  let senders: ChannelSenders;
  let delivered: { channel: string; payload: AlertPayload; secret: string | undefined }[];
  let down: Map<string, string>;
  let auditor: Actor;

  beforeEach(async () => {
    bed = await createTestBed();
    delivered = [];
    down = new Map();
    const sender: ChannelSender = (channel: ChannelConnection, payload: AlertPayload) => {
      const why = down.get(channel.name);
      if (why !== undefined) return Promise.reject(new AppError('target_unavailable', why));
      delivered.push({ channel: channel.name, payload, secret: channel.secret });
      return Promise.resolve({ status: 'HTTP 200' });
    };
    senders = { webhook: () => Promise.resolve(sender) };
    relay = createAlertRelay(bed.ctx, senders, { random: () => 0 });
    await bed.apply(catalog);
    const user = (await bed.store.transaction((tx) => tx.users.findByName('audrey')))!;
    auditor = { id: user.id, name: user.name, roles: user.roles };
  });
  afterEach(async () => {
    await bed.close();
  });

  const activate = (n: number) => invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: `primary down ${n}`, incident: `INC-${n}`, ttl: '15m' });
  const drain = async () => {
    for (let i = 0; i < 50 && (await relay.tick()) > 0; i++);
  };
  /** An activation alert that secops-hook refused until it was given up (maxAttempts 2). */
  const deadAlert = async () => {
    down.set('secops-hook', 'webhook channel "secops-hook" answered HTTP 500');
    await activate(1);
    for (let i = 0; i < 4; i++) {
      bed.clock.advance(60_000);
      await drain();
    }
    const [dead] = await listAlerts(bed.ctx, bed.actors.admin, { state: 'dead' });
    if (!dead) throw new Error('no dead alert');
    return dead;
  };
  const refusal = (work: Promise<unknown>) => work.then(() => 'allowed', (error: unknown) => (error instanceof AppError ? error.code : 'thrown'));

  it('list: admins and auditors read the outbox, newest first, filtered by state; a responder is refused', async () => {
    await activate(1);
    await drain();
    await activate(2);
    const all = await listAlerts(bed.ctx, bed.actors.admin);
    expect(all.map((a) => [a.event, a.channel, a.state, a.attempts])).toEqual([
      ['grant.activated', 'secops-hook', 'pending', 0],
      ['grant.activated', 'secops-hook', 'sent', 1],
    ]);
    expect(all[1]).toMatchObject({ id: expect.stringMatching(/^alr_/), eventId: expect.stringMatching(/^evt-\d+$/), account: 'db-ephemeral', sentAt: bed.clock.now() });
    expect(await listAlerts(bed.ctx, auditor, { state: 'sent' })).toEqual([all[1]]);
    expect(await listAlerts(bed.ctx, auditor, { limit: 1 })).toEqual([all[0]]);
    expect(await refusal(listAlerts(bed.ctx, bed.actors.alice))).toBe('forbidden');
    expect(await refusal(listAlerts(bed.ctx, bed.actors.bob))).toBe('forbidden');
  });

  it('retry: a dead alert goes back to pending with its attempts reset, is audited, and the relay delivers it', async () => {
    const dead = await deadAlert();
    expect(dead).toMatchObject({ event: 'grant.activated', channel: 'secops-hook', state: 'dead', attempts: 2, lastError: expect.stringContaining('HTTP 500') });
    // The dead letter itself went to the other channel.
    expect(delivered.map((d) => [d.channel, d.payload.event])).toEqual([['backup-hook', 'alert.dead']]);
    down.delete('secops-hook');
    const revived = await retryAlert(bed.ctx, bed.actors.admin, dead.id);
    expect(revived).toMatchObject({ id: dead.id, state: 'pending', attempts: 0 });
    const event = (await bed.auditEvents()).find((e) => e.action === 'alert.retried')!;
    expect(event).toMatchObject({ actor: 'admin', subject: dead.id, details: { channel: 'secops-hook', event: 'grant.activated', eventId: dead.eventId, attempts: 2 } });
    await drain();
    expect(delivered.map((d) => [d.channel, d.payload.event, d.payload.id])).toEqual([
      ['backup-hook', 'alert.dead', expect.any(String)],
      ['secops-hook', 'grant.activated', dead.eventId],
    ]);
    expect(await listAlerts(bed.ctx, bed.actors.admin, { state: 'dead' })).toEqual([]);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('retry: only a dead alert (a sent or pending one is a conflict), an unknown one is not found, and only by an admin', async () => {
    const dead = await deadAlert();
    expect(await refusal(retryAlert(bed.ctx, auditor, dead.id))).toBe('forbidden');
    expect(await refusal(retryAlert(bed.ctx, bed.actors.alice, dead.id))).toBe('forbidden');
    await retryAlert(bed.ctx, bed.actors.admin, dead.id);
    expect(await refusal(retryAlert(bed.ctx, bed.actors.admin, dead.id))).toBe('conflict');
    down.clear();
    await drain();
    const sent = (await listAlerts(bed.ctx, bed.actors.admin, { state: 'sent' })).find((a) => a.id === dead.id)!;
    await expect(retryAlert(bed.ctx, bed.actors.admin, sent.id)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('is sent') });
    expect(await refusal(retryAlert(bed.ctx, bed.actors.admin, 'alr_00000000-0000-0000-0000-000000000000'))).toBe('not_found');
    expect((await bed.audit()).filter((a) => a === 'alert.retried')).toHaveLength(1);
  });

  it('channel test: delivered straight through the sender with the unsealed secret, not queued; the answer and the audit event say so', async () => {
    const result = await testChannel(bed.ctx, bed.actors.admin, 'secops-hook', senders);
    expect(result).toEqual({ channel: 'secops-hook', ok: true, status: 'HTTP 200' });
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ channel: 'secops-hook', secret: SECRET, payload: { event: 'alert.test', severity: 'info', details: { channel: 'secops-hook', by: 'admin' } } });
    expect(await listAlerts(bed.ctx, bed.actors.admin)).toEqual([]);
    const event = (await bed.auditEvents()).find((e) => e.action === 'channel.tested')!;
    expect(event).toMatchObject({ actor: 'admin', subject: 'secops-hook', details: { channel: 'secops-hook', type: 'webhook', ok: true, status: 'HTTP 200' } });
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(event)).not.toContain(SECRET);
  });

  it('channel test: a failure is the answer (ok: false, the reason), not an error, and is audited; a secret in a reason is masked', async () => {
    const why = 'webhook channel "secops-hook" answered HTTP 403: the receiver refused the alert';
    down.set('secops-hook', why);
    expect(await testChannel(bed.ctx, bed.actors.admin, 'secops-hook', senders)).toEqual({ channel: 'secops-hook', ok: false, error: why });
    // A sender that (against its contract) quoted the secret: neither the answer nor the chain keeps it.
    down.set('secops-hook', `refused key ${SECRET}`);
    const leaky = await testChannel(bed.ctx, bed.actors.admin, 'secops-hook', senders);
    expect(leaky).toEqual({ channel: 'secops-hook', ok: false, error: 'refused key [secret]' });
    const events = (await bed.auditEvents()).filter((e) => e.action === 'channel.tested');
    expect(events.map((e) => e.details)).toEqual([
      { channel: 'secops-hook', type: 'webhook', ok: false, error: why },
      { channel: 'secops-hook', type: 'webhook', ok: false, error: 'refused key [secret]' },
    ]);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    // No sender for the type in this build: reported the same way.
    expect(await testChannel(bed.ctx, bed.actors.admin, 'secops-hook', {})).toEqual({ channel: 'secops-hook', ok: false, error: 'no sender for webhook channels in this build' });
  });

  it('channel test: an unknown channel is not found; only an admin may test', async () => {
    expect(await refusal(testChannel(bed.ctx, bed.actors.admin, 'nowhere', senders))).toBe('not_found');
    expect(await refusal(testChannel(bed.ctx, auditor, 'secops-hook', senders))).toBe('forbidden');
    expect(await refusal(testChannel(bed.ctx, bed.actors.alice, 'secops-hook', senders))).toBe('forbidden');
    expect(delivered).toEqual([]);
  });
});
