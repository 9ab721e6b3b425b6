import { z } from 'zod';
import { safeText } from './safe-text.js';

/** `POST /v1/apply` (its body is the catalog file: `catalogApplySchema` in src/config/catalog-file.ts). */
/** One object an apply creates, changes or removes, with its field diff (a secret shows as "changed"). */
export const planEntrySchema = z.object({
  kind: z.enum(['target', 'policy', 'account', 'user', 'channel', 'route']),
  name: z.string(),
  op: z.enum(['create', 'change', 'remove']),
  changes: z.record(z.string(), z.union([z.literal('changed'), z.object({ before: z.unknown(), after: z.unknown() })])),
});

export const applyQuery = z.object({
  dryRun: z.enum(['true', 'false']).optional().describe('true: answer the plan and change nothing'),
});

export const applyResponseSchema = z.object({
  targets: z.number(),
  policies: z.number(),
  accounts: z.number(),
  users: z.number(),
  staging: z.array(z.object({ account: z.string(), staging: z.enum(['staged', 'pending', 'unverifiable']), error: z.string().optional() })),
  // issue 12 (P1): declared privileges compared on the target after the apply.
  privileges: z.array(z.object({ account: z.string(), differences: z.array(z.string()), error: z.string().optional() })).optional(),
  plan: z.array(planEntrySchema),
  dryRun: z.boolean(),
});

export const accountViewSchema = z.object({
  name: z.string(),
  target: z.string(),
  type: z.string(),
  mode: z.string(),
  principal: z.string(),
  policy: z.string(),
  staging: z.string(),
});
/** `GET /v1/accounts` */
export const accountsResponseSchema = z.object({ accounts: z.array(accountViewSchema) });

/** `GET /v1/ssh/ca?target=…` */
export const sshCaQuery = z.object({ target: safeText({ max: 64 }).optional() });
export const sshCaResponseSchema = z.object({ target: z.string(), caPublicKey: z.string() });

export const targetParams = z.object({ name: z.string().min(1).max(64) });

/** `POST /v1/targets/{name}/check`: reachable with its admin secret, and can rotations be proven there? */
export const targetCheckResponseSchema = z.object({
  target: z.string(),
  reachable: z.boolean(),
  error: z.string().optional(),
  accounts: z.array(z.object({ account: z.string(), principal: z.string(), verifiable: z.boolean(), error: z.string().optional() })),
});
