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
 * Checks an invocation against its policy and returns the TTL to grant.
 * Throws `policy_violation` with a message that says what to change. Who may invoke is the
 * permission table's `grant.invoke` (with the policy's `invokers`), checked before this.
 */
export function evaluateInvocation(policy: Policy, request: InvocationRequest): { ttlMs: number } {
  if (!policy.conditions.includes(request.condition)) {
    throw new AppError(
      'policy_violation',
      `condition "${request.condition}" is not allowed by policy "${policy.name}" (allowed: ${policy.conditions.join(', ')})`,
    );
  }
  if (request.reason.trim().length === 0) {
    throw new AppError('policy_violation', 'a reason is required');
  }
  // Linear time whatever the pattern: a catalog's pattern and a responder's text cannot freeze the server.
  if (policy.incidentPattern !== undefined && !linearPattern(policy.incidentPattern).test(request.incident)) {
    throw new AppError(
      'policy_violation',
      `incident "${request.incident}" does not match ${policy.incidentPattern} required by policy "${policy.name}"`,
    );
  }
  const ttlMs = request.ttl === undefined ? policy.defaultTtlMs : parseDuration(request.ttl);
  if (ttlMs === undefined) {
    throw new AppError('validation', `ttl "${request.ttl}" is not a duration such as 10s, 15m or 1h`, { path: 'ttl' });
  }
  if (ttlMs > policy.maxTtlMs) {
    throw new AppError('policy_violation', `ttl ${formatDuration(ttlMs)} exceeds the maximum ${formatDuration(policy.maxTtlMs)} of policy "${policy.name}"`);
  }
  if (policy.minTtlMs !== undefined && ttlMs < policy.minTtlMs) {
    throw new AppError('policy_violation', `ttl ${formatDuration(ttlMs)} is below the minimum ${formatDuration(policy.minTtlMs)} of policy "${policy.name}"`);
  }
  return { ttlMs };
}
