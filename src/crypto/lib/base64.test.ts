import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from './base64.js';

describe('decodeBase64Strict', () => {
  it('decodes canonical base64', () => {
    expect(decodeBase64Strict('aGVsbG8=')?.toString()).toBe('hello');
  });

  it('rejects spellings that Node would silently accept', () => {
    expect(decodeBase64Strict('aGVsbG8')).toBeUndefined(); // missing padding
    expect(decodeBase64Strict('aGVs bG8=')).toBeUndefined(); // whitespace
    expect(decodeBase64Strict('aGVsbG8=!')).toBeUndefined(); // junk
    expect(decodeBase64Strict('aGVsbG9=')).toBeUndefined(); // non-zero padding bits
  });

  it('handles base64url', () => {
    const bytes = Buffer.from([0xfb, 0xff]);
    expect(decodeBase64Strict(bytes.toString('base64url'), 'base64url')).toEqual(bytes);
    expect(decodeBase64Strict('+/8=', 'base64url')).toBeUndefined();
  });
});
