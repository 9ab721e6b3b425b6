/**
 * The answers of the HTTP API as the CLI relies on them (the contract with src/http). Objects
 * are loose: a newer server may add fields; a missing or mistyped field is reported as an
 * unexpected answer instead of printing `undefined`.
 */
import { z } from 'zod';

const isoDate = z.string();

export const grantViewSchema = z.looseObject({
  id: z.string(),
  account: z.string(),
  state: z.string(),
  mode: z.string(),
  condition: z.string(),
  reason: z.string(),
  incident: z.string(),
  requester: z.string(),
  createdAt: isoDate,
  activatedAt: isoDate.optional(),
  expiresAt: isoDate,
  endedAt: isoDate.optional(),
  endReason: z.string().optional(),
  revokedAt: isoDate.optional(),
  rotatedAt: isoDate.optional(),
  revealedAt: isoDate.optional(),
  closedAt: isoDate.optional(),
  certification: z
    .looseObject({ by: z.string(), at: isoDate, necessary: z.boolean(), scoped: z.boolean(), removed: z.boolean(), note: z.string() })
    .optional(),
  failure: z.string().optional(),
});
export type GrantView = z.output<typeof grantViewSchema>;

export const grantsResponseSchema = z.looseObject({ grants: z.array(grantViewSchema) });

export const accountViewSchema = z.looseObject({
  name: z.string(),
  target: z.string(),
  type: z.string(),
  mode: z.string(),
  principal: z.string(),
  policy: z.string(),
  staging: z.string(),
});
export const accountsResponseSchema = z.looseObject({ accounts: z.array(accountViewSchema) });

export const applyResponseSchema = z.looseObject({
  targets: z.number(),
  policies: z.number(),
  accounts: z.number(),
  users: z.number(),
  staging: z.array(z.looseObject({ account: z.string(), staging: z.string(), error: z.string().optional() })).default([]),
});

export const tokenResponseSchema = z.looseObject({ token: z.string().min(1) });

/** `{username, password}` for databases, caches and directories; `{username, certificate, privateKey}` for SSH. */
export const revealResponseSchema = z.union([
  z.object({ username: z.string(), password: z.string() }),
  z.object({ username: z.string(), certificate: z.string(), privateKey: z.string() }),
]);

export const sshCaResponseSchema = z.object({ target: z.string(), caPublicKey: z.string() });

export const auditVerificationSchema = z.union([
  z.looseObject({ ok: z.literal(true), events: z.number(), headSeq: z.number(), checkpoints: z.number() }),
  z.looseObject({ ok: z.literal(false), firstBadSeq: z.number(), reason: z.string(), events: z.number() }),
]);

export const errorResponseSchema = z.object({
  error: z.looseObject({ code: z.string(), message: z.string(), path: z.string().optional() }),
});
