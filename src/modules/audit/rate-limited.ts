import type { ModuleContext } from '../context.js';

/**
 * What the HTTP layer limits per client address: failed authentications, the unauthenticated
 * `/v1/sys/*`, enrolment attempts (issue 14: each may cost an argon2id hash).
 */
export type RateLimitScope = 'authentication' | 'sys' | 'enrolment';

/**
 * Records a burst: a client address went over a rate limit. Called once per client and window
 * (the HTTP layer folds the refused requests of a window into this one event), so a flood
 * leaves a trace without flooding the chain. Logged as a warning too, for whoever watches logs.
 */
export async function recordRateLimited(
  ctx: Pick<ModuleContext, 'store' | 'audit' | 'log'>,
  burst: { scope: RateLimitScope; client: string; max: number; windowMs: number },
): Promise<void> {
  ctx.log.warn({ scope: burst.scope, client: burst.client, max: burst.max, windowMs: burst.windowMs }, 'rate limit exceeded');
  await ctx.store.transaction((tx) =>
    ctx.audit.append(tx, {
      actor: 'system',
      action: 'auth.rate-limited',
      subject: burst.client,
      details: { scope: burst.scope, max: burst.max, windowMs: burst.windowMs },
    }),
  );
}
