import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { requireService } from '../../../test/support/integration.js';
import { base32Decode, base32Encode, hotp, newTotpSecret, otpauthUri, totpStep, verifyTotp } from './totp.js';

/** A fixed random source: tests must not depend on the CSPRNG's draw. */
const fixedBytes = (fill: number) => (size: number) => new Uint8Array(size).fill(fill);
/** RFC 6238 appendix B, SHA-1 seed: the ASCII string "12345678901234567890". */
const RFC_SEED = Buffer.from('12345678901234567890', 'ascii');
const RFC_SECRET = base32Encode(RFC_SEED);
const at = (unixSeconds: number) => new Date(unixSeconds * 1000);

describe('TOTP computes the codes of RFC 6238 (SHA-1, 30 s)', () => {
  // Appendix B, SHA-1 column: 8 digits there; the product uses 6 of the same truncation.
  const vectors: Array<[number, string]> = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  it.each(vectors)('at T = %i s the 8-digit code is %s, and the 6-digit code is its last 6 digits', (t, code) => {
    const step = totpStep(at(t));
    expect(hotp(RFC_SEED, BigInt(step), 8)).toBe(code);
    expect(hotp(RFC_SEED, BigInt(step), 6)).toBe(code.slice(2));
    expect(verifyTotp({ secret: RFC_SECRET, code: code.slice(2), now: at(t), lastAcceptedStep: null })).toEqual({ ok: true, step });
  });

  it('base32 is RFC 4648 without padding and round-trips', () => {
    expect(RFC_SECRET).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI'); // RFC 4648 §10, padding dropped
    expect(base32Decode('mzxw6ytboi')?.toString()).toBe('foobar');
    expect(base32Decode('MZXW6YTBOI======')?.toString()).toBe('foobar');
    expect(base32Decode('MZXW6YTB0I')).toBeUndefined(); // 0 is not base32
  });
});

describe('a TOTP code is accepted within ±1 step and not beyond', () => {
  const secret = newTotpSecret(fixedBytes(7));
  const now = at(1_700_000_015);
  const step = totpStep(now);
  const codeAt = (s: number) => hotp(base32Decode(secret)!, BigInt(s), 6);

  it('accepts the codes of the previous, current and next step, and says which step', () => {
    for (const s of [step - 1, step, step + 1]) {
      expect(verifyTotp({ secret, code: codeAt(s), now, lastAcceptedStep: null })).toEqual({ ok: true, step: s });
    }
  });

  it('refuses the codes of two steps before or after', () => {
    for (const s of [step - 2, step + 2]) {
      if (codeAt(s) === codeAt(step - 1) || codeAt(s) === codeAt(step) || codeAt(s) === codeAt(step + 1)) continue;
      expect(verifyTotp({ secret, code: codeAt(s), now, lastAcceptedStep: null })).toEqual({ ok: false, reason: 'mismatch' });
    }
  });
});

describe('a TOTP code is accepted once only', () => {
  const secret = newTotpSecret(fixedBytes(9));
  const now = at(1_800_000_000);
  const step = totpStep(now);
  const code = hotp(base32Decode(secret)!, BigInt(step), 6);

  it('the same code is refused after it was accepted, even within its window', () => {
    const first = verifyTotp({ secret, code, now, lastAcceptedStep: null });
    expect(first).toEqual({ ok: true, step });
    if (!first.ok) return;
    expect(verifyTotp({ secret, code, now, lastAcceptedStep: first.step })).toEqual({ ok: false, reason: 'replayed' });
    expect(verifyTotp({ secret, code, now: at(1_800_000_029), lastAcceptedStep: first.step })).toEqual({ ok: false, reason: 'replayed' });
  });

  it('an older code is refused once a newer one was accepted; the next step is accepted', () => {
    const previous = hotp(base32Decode(secret)!, BigInt(step - 1), 6);
    expect(verifyTotp({ secret, code: previous, now, lastAcceptedStep: step })).toEqual({ ok: false, reason: 'replayed' });
    const next = hotp(base32Decode(secret)!, BigInt(step + 1), 6);
    expect(verifyTotp({ secret, code: next, now, lastAcceptedStep: step })).toEqual({ ok: true, step: step + 1 });
  });
});

describe('a malformed TOTP code is refused, and a malformed stored secret is an integrity fault', () => {
  const secret = newTotpSecret(fixedBytes(3));
  const now = at(1_750_000_000);

  it.each(['', '12345', '1234567', '12345a', '１２３４５６', ' ', '123456\u0000', '-12345', '9'.repeat(40)])(
    'refuses %j as malformed',
    (code) => {
      expect(verifyTotp({ secret, code, now, lastAcceptedStep: null })).toEqual({ ok: false, reason: 'malformed' });
    },
  );

  it('takes a code as apps display it, with a space', () => {
    const code = hotp(base32Decode(secret)!, BigInt(totpStep(now)), 6);
    expect(verifyTotp({ secret, code: `${code.slice(0, 3)} ${code.slice(3)}`, now, lastAcceptedStep: null }).ok).toBe(true);
  });

  it('throws an integrity error, without the secret, for a stored secret that is not base32 or too short', () => {
    for (const bad of ['not base32!', 'GEZDGNBV']) {
      expect(() => verifyTotp({ secret: bad, code: '123456', now, lastAcceptedStep: null })).toThrow(
        expect.objectContaining({ code: 'integrity', message: expect.not.stringContaining(bad) }),
      );
    }
  });
});

describe('TOTP enrolment: a 160-bit base32 secret and an otpauth URI every app reads', () => {
  it('the secret is 20 random bytes in base32 without padding', () => {
    const secret = newTotpSecret(fixedBytes(0xff));
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Decode(secret)).toEqual(Buffer.alloc(20, 0xff));
    expect(() => newTotpSecret(() => new Uint8Array(19))).toThrow(expect.objectContaining({ code: 'internal' }));
  });

  it('the URI names the issuer, the account and the parameters, encoded', () => {
    const secret = newTotpSecret(fixedBytes(1));
    const uri = new URL(otpauthUri({ issuer: 'Breakglass', account: 'alice smith@example', secret }));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Breakglass:alice smith@example');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ secret, issuer: 'Breakglass', algorithm: 'SHA1', digits: '6', period: '30' });
  });
});

// An independent implementation: oathtool (Debian package oathtool) computes the codes we accept.
const oathtool = await requireService('oathtool (Debian package oathtool)', () => {
  execFileSync('oathtool', ['--version'], { stdio: 'ignore' });
  return true;
});

describe.skipIf(oathtool.skip)('TOTP codes from an independent implementation (oathtool) are accepted', () => {
  it.each([0x00, 0x5a, 0xa7, 0xff])('secret filled with %i: oathtool\'s code of each step verifies, at that step', (fill) => {
    const secret = newTotpSecret(fixedBytes(fill));
    for (const t of [59, 1_111_111_109, 1_700_000_000, 2_000_000_000, 4_102_444_800]) {
      const code = execFileSync('oathtool', ['--totp', '-b', `--now=@${t}`, secret], { encoding: 'utf8' }).trim();
      expect(code).toMatch(/^[0-9]{6}$/);
      expect(verifyTotp({ secret, code, now: at(t), lastAcceptedStep: null })).toEqual({ ok: true, step: totpStep(at(t)) });
    }
  });

  it('oathtool with 8 digits agrees with the RFC 6238 vector at T = 1234567890', () => {
    const code = execFileSync('oathtool', ['--totp', '-b', '-d', '8', '--now=@1234567890', RFC_SECRET], { encoding: 'utf8' }).trim();
    expect(code).toBe('89005924');
  });
});
