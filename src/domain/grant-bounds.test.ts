/** Issue 11 (H2): the extension rule of the lifecycle, on its own (pure, no clock but the one given). */
import { describe, expect, it } from 'vitest';
import { transition, type ExtensionLimits } from './grant-lifecycle.js';
import { asAccountId, asGrantId, asUserId } from './ids.js';
import type { Grant } from './types.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const min = 60_000;

const active: Grant = {
  id: asGrantId('gr_1'),
  accountId: asAccountId('acc_1'),
  requesterId: asUserId('u-alice'),
  requesterName: 'alice',
  condition: 'outage',
  reason: 'db down',
  incident: 'INC-1',
  state: 'active',
  mode: 'prestaged',
  createdAt: t0,
  activatedAt: t0,
  expiresAt: at(15 * min),
  ttlMs: 15 * min,
  endedAt: undefined,
  endReason: undefined,
  revokedAt: undefined,
  rotatedAt: undefined,
  revealedAt: undefined,
  closedAt: undefined,
  certification: undefined,
  failure: undefined,
};
const limits: ExtensionLimits = { policy: 'p1', maxTtlMs: 60 * min, maxExtensions: 2, maxTotalMs: 40 * min };
const extend = (grant: Grant, byMs: number, now = at(min), l = limits) => transition(grant, { type: 'extend', byMs, limits: l }, now);

describe('extensions (maxExtensions, maxTotal)', () => {
  it('moves the expiry and counts the extension', () => {
    const once = extend(active, 10 * min);
    expect(once).toMatchObject({ state: 'active', expiresAt: at(25 * min), extensions: 1 });
    expect(extend(once, 10 * min)).toMatchObject({ expiresAt: at(35 * min), extensions: 2 });
  });
  it('refuses past maxExtensions, naming the limit', () => {
    const twice = extend(extend(active, min), min);
    expect(() => extend(twice, min)).toThrowError(/^maxExtensions: policy "p1" allows 2/);
  });
  it('refuses past maxTotal (lifetime from activation), naming the limit and what is left', () => {
    expect(() => extend(active, 26 * min)).toThrowError(/^maxTotal: .* at most 40m .* at most 25m more/);
    expect(extend(active, 25 * min).expiresAt).toEqual(at(40 * min));
  });
  it('a policy without maxExtensions allows none', () => {
    expect(() => extend(active, min, at(min), { ...limits, maxExtensions: undefined })).toThrowError(/maxExtensions: .* allows 0/);
  });
  it('one extension is at most maxTtl, and more than nothing', () => {
    expect(() => extend(active, 61 * min, at(min), { ...limits, maxTotalMs: undefined })).toThrowError(/at most the policy's maxTtl/);
    expect(() => extend(active, 0)).toThrowError(/longer than 0/);
  });
  it('an expired or ended grant cannot be extended', () => {
    expect(() => extend(active, min, at(15 * min))).toThrowError(/not allowed/);
    expect(() => extend({ ...active, state: 'revoking' }, min)).toThrowError(/not allowed/);
  });
});

describe('incident closed', () => {
  it('ends an active grant with endReason incident-closed', () => {
    expect(transition(active, { type: 'incident-closed' }, at(min))).toMatchObject({ state: 'revoking', endedAt: at(min), endReason: 'incident-closed' });
  });
});
