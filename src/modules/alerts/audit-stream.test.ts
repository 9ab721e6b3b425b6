/**
 * Audit streaming on the test bed: every audit event and signed checkpoint, copied through the
 * outbox to each channel that says `auditSink: true`, arrives in chain order with hashes a
 * receiver recomputes and signatures it verifies. The sender is a recording fake; the real
 * syslog sender is tested end to end in test/integration/audit-stream.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { hashEvent, verifyCheckpoint } from '../../crypto/index.js';
import type { AlertPayload, ChannelConnection, ChannelSender } from '../../ports/index.js';
import { certify } from '../grants/certify.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { createAlertRelay, type AlertRelay } from './alert-relay.js';
import { auditStream } from './audit-stream.js';

const sinks = `
channels:
  - { name: siem-hook, type: webhook, url: "http://127.0.0.1:9/audit", secret: hook-secret-value, auditSink: true }
  - { name: siem-syslog, type: syslog, host: 127.0.0.1, protocol: tcp, auditSink: true }
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: other-secret-value }
routes:
  - events: ["grant.activated"]
    channels: [secops-hook, siem-hook]
`;

describe('audit stream', () => {
  let bed: TestBed;
  let relay: AlertRelay;
  let delivered: { channel: string; payload: AlertPayload }[];
  beforeEach(async () => {
    bed = await createTestBed();
    const stream = auditStream({ clock: bed.clock });
    bed.ctx.audit.onAppend(stream.onAudit);
    bed.ctx.audit.onCheckpoint(stream.onCheckpoint);
    delivered = [];
    const sender: ChannelSender = (channel: ChannelConnection, payload: AlertPayload) => {
      delivered.push({ channel: channel.name, payload });
      return Promise.resolve({ status: 'recorded' });
    };
    relay = createAlertRelay(bed.ctx, { webhook: () => Promise.resolve(sender), syslog: () => Promise.resolve(sender) }, { random: () => 0 });
  });
  afterEach(async () => {
    await bed.close();
  });

  const drain = async () => {
    for (let i = 0; i < 500 && (await relay.tick()) > 0; i++);
  };
  const streamed = (channel: string) => delivered.filter((d) => d.channel === channel && d.payload.event.startsWith('audit.')).map((d) => d.payload);

  /** A whole case with time passing (so checkpoints are signed along the way), then delivered. */
  async function runCase(): Promise<void> {
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'primary down', incident: 'INC-7', ttl: '15m' });
    bed.clock.advance(2_000);
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    bed.clock.advance(2_000);
    await bed.runDue();
    bed.clock.advance(2_000);
    await certify(bed.ctx, bed.actors.bob, grant.id, { necessary: true, scoped: true, removed: true, note: 'reviewed' });
    bed.clock.advance(2_000);
    await bed.store.transaction((tx) => bed.ctx.audit.checkpoint(tx));
    await drain();
  }

  it('stream: every event and checkpoint reaches each sink in chain order; hashes recompute, signatures verify', async () => {
    await bed.apply(`${bedCatalog}${sinks}`);
    await runCase();
    const chain = await bed.auditEvents();
    const checkpoints = await bed.store.transaction((tx) => tx.audit.checkpoints());
    for (const channel of ['siem-hook', 'siem-syslog']) {
      const copy = streamed(channel);
      const events = copy.filter((p) => p.event === 'audit.event');
      const first = events[0]!.seq!;
      // From the apply that declared the sink on, nothing is missing and nothing is repeated.
      expect(events.map((p) => p.seq)).toEqual(chain.filter((e) => e.seq >= first).map((e) => e.seq));
      expect(events.map((p) => p.action)).toContain('catalog.applied');
      expect(events.map((p) => p.action)).toEqual(expect.arrayContaining(['grant.activated', 'grant.ended', 'grant.revocation-verified', 'grant.certified']));
      let prevHash = events[0]!.prevHash!;
      for (const p of events) {
        expect(p.prevHash).toBe(prevHash);
        expect(hashEvent(p.prevHash!, { seq: p.seq!, at: p.at, actor: p.actor!, action: p.action!, subject: p.subject!, details: p.details! })).toBe(p.hash);
        expect(JSON.parse(p.summary)).toEqual({ seq: p.seq, at: p.at, actor: p.actor, action: p.action, subject: p.subject, details: p.details, prevHash: p.prevHash, hash: p.hash });
        expect(p.id).toBe(`audit-${p.seq}`);
        prevHash = p.hash!;
      }
      expect(prevHash).toBe(chain.at(-1)!.hash);
      // Each checkpoint after the event it signs, signed by the chain's key, and all of them.
      const signed = copy.filter((p) => p.event === 'audit.checkpoint');
      expect(signed.map((p) => p.seq)).toEqual(checkpoints.filter((c) => c.seq >= first).map((c) => c.seq));
      expect(signed.length).toBeGreaterThan(2);
      for (const p of signed) {
        expect(verifyCheckpoint(bed.ctx.audit.publicKeyPem, { seq: p.seq!, hash: p.hash!, at: p.at, signature: p.signature! })).toBe(true);
        const position = copy.indexOf(p);
        const signedEvent = copy.findIndex((e) => e.event === 'audit.event' && e.seq === p.seq);
        expect(signedEvent).toBeGreaterThanOrEqual(0);
        expect(signedEvent).toBeLessThan(position);
        expect(p.hash).toBe(events.find((e) => e.seq === p.seq)!.hash);
      }
    }
    // A channel that is not a sink gets its routed alerts only; a sink gets its routed alerts too.
    expect(delivered.filter((d) => d.channel === 'secops-hook').map((d) => d.payload.event)).toEqual(['grant.activated']);
    expect(delivered.filter((d) => d.channel === 'siem-hook' && !d.payload.event.startsWith('audit.')).map((d) => d.payload.event)).toEqual(['grant.activated']);
  });

  it('stream: no sink, no copy; a catalog that drops the sink stops the stream', async () => {
    await bed.apply(bedCatalog);
    await runCase();
    expect(delivered).toEqual([]);
    await bed.apply(`${bedCatalog}${sinks}`);
    await runCase();
    const before = streamed('siem-hook').length;
    expect(before).toBeGreaterThan(0);
    // The catalog that drops the flag takes effect in its own transaction: its events are not sent either.
    await bed.apply(`${bedCatalog}${sinks}`.replaceAll(', auditSink: true', ''));
    await runCase();
    expect(streamed('siem-hook')).toHaveLength(before);
  });

  it('stream: a copy that cannot be written takes its event with it (fail closed)', async () => {
    await bed.apply(`${bedCatalog}${sinks}`);
    const original = bed.store.transaction.bind(bed.store);
    (bed.store as { transaction: typeof original }).transaction = (work) =>
      original((tx) => work({ ...tx, outbox: { ...tx.outbox, enqueue: () => Promise.reject(new Error('disk full')) } }));
    const head = (await bed.auditEvents()).length;
    await expect(invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'r', incident: 'INC-8', ttl: '15m' })).rejects.toThrow();
    (bed.store as { transaction: typeof original }).transaction = original;
    expect(await bed.auditEvents()).toHaveLength(head);
    expect(await bed.store.transaction((tx) => tx.grants.list({}))).toEqual([]);
  });
});
