import { z } from 'zod';
import { grantViewSchema } from './grant-api.js';
import { safeText } from './safe-text.js';
import { exact } from './tolerant.js';

/** `/v1/accounts/{name}/…` */
export const accountParams = z.object({ name: safeText({ max: 64 }) });

/** `POST /v1/accounts/{name}/ceremony`: each share is returned once, never stored. */
export const ceremonyResponseSchema = exact(
  z.object({
    account: z.string(),
    kid: z.string(),
    threshold: z.number(),
    shares: z.record(z.string(), z.string()),
    plaintextFor: z.array(z.string()),
  }),
);
/** What `kit export --shares` reads of `breakglass ceremony ACCOUNT --json`: one share text per custodian. */
export const ceremonySharesSchema = ceremonyResponseSchema.pick({ shares: true });

/** `POST /v1/grants/{id}/shares` */
export const shareBody = z.object({ share: safeText({ min: 10, max: 20_000, multiline: true }) });
export const shareReceiptSchema = z.object({ grant: grantViewSchema, presented: z.number(), threshold: z.number() });

/** A user or custodian name as the catalog allows it; also safe as part of a file name. */
const custodianName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'not a custodian name').max(200);

/**
 * `GET /v1/accounts/{name}/kit`: the offline kit of a dual-control account (DESIGN.md §3), and
 * the content of `sealed.json`. Nothing in it is secret: `sealed` opens only with k shares.
 * `version` is any integer here and checked by the kit commands, so a newer kit gets "upgrade
 * the CLI", not a parse error.
 */
export const kitDocumentSchema = z.object({
  format: z.literal('breakglass-kit'),
  version: z.number().int().describe('format version (1)'),
  account: z.string().min(1),
  username: z.string(),
  target: z.object({ name: z.string(), type: z.string(), host: z.string().optional(), port: z.number().int().optional() }),
  kid: z.string().min(1),
  publicKey: z.string().min(1),
  threshold: z.number().int().min(2),
  custodians: z.array(z.object({ name: custodianName, fingerprint: z.string().min(1) })).min(2),
  kitSerial: z.string().min(1),
  secretVersion: z.number().int(),
  aad: z.string().min(1),
  sealed: z.string().min(1),
  issuedAt: z.string().describe('ISO 8601 date-time'),
});
export type KitDocument = z.output<typeof kitDocumentSchema>;
