import { AppError } from '../errors/index.js';
import { formatDuration, parseDuration } from './duration.js';
import { linearPattern } from './linear-pattern.js';
import type { Policy } from './types.js';

export interface InvocationRequest {
  readonly condition: string;
  readonly reason: string;
  readonly incident: string;
  /** Requested time-to-live such as `15m`; the policy default when absent. */
  readonly ttl: string | undefined;
}

/**
 * The policy criteria an invocation can fail, by the name the catalog gives them: a refusal
 * carries it as its `path` (and says it in its message), so a script can tell which one failed.
 * `invokers` is the permission table's (`policy-invokers`); `incidentCheck` is asked by
 * src/modules/grants/incident-check.ts, outside any transaction.
 */
export const invocationCriteria = ['conditions', 'incidentPattern', 'reasonMinLength', 'invokers', 'incidentCheck', 'maxTtl', 'minTtl'] as const;
export type InvocationCriterion = (typeof invocationCriteria)[number];

/** A refusal by one criterion of a policy. */
export function criterionRefusal(criterion: InvocationCriterion, message: string): AppError {
  return new AppError('policy_violation', message, { path: criterion });
}

/**
 * Checks an invocation against its policy and returns the TTL to grant.
 * Throws `policy_violation` with a message that names the criterion that failed and says what
 * to change; the criterion is also the error's `path`. Who may invoke is the permission table's
 * `grant.invoke` (with the policy's `invokers`), checked before this.
 */
export function evaluateInvocation(policy: Policy, request: InvocationRequest): { ttlMs: number } {
  if (!policy.conditions.includes(request.condition)) {
    throw criterionRefusal(
      'conditions',
      `condition "${request.condition}" is not allowed by policy "${policy.name}" (conditions: ${policy.conditions.join(', ')})`,
    );
  }
  if (request.reason.trim().length === 0) {
    throw new AppError('policy_violation', 'a reason is required', { path: 'reason' });
  }
  const reasonLength = [...request.reason.trim()].length;
  if (policy.reasonMinLength !== undefined && reasonLength < policy.reasonMinLength) {
    throw criterionRefusal(
      'reasonMinLength',
      `reason is ${reasonLength} characters; policy "${policy.name}" requires reasonMinLength ${policy.reasonMinLength}: say what is broken and why this account`,
    );
  }
  // Linear time whatever the pattern: a catalog's pattern and a responder's text cannot freeze the server.
  if (policy.incidentPattern !== undefined && !linearPattern(policy.incidentPattern).test(request.incident)) {
    throw criterionRefusal(
      'incidentPattern',
      `incident "${request.incident}" does not match incidentPattern ${policy.incidentPattern} of policy "${policy.name}"`,
    );
  }
  const ttlMs = request.ttl === undefined ? policy.defaultTtlMs : parseDuration(request.ttl);
  if (ttlMs === undefined) {
    throw new AppError('validation', `ttl "${request.ttl}" is not a duration such as 10s, 15m or 1h`, { path: 'ttl' });
  }
  if (ttlMs > policy.maxTtlMs) {
    throw criterionRefusal('maxTtl', `ttl ${formatDuration(ttlMs)} exceeds the maximum ${formatDuration(policy.maxTtlMs)} (maxTtl) of policy "${policy.name}"`);
  }
  if (policy.minTtlMs !== undefined && ttlMs < policy.minTtlMs) {
    throw criterionRefusal('minTtl', `ttl ${formatDuration(ttlMs)} is below the minimum ${formatDuration(policy.minTtlMs)} (minTtl) of policy "${policy.name}"`);
  }
  return { ttlMs };
}

// issue 11 (H4): the incident check's URL, one rule for the catalog (at apply) and the check (at invoke).
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why an incident check URL is not acceptable, if it is not: https is required, except to a
 * loopback host or with `allowCleartext` (the reference and any answer would travel in clear).
 */
export function incidentCheckUrlProblem(url: string, allowCleartext: boolean): string | undefined {
  const sample = url.replaceAll('{incident}', 'incident-placeholder');
  if (!URL.canParse(sample)) return 'must be a URL';
  const parsed = new URL(sample);
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry a user or password';
  // A reference that picks the host would pick where the request (and any credential) goes.
  if (parsed.host.includes('incident-placeholder')) return 'must have {incident} in the path or query, not in the host';
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol !== 'http:') return 'must be an https:// URL';
  if (loopbackHosts.has(parsed.hostname) || allowCleartext) return undefined;
  return 'must be an https:// URL (http:// only to a loopback host, or with allowCleartext: true)';
}

/** The URL to GET for `incident`: `{incident}` replaced by the URL-encoded reference, so it stays one path segment or value. */
export function incidentCheckUrl(url: string, incident: string): string {
  return url.replaceAll('{incident}', encodeURIComponent(incident));
}
