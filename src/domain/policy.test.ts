import { describe, expect, it } from 'vitest';
import { parseDuration, formatDuration } from './duration.js';
import { asPolicyId } from './ids.js';
import { evaluateInvocation, incidentCheckUrl, incidentCheckUrlProblem } from './policy.js';
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

// issue 11 (H4): every refusal names the criterion that failed, in the message and as its path.
describe('invocation criteria name themselves', () => {
  const refusal = (p: Policy, r: typeof request) => {
    try {
      evaluateInvocation(p, r);
    } catch (error) {
      return error as { code: string; path?: string; message: string };
    }
    throw new Error('expected a refusal');
  };
  it('conditions', () => {
    expect(refusal(policy, { ...request, condition: 'boredom' })).toMatchObject({ code: 'policy_violation', path: 'conditions', message: expect.stringContaining('(conditions: outage, lockout, security-incident)') });
  });
  it('incidentPattern', () => {
    expect(refusal(policy, { ...request, incident: 'JIRA-1' })).toMatchObject({
      code: 'policy_violation',
      path: 'incidentPattern',
      message: 'incident "JIRA-1" does not match incidentPattern ^INC-[0-9]+$ of policy "p0"',
    });
  });
  it('reasonMinLength: a reason shorter than the policy asks is refused with its length and the minimum', () => {
    const strict = { ...policy, name: 'p1', reasonMinLength: 10 };
    expect(refusal(strict, { ...request, reason: 'down' })).toMatchObject({
      code: 'policy_violation',
      path: 'reasonMinLength',
      message: expect.stringContaining('reason is 4 characters; policy "p1" requires reasonMinLength 10'),
    });
    // Padding is not a reason: the length is counted trimmed.
    expect(refusal(strict, { ...request, reason: '   down      ' })).toMatchObject({ path: 'reasonMinLength' });
    expect(evaluateInvocation(strict, { ...request, reason: 'primary db is down' })).toEqual({ ttlMs: 300_000 });
    expect(evaluateInvocation(strict, { ...request, reason: '0123456789' })).toEqual({ ttlMs: 300_000 });
  });
  it('maxTtl and minTtl', () => {
    expect(refusal(policy, { ...request, ttl: '2h' })).toMatchObject({ path: 'maxTtl', message: expect.stringContaining('(maxTtl)') });
    expect(refusal({ ...policy, minTtlMs: 60_000 }, { ...request, ttl: '10s' })).toMatchObject({ path: 'minTtl', message: expect.stringContaining('(minTtl)') });
  });
});

describe('incident check URL', () => {
  it('https anywhere; http only to loopback or with allowCleartext', () => {
    expect(incidentCheckUrlProblem('https://incidents.example/api/{incident}', false)).toBeUndefined();
    expect(incidentCheckUrlProblem('http://127.0.0.1:8080/{incident}', false)).toBeUndefined();
    expect(incidentCheckUrlProblem('http://localhost/{incident}', false)).toBeUndefined();
    expect(incidentCheckUrlProblem('http://incidents.example/{incident}', false)).toMatch(/https/);
    expect(incidentCheckUrlProblem('http://incidents.example/{incident}', true)).toBeUndefined();
    expect(incidentCheckUrlProblem('ftp://incidents.example/{incident}', true)).toMatch(/https/);
    expect(incidentCheckUrlProblem('https://user:pw@incidents.example/{incident}', false)).toMatch(/user or password/);
    expect(incidentCheckUrlProblem('https://{incident}.incidents.example/api', false)).toMatch(/not in the host/);
    expect(incidentCheckUrlProblem('https://incidents.example/api?ref={incident}', false)).toBeUndefined();
  });
  it('injection: the incident reference is URL-encoded, so it cannot leave its path segment or add a query', () => {
    expect(incidentCheckUrl('https://i.example/incidents/{incident}', 'INC-1/../../admin?x=1#y')).toBe('https://i.example/incidents/INC-1%2F..%2F..%2Fadmin%3Fx%3D1%23y');
  });
});
