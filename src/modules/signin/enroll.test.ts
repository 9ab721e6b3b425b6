/**
 * Enrolment (issue 14, part 2) on the test bed (SQLite, fake clock): the invite code of
 * `user invite` sets a person's own password and second factor, once.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, refusal, type TestBed } from '../../../test/support/test-bed.js';
import { requireService } from '../../../test/support/integration.js';
import { inviteUser, redeemInvite } from '../identity/enrolment.js';
import { aad } from '../vault/vault.js';
import { enrollUser } from './enroll.js';
import { verifyPassword } from './password-hash.js';
import { consumeRecoveryCode } from './recovery-codes.js';
import { base32Decode, hotp, totpStep, verifyTotp } from './totp.js';

const password = 'correct horse battery staple';

describe('enrollUser', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  const invite = async (user = 'alice') => (await inviteUser(bed.ctx, bed.actors.admin, user)).code;
  const stored = (user = 'alice') =>
    bed.store.transaction(async (tx) => {
      const found = await tx.users.findByName(user);
      return found === undefined ? undefined : tx.localCredentials.find(found.id);
    });

  it('enrols once: the password hashed, the TOTP secret sealed, recovery codes hashed, one audit event', async () => {
    const code = await invite();
    const enrolment = await enrollUser(bed.ctx, { user: 'alice', code, password });
    expect(enrolment.totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.otpauthUri).toMatch(/^otpauth:\/\/totp\/Breakglass:alice\?secret=[A-Z2-7]{32}&issuer=Breakglass&algorithm=SHA1&digits=6&period=30$/);
    expect(enrolment.recoveryCodes).toHaveLength(10);

    const row = await stored();
    expect(row).toBeDefined();
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(row!.passwordHash, password)).toBe(true);
    expect(row!.totpLastStep).toBeNull();
    expect(row!.createdAt).toEqual(bed.clock.now());
    // The secret at rest is an envelope bound to alice's row: not in clear, and not openable as anyone else's.
    expect(row!.totpSecretSealed).not.toContain(enrolment.totpSecret);
    const secret = bed.ctx.vault.open(row!.totpSecretSealed, aad.localTotpSecret(row!.userId));
    expect(secret).toBe(enrolment.totpSecret);
    expect(() => bed.ctx.vault.open(row!.totpSecretSealed, aad.localTotpSecret(bed.actors.bob.id))).toThrow();
    // Recovery codes only as hashes, each usable against what is stored.
    expect(JSON.stringify(row!.recoveryHashes)).not.toContain(enrolment.recoveryCodes[0]!);
    expect(consumeRecoveryCode(row!.recoveryHashes, enrolment.recoveryCodes[3]!).ok).toBe(true);

    const events = await bed.auditEvents();
    const enrolled = events.filter((e) => e.action === 'user.enrolled');
    expect(enrolled).toHaveLength(1);
    expect(enrolled[0]).toMatchObject({ actor: 'alice', subject: 'alice' });
    // Nothing secret in the chain: not the password, the TOTP secret, nor a recovery code.
    const chain = JSON.stringify(events);
    for (const secretText of [password, enrolment.totpSecret, ...enrolment.recoveryCodes]) expect(chain).not.toContain(secretText);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('the code is single use: a second enrolment and a token redemption with it are refused', async () => {
    const code = await invite();
    await enrollUser(bed.ctx, { user: 'alice', code, password });
    const again = await refusal(enrollUser(bed.ctx, { user: 'alice', code, password: `${password}!` }));
    expect(again.code).toBe('unauthenticated');
    expect((await refusal(redeemInvite(bed.ctx, code))).code).toBe('unauthenticated');
    expect(await verifyPassword((await stored())!.passwordHash, password)).toBe(true);
  });

  it('an unknown, used, expired or another user\'s code: one and the same error, and nothing stored', async () => {
    const used = await invite();
    await redeemInvite(bed.ctx, used);
    const bobs = await invite('bob');
    const expired = await invite();
    const messages: string[] = [];
    const attempts: [string, string][] = [
      ['alice', `bge_${'A'.repeat(43)}`],
      ['alice', used],
      ['alice', bobs],
      ['nobody', bobs],
      ['alice', 'not-a-code'],
    ];
    for (const [user, code] of attempts) {
      const error = await refusal(enrollUser(bed.ctx, { user, code, password }));
      expect(error.code, `${user} ${code}`).toBe('unauthenticated');
      messages.push(error.message);
    }
    expect(await stored('alice')).toBeUndefined();
    expect(await stored('bob')).toBeUndefined();
    expect(await bed.audit()).not.toContain('user.enrolled');
    // Bob's code was not consumed by the attempt with alice's name: bob can still use it.
    await enrollUser(bed.ctx, { user: 'bob', code: bobs, password });
    bed.clock.advance(24 * 3_600_000 + 1);
    const late = await refusal(enrollUser(bed.ctx, { user: 'alice', code: expired, password }));
    messages.push(late.message);
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toContain('user invite');
    expect(await stored('alice')).toBeUndefined();
    expect(await stored('bob')).toBeDefined();
  });

  it('two enrolments racing with one code: exactly one wins (the use is a compare-and-set in the write)', async () => {
    const code = await invite();
    // Both pass the read before either writes (the hash in between is asynchronous): only the use decides.
    const results = await Promise.allSettled([
      enrollUser(bed.ctx, { user: 'alice', code, password }),
      enrollUser(bed.ctx, { user: 'alice', code, password: 'a different long passphrase' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect((lost as PromiseRejectedResult).reason).toMatchObject({ code: 'unauthenticated' });
    expect((await bed.audit()).filter((a) => a === 'user.enrolled')).toHaveLength(1);
  });

  it('a weak password is refused with the path named, the code left usable, nothing stored', async () => {
    const code = await invite();
    const weak = await refusal(enrollUser(bed.ctx, { user: 'alice', code, password: 'short' }));
    expect(weak.code).toBe('validation');
    expect(weak.path).toBe('password');
    expect(weak.message).toContain('at least 15 characters');
    expect(weak.message).not.toContain('short');
    expect(await stored()).toBeUndefined();
    expect(await bed.audit()).not.toContain('user.enrolled');
    await enrollUser(bed.ctx, { user: 'alice', code, password });
    expect(await stored()).toBeDefined();
  });

  it('enrolling again takes a new invite and replaces the password, the TOTP secret and the recovery codes', async () => {
    const first = await enrollUser(bed.ctx, { user: 'alice', code: await invite(), password });
    const before = (await stored())!;
    bed.clock.advance(60_000);
    const second = await enrollUser(bed.ctx, { user: 'alice', code: await invite(), password: 'another long passphrase here' });
    const after = (await stored())!;
    expect(second.totpSecret).not.toBe(first.totpSecret);
    expect(after.createdAt).toEqual(before.createdAt);
    expect(after.updatedAt.getTime()).toBe(before.updatedAt.getTime() + 60_000);
    expect(await verifyPassword(after.passwordHash, password)).toBe(false);
    expect(consumeRecoveryCode(after.recoveryHashes, first.recoveryCodes[0]!).ok).toBe(false);
    expect(bed.ctx.vault.open(after.totpSecretSealed, aad.localTotpSecret(after.userId))).toBe(second.totpSecret);
    expect((await bed.audit()).filter((a) => a === 'user.enrolled')).toHaveLength(2);
  });

  it('a disabled user cannot enrol with a code issued before they were disabled', async () => {
    const code = await invite();
    await bed.store.transaction(async (tx) => {
      const alice = (await tx.users.findByName('alice'))!;
      await tx.users.upsert({ name: alice.name, roles: alice.roles, disabled: true }, bed.clock.now());
    });
    expect((await refusal(enrollUser(bed.ctx, { user: 'alice', code, password }))).code).toBe('unauthenticated');
    expect(await stored()).toBeUndefined();
  });

  it('the secret verifies a code computed from it (totp.ts), after unsealing', async () => {
    const enrolment = await enrollUser(bed.ctx, { user: 'alice', code: await invite(), password });
    const row = (await stored())!;
    const secret = bed.ctx.vault.open(row.totpSecretSealed, aad.localTotpSecret(row.userId));
    const now = bed.clock.now();
    expect(new URL(enrolment.otpauthUri).searchParams.get('secret')).toBe(secret);
    const code = hotp(base32Decode(secret)!, BigInt(totpStep(now)), 6);
    expect(verifyTotp({ secret, code, now, lastAcceptedStep: row.totpLastStep })).toEqual({ ok: true, step: totpStep(now) });
  });
});

const oathtool = await requireService('oathtool (Debian package oathtool)', () => {
  execFileSync('oathtool', ['--version'], { stdio: 'ignore' });
  return true;
});

describe.skipIf(oathtool.skip)('enrolment: an authenticator other than ours (oathtool) works with the secret handed out', () => {
  it('oathtool\'s code for the enrolled secret verifies against the stored, unsealed secret', async () => {
    const bed = await createTestBed();
    try {
      const code = (await inviteUser(bed.ctx, bed.actors.admin, 'alice')).code;
      const enrolment = await enrollUser(bed.ctx, { user: 'alice', code, password });
      const row = await bed.store.transaction(async (tx) => tx.localCredentials.find((await tx.users.findByName('alice'))!.id));
      const secret = bed.ctx.vault.open(row!.totpSecretSealed, aad.localTotpSecret(row!.userId));
      const now = bed.clock.now();
      const totp = execFileSync('oathtool', ['--totp', '-b', `--now=@${now.getTime() / 1000}`, enrolment.totpSecret], { encoding: 'utf8' }).trim();
      expect(verifyTotp({ secret, code: totp, now, lastAcceptedStep: row!.totpLastStep })).toEqual({ ok: true, step: totpStep(now) });
    } finally {
      await bed.close();
    }
  });
});
