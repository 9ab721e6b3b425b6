/** Drills (issue 10): `POST /v1/accounts/{name}/drill` and what `breakglass drill run` prints. */
import { z } from 'zod';

/** `/v1/accounts/{name}/drill` */
export const drillParams = z.object({ name: z.string().min(1).max(128) });

/** `POST /v1/accounts/{name}/drill` */
export const drillBody = z.object({
  withQuorum: z.boolean().optional().describe('drill the custodian quorum of a dual-control account too (not available yet)'),
});

export const drillStepSchema = z.object({
  name: z.enum(['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated']),
  result: z.enum(['passed', 'failed', 'skipped']),
  ms: z.number().describe('how long the step took'),
  detail: z.string().optional().describe('why it failed'),
});

/** The outcome of one drill; `drill run --json` prints it. */
export const drillResponseSchema = z.object({
  account: z.string(),
  result: z.enum(['passed', 'failed']),
  grant: z.string().optional().describe('the drill grant (marked "drill": true in GET /v1/grants)'),
  steps: z.array(drillStepSchema),
});
export type DrillView = z.output<typeof drillResponseSchema>;
