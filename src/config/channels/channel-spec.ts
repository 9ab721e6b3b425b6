/**
 * What the catalog accepts for each alert channel type: its settings (zod, strict, never a
 * secret) and whether it takes a secret (`secretEnv` in the file, `secret` in the apply body,
 * stored sealed). One file per type beside this one; `channelSpecs` (index.ts) lists them.
 */
import { z } from 'zod';

export interface ChannelSpec {
  /** The type's settings besides `name`, `type`, `secretEnv`/`secret`, `maxAttempts`, `auditSink`. */
  readonly settings: z.ZodRawShape;
  /** Does the channel need a secret (webhook HMAC key), may it have one (SMTP password), or none? */
  readonly secret: 'required' | 'optional' | 'none';
  /** Can it carry the audit stream (every event and checkpoint)? */
  readonly auditSink?: boolean;
  /** A channel of this type as the README shows it. */
  readonly example: Readonly<Record<string, unknown>>;
}

/** An http(s) URL without credentials in it (a secret belongs in `secretEnv`). */
export const httpUrl = z
  .string()
  .url('must be a URL')
  .max(2048)
  .refine((text) => /^https?:\/\//.test(text), 'must be an http:// or https:// URL')
  .refine((text) => {
    // zod runs this even when .url() failed: that failure has been reported already.
    if (!URL.canParse(text)) return true;
    const url = new URL(text);
    return url.username === '' && url.password === '';
  }, 'must not carry a user or password; give the secret with secretEnv');
