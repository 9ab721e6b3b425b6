import { z } from 'zod';

/** Every error answer: `{error: {code, message, path?}}`, never a stack trace. `path`: the field a validation error is about. */
export const errorResponseSchema = z.object({
  error: z.object({
    code: z
      .string()
      .describe(
        'a stable error code; 503 answers: `sealed` (unseal the root key), `store_unavailable` (the store is full, read-only, unreachable or lost: see /readyz), `stopping` (the server is shutting down: retry on another instance)',
      ),
    message: z.string(),
    path: z.string().optional(),
  }),
});
