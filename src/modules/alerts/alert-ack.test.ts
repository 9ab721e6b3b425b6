/**
 * Acknowledgement with escalation on the test bed (fake clock): an activation nobody
 * acknowledges within the route's `ackWithin` is sent again to `escalateTo`, once; an
 * acknowledged one is not; acknowledging twice answers the first and is audited once; the
 * messages of an ack-able route carry a signed link per channel. The link over HTTP (valid,
 * tampered, expired) is in src/http/alert-routes.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { OutboxMessage } from '../../ports/index.js';
import { invoke } from '../grants/invoke.js';
import { aad } from '../vault/vault.js';
import { ackKeySetting } from './alert-ack-link.js';
import { acknowledgeAlert } from './alert-ack.js';
import { createAlertEscalation, type AlertEscalation } from './alert-escalation.js';
import { listAlerts } from './alerts-admin.js';

const alerting = (route = 'ackWithin: 10m, escalateTo: [oncall]') => `
channels:
  - { name: chat, type: webhook, url: "http://127.0.0.1:9/chat", secret: chat-secret-value }
  - { name: oncall, type: webhook, url: "http://127.0.0.1:9/oncall", secret: oncall-secret-value }
routes:
  - { events: ["grant.activated"], channels: [chat], ${route} }
`;
const MINUTE = 60_000;

describe('alert acknowledgement and escalation', () => {
  let bed: TestBed;
  let escalation: AlertEscalation;
  beforeEach(async () => {
    bed = await createTestBed();
    escalation = createAlertEscalation(bed.ctx, { settings: { publicUrl: 'https://breakglass.test' } });
  });
  afterEach(async () => {
    await bed.close();
  });

  const activate = () => invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'primary down', incident: 'INC-1', ttl: '1h' });
  const outbox = async () => (await bed.store.transaction((tx) => tx.outbox.list({}))).reverse();
  const on = (messages: OutboxMessage[], channel: string) => messages.filter((m) => m.channel === channel);
  const acks = async () => (await bed.auditEvents()).filter((e) => e.action === 'alert.acknowledged');

  it('escalation: an activation nobody acknowledges within ackWithin is sent again to escalateTo, once', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    await activate();
    const [original] = await outbox();
    expect(original).toMatchObject({ channel: 'chat', payload: { event: 'grant.activated', id: expect.stringMatching(/^evt-\d+$/) } });
    bed.clock.advance(10 * MINUTE - 1);
    expect(await escalation.tick()).toBe(0);
    bed.clock.advance(1);
    expect(await escalation.tick()).toBe(1);
    const [escalated, ...more] = on(await outbox(), 'oncall');
    expect(more).toEqual([]);
    expect(escalated!.payload).toMatchObject({
      event: 'grant.activated',
      id: `${original!.payload.id}-escalated-0`,
      escalated: true,
      grant: original!.payload.grant,
      incident: 'INC-1',
      summary: `not acknowledged within 10m: ${original!.payload.summary}`,
      details: { escalatedFrom: original!.payload.id, ackWithin: '10m' },
    });
    // Once: later ticks, and a second instance's, send nothing more.
    const peer = createAlertEscalation(bed.ctx, { settings: { publicUrl: undefined } });
    bed.clock.advance(60 * MINUTE);
    expect((await escalation.tick()) + (await peer.tick())).toBe(0);
    expect(on(await outbox(), 'oncall')).toHaveLength(1);
  });

  it('escalation: an activation acknowledged in time is not escalated; the acknowledgement is per event, with who, when and the note', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    await activate();
    const [original] = await outbox();
    bed.clock.advance(5 * MINUTE);
    const ack = await acknowledgeAlert(bed.ctx, bed.actors.bob, original!.id, 'on it, INC-1');
    expect(ack).toEqual({ eventId: original!.payload.id, ackedBy: 'bob', ackedAt: bed.clock.now(), note: 'on it, INC-1', alreadyAcknowledged: false });
    bed.clock.advance(60 * MINUTE);
    expect(await escalation.tick()).toBe(0);
    expect(on(await outbox(), 'oncall')).toEqual([]);
    expect(await bed.store.transaction((tx) => tx.alertAcks.dueEscalations(bed.clock.now(), 10))).toEqual([]);
    const [listed] = await listAlerts(bed.ctx, bed.actors.admin);
    expect(listed!.acked).toEqual({ by: 'bob', at: ack.ackedAt, note: 'on it, INC-1' });
  });

  it('acknowledging twice is idempotent: the first acknowledgement stands and is audited once', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    await activate();
    const [original] = await outbox();
    const first = await acknowledgeAlert(bed.ctx, bed.actors.bob, original!.id, 'on it');
    bed.clock.advance(MINUTE);
    const second = await acknowledgeAlert(bed.ctx, bed.actors.admin, original!.id, 'me too');
    expect(second).toEqual({ ...first, alreadyAcknowledged: true });
    const audited = await acks();
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ actor: 'bob', subject: original!.payload.id, at: first.ackedAt, details: { alert: original!.id, channel: 'chat', event: 'grant.activated', note: 'on it', via: 'api' } });
    expect((await bed.verify()).ok).toBe(true);
  });

  it('an escalated message acknowledges its original event; an unknown alert is not_found', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    await activate();
    bed.clock.advance(10 * MINUTE);
    await escalation.tick();
    const [escalated] = on(await outbox(), 'oncall');
    const ack = await acknowledgeAlert(bed.ctx, bed.actors.admin, escalated!.id);
    expect(ack.eventId).toBe(escalated!.payload.details?.['escalatedFrom']);
    expect((await listAlerts(bed.ctx, bed.actors.admin)).map((a) => a.acked?.by)).toEqual(['admin', 'admin']);
    await expect(acknowledgeAlert(bed.ctx, bed.actors.admin, 'alr_00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('links: each channel of an ack-able alert gets its own signed, expiring link; the key is sealed in settings', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    await activate();
    const [original] = await outbox();
    const link = new URL(original!.payload.ackLink!);
    expect(`${link.origin}${link.pathname}`).toBe('https://breakglass.test/v1/alerts/ack');
    expect(Object.fromEntries(link.searchParams)).toEqual({ e: original!.payload.id, c: 'chat', x: String(bed.clock.now().getTime() / 1000 + 24 * 3600), s: expect.stringMatching(/^[0-9a-f]{64}$/) });
    bed.clock.advance(10 * MINUTE);
    await escalation.tick();
    const escalatedLink = new URL(on(await outbox(), 'oncall')[0]!.payload.ackLink!);
    expect([escalatedLink.searchParams.get('e'), escalatedLink.searchParams.get('c')]).toEqual([original!.payload.id, 'oncall']);
    const sealed = (await bed.store.transaction((tx) => tx.settings.get(ackKeySetting)))!;
    expect(Buffer.from(bed.ctx.vault.open(sealed, aad.alertAckKey()), 'base64')).toHaveLength(32);
  });

  it('a route without ackWithin: no link, no escalation', async () => {
    await bed.apply(`${bedCatalog}${alerting('minSeverity: info')}`);
    await activate();
    const [original] = await outbox();
    expect(original!.payload).not.toHaveProperty('ackLink');
    bed.clock.advance(24 * 60 * MINUTE);
    expect(await escalation.tick()).toBe(0);
    expect(await bed.store.transaction((tx) => tx.settings.get(ackKeySetting))).toBeUndefined();
  });

  it('catalog: ackWithin and escalateTo are stored with the route and shown in the plan', async () => {
    await bed.apply(`${bedCatalog}${alerting()}`);
    expect(await bed.store.transaction((tx) => tx.alerts.listRoutes())).toEqual([{ events: ['grant.activated'], channels: ['chat'], ackWithin: '10m', escalateTo: ['oncall'] }]);
    const result = await bed.apply(`${bedCatalog}${alerting('ackWithin: 15m, escalateTo: [oncall, chat]')}`);
    expect(result.plan.find((e) => e.kind === 'route')).toMatchObject({
      name: 'routes[0]',
      op: 'change',
      changes: { ackWithin: { before: '10m', after: '15m' }, escalateTo: { before: ['oncall'], after: ['oncall', 'chat'] } },
    });
  });
});
