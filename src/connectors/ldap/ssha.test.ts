import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkPassword, sshaHash } from './ssha.js';

describe('{SSHA} values', () => {
  it('builds base64(SHA-1(secret ‖ salt) ‖ salt) with a fresh salt', () => {
    const salt = Buffer.from('0011223344556677', 'hex');
    const expected = Buffer.concat([createHash('sha1').update('sécret').update(salt).digest(), salt]).toString('base64');
    expect(sshaHash('sécret', salt)).toBe(`{SSHA}${expected}`);
    expect(sshaHash('x')).not.toBe(sshaHash('x'));
    expect(sshaHash('the plaintext')).not.toContain('plaintext');
  });

  it('checks SSHA, SHA and cleartext values; other schemes are unsupported, not guessed', () => {
    const stored = Buffer.from(sshaHash('right'));
    expect(checkPassword(stored, 'right')).toBe('match');
    expect(checkPassword(stored, 'wrong')).toBe('mismatch');
    expect(checkPassword(Buffer.from(stored.toString().replace('{SSHA}', '{ssha}')), 'right')).toBe('match');
    const sha = `{SHA}${createHash('sha1').update('right').digest('base64')}`;
    expect(checkPassword(Buffer.from(sha), 'right')).toBe('match');
    expect(checkPassword(Buffer.from('right'), 'right')).toBe('match');
    expect(checkPassword(Buffer.from('right'), 'righ')).toBe('mismatch');
    expect(checkPassword(Buffer.from('{ARGON2}$argon2id$v=19$m=65536'), 'right')).toBe('unsupported');
    // A salt-less {SSHA} or a truncated {SHA} is refused by slapd as well.
    expect(checkPassword(Buffer.from(`{SSHA}${createHash('sha1').update('right').digest('base64')}`), 'right')).toBe('mismatch');
    expect(checkPassword(Buffer.from('{SHA}AAAA'), 'right')).toBe('mismatch');
    expect(checkPassword(Buffer.from('{SSHA}not base64!'), 'right')).toBe('mismatch');
  });
});
