import { z } from 'zod';

/** `POST /v1/apply` (its body is the catalog file: `catalogApplySchema` in src/config/catalog-file.ts). */
export const applyResponseSchema = z.object({
  targets: z.number(),
  policies: z.number(),
  accounts: z.number(),
  users: z.number(),
  staging: z.array(z.object({ account: z.string(), staging: z.enum(['staged', 'pending']), error: z.string().optional() })),
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
export const sshCaQuery = z.object({ target: z.string().min(1).max(64).optional() });
export const sshCaResponseSchema = z.object({ target: z.string(), caPublicKey: z.string() });
