import { z } from 'zod';

/** Every error answer: `{error: {code, message, path?}}`, never a stack trace. `path`: the field a validation error is about. */
export const errorResponseSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), path: z.string().optional() }),
});
