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

/** A user or custodian name as the catalog allows it; also safe as part of a file name. */
const custodianName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'not a custodian name').max(200);

/**
 * `GET /v1/accounts/{name}/kit`: the offline kit of a dual-control account (DESIGN.md §3), and
 * the content of `sealed.json`. Nothing in it is secret: `sealed` opens only with k shares.
 * `version` is checked by the kit commands, so a newer kit gets "upgrade the CLI", not a parse error.
 */
export const kitDocumentSchema = z.looseObject({
  format: z.literal('breakglass-kit'),
  version: z.number().int(),
  account: z.string().min(1),
  username: z.string(),
  target: z.looseObject({ name: z.string(), type: z.string(), host: z.string().optional(), port: z.number().int().optional() }),
  kid: z.string().min(1),
  publicKey: z.string().min(1),
  threshold: z.number().int().min(2),
  custodians: z.array(z.looseObject({ name: custodianName, fingerprint: z.string().min(1) })).min(2),
  kitSerial: z.string().min(1),
  secretVersion: z.number().int(),
  aad: z.string().min(1),
  sealed: z.string().min(1),
  issuedAt: isoDate,
});
export type KitDocument = z.output<typeof kitDocumentSchema>;

/** The output of `breakglass ceremony ACCOUNT --json` as `kit export --shares` reads it: one share text per custodian. */
export const ceremonySharesSchema = z.looseObject({ shares: z.record(z.string(), z.string()) });
