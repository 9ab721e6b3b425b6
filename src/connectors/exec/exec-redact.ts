/**
 * Turns what a script wrote (its stderr, its own error text) into evidence that is safe to put
 * in an AppError message: every secret of the request removed, control characters gone, bounded.
 */

export const REDACTED = '[redacted]';

/** The forms in which a script is likely to echo a secret: as is, and JSON-escaped. */
function forms(secrets: readonly string[]): string[] {
  const all = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    all.add(secret);
    all.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is removed whole.
  return [...all].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of every secret (and its JSON-escaped form) with `[redacted]`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const form of forms(secrets)) out = out.split(form).join(REDACTED);
  return out;
}

/**
 * Bounded, single-line, secret-free evidence from script output.
 *
 * `truncated` says the text is the tail of a longer stream: its first characters may be the end
 * of a secret cut in half, which no search for the whole secret would find, so they are dropped.
 * Redaction runs again after control characters are replaced, because replacing them could
 * assemble a secret that contains a space.
 *
 * @example
 *   evidence('ERROR: bad password hunter2\n', ['hunter2'], false, 200) // 'ERROR: bad password [redacted]'
 */
export function evidence(text: string, secrets: readonly string[], truncated: boolean, maxChars: number): string {
  const longest = forms(secrets).reduce((max, form) => Math.max(max, form.length), 0);
  let out = truncated ? `…${[...text].slice(longest).join('')}` : text;
  out = redactSecrets(out, secrets);
  out = out.replace(/[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]+/gu, ' ').replace(/\s+/g, ' ').trim();
  out = redactSecrets(out, secrets);
  const chars = [...out];
  return chars.length <= maxChars ? out : `…${chars.slice(chars.length - maxChars).join('')}`;
}
