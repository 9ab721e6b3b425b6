import { describe, expect, it } from 'vitest';
import { parseDuration, formatDuration } from './duration.js';
import { asPolicyId } from './ids.js';
import { evaluateInvocation } from './policy.js';
import type { Policy } from './types.js';

const policy: Policy = {
  id: asPolicyId('pol_1'),
  name: 'p0',
  conditions: ['outage', 'lockout', 'security-incident'],
  incidentPattern: '^INC-[0-9]+$',
  approval: { mode: 'post-hoc' },
  defaultTtlMs: 15 * 60_000,
  maxTtlMs: 60 * 60_000,
  minTtlMs: undefined,
  invokers: [],
};
const request = { condition: 'outage', reason: 'db down', incident: 'INC-1', ttl: '5m' };

describe('durations', () => {
  it.each([['10s', 10_000], ['15m', 900_000], ['1h', 3_600_000], ['2d', 172_800_000]])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(text);
  });
  it.each(['', '0s', '5', 'm', '1.5h', '-1m', '10 minutes', '1w'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('evaluateInvocation', () => {
  it('accepts a valid request and uses its ttl', () => {
    expect(evaluateInvocation(policy, request)).toEqual({ ttlMs: 300_000 });
  });
  it('uses the default ttl when none is asked', () => {
    expect(evaluateInvocation(policy, { ...request, ttl: undefined })).toEqual({ ttlMs: 900_000 });
  });
  it('refuses a condition outside the policy', () => {
    expect(() => evaluateInvocation(policy, { ...request, condition: 'boredom' })).toThrowError(/condition "boredom"/);
  });
  it('refuses an incident that does not match the pattern', () => {
    expect(() => evaluateInvocation(policy, { ...request, incident: 'JIRA-1' })).toThrowError(/does not match/);
  });
  it('refuses a ttl above the maximum', () => {
    expect(() => evaluateInvocation(policy, { ...request, ttl: '2h' })).toThrowError(/exceeds the maximum 1h/);
  });
  it('refuses a ttl below a minimum', () => {
    expect(() => evaluateInvocation({ ...policy, minTtlMs: 60_000 }, { ...request, ttl: '10s' })).toThrowError(/below the minimum/);
  });
  it('refuses a malformed ttl naming the field', () => {
    expect(() => evaluateInvocation(policy, { ...request, ttl: 'soon' })).toThrowError(
      expect.objectContaining({ code: 'validation', path: 'ttl' }) as Error,
    );
  });
  it('refuses an empty reason', () => {
    expect(() => evaluateInvocation(policy, { ...request, reason: '  ' })).toThrowError(/reason/);
  });
});
