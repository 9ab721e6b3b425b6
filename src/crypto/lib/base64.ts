/**
 * Strict base64 decoding. Node's decoder silently skips characters it does not know and accepts
 * missing padding, so two different strings can decode to the same bytes. Sealed values and
 * signatures must have exactly one accepted spelling, so we decode and re-encode and require the
 * round trip to be exact. Internal to src/crypto; never exported from the module index.
 */
export function decodeBase64Strict(text: string, encoding: 'base64' | 'base64url' = 'base64'): Buffer | undefined {
  const bytes = Buffer.from(text, encoding);
  return bytes.toString(encoding) === text ? bytes : undefined;
}
