import { z } from 'zod';
import { sealModes } from '../ports/index.js';
import { safeText } from './safe-text.js';

/** `GET /v1/sys/seal-status`, and the answer of `POST /v1/sys/unseal`. */
export const sealStatusSchema = z.object({
  sealed: z.boolean(),
  mode: z.enum(sealModes),
  threshold: z.number().int().nullable().describe('shares needed to unseal (shamir), else null'),
  shares: z.number().int().nullable().describe('shares issued (shamir), else null'),
  progress: z.number().int().describe('valid distinct shares presented so far'),
});
export type SealStatusView = z.output<typeof sealStatusSchema>;

/** `POST /v1/sys/unseal`. A share is ~70 characters; a paper copy may carry line breaks. */
export const unsealBody = z.object({ share: safeText({ max: 2000, multiline: true }) });
