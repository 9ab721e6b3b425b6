/** Drills (issue 10): `POST /v1/accounts/{name}/drill` and what `breakglass drill run` prints. */
import { z } from 'zod';

/** `/v1/accounts/{name}/drill` */
export const drillParams = z.object({ name: z.string().min(1).max(128) });

/** `POST /v1/accounts/{name}/drill` */
export const drillBody = z.object({
  withQuorum: z.boolean().optional().describe('drill the custodian quorum of a dual-control account too: the request waits until k custodians present their shares (without it, the drill sets a secret of its own)'),
});

export const drillStepSchema = z.object({
  name: z.enum(['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated']),
  result: z.enum(['passed', 'failed', 'skipped']),
  ms: z.number().describe('how long the step took'),
  detail: z.string().optional().describe('why it failed, or what a passed step could not prove'),
});

/** The outcome of one drill; `drill run --json` prints it. */
export const drillResponseSchema = z.object({
  account: z.string(),
  result: z.enum(['passed', 'failed']),
  grant: z.string().optional().describe('the drill grant (marked "drill": true in GET /v1/grants)'),
  steps: z.array(drillStepSchema),
  quorum: z.enum(['drilled', 'not drilled']).optional().describe('dual-control accounts: whether the custodian quorum was drilled'),
  custodians: z.array(z.string()).optional().describe('with the quorum drilled: who presented the shares'),
});
export type DrillView = z.output<typeof drillResponseSchema>;

/**
 * The live progress of `POST /v1/accounts/{name}/drill` when the client accepts
 * `application/x-ndjson`: one JSON object per line, each step as it ends, the custodian wait of
 * a quorum drill, then exactly one `result` (or `error`, when the drill broke off after it had
 * begun; refusals before the first step are ordinary error answers).
 */
export const drillProgressSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('step'), step: drillStepSchema }),
  z.object({
    event: z.literal('waiting'),
    grant: z.string(),
    presented: z.number().int(),
    threshold: z.number().int(),
    expiresAt: z.string().describe('when the quorum window ends'),
  }),
  z.object({ event: z.literal('result'), report: drillResponseSchema }),
  z.object({ event: z.literal('error'), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type DrillProgress = z.output<typeof drillProgressSchema>;
