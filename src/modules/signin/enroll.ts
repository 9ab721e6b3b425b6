import { hashToken } from '../../crypto/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { UserId } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';
import { hashPassword, passwordSchema } from './password-hash.js';
import { systemRandomBytes, type RandomBytes } from './random-bytes.js';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { newTotpSecret, otpauthUri } from './totp.js';

/** The issuer an authenticator app shows next to the account name. */
export const TOTP_ISSUER = 'Breakglass';

/** What enrolment hands out, once: the second factor to add to an app, and the recovery codes. */
export interface Enrolment {
  readonly totpSecret: string;
  readonly otpauthUri: string;
  readonly recoveryCodes: readonly string[];
}

// The shape `user invite` hands out (src/crypto/tokens.ts); anything else cannot be a code.
const codeShape = /^bge_[A-Za-z0-9_-]{20,}$/;

/*
 * One error for every code that does not enrol this user: unknown, used, expired, or another
 * user's. Telling them apart would tell a guesser which codes and names exist.
 */
const refused = () => new AppError('unauthenticated', 'unknown, used or expired enrolment code for this user; ask an admin for a new one (`breakglass user invite NAME`)');

/**
 * `breakglass user enroll --user NAME --code CODE --password-stdin` (no token needed): the
 * one-time invite code of `user invite` is the credential, once. The person sets their own
 * password (argon2id), and receives a new TOTP secret and recovery codes, shown here only.
 * The password hash, the TOTP secret sealed under the root key and the recovery-code hashes are
 * stored in one transaction with the `user.enrolled` event and the use of the code; if anything
 * fails, nothing is stored and the code stays usable.
 *
 * Enrolling again (a forgotten password, a lost phone and no recovery code) takes a new invite
 * from an admin: it replaces the password, the TOTP secret and the recovery codes.
 *
 * The password is hashed before the write transaction (argon2id takes tens of milliseconds and
 * must not hold the store's write lock), after a read that the code is this user's and unused,
 * so a wrong code costs no hash. The use itself is a compare-and-set in the write transaction.
 *
 * @example
 * const { totpSecret, otpauthUri, recoveryCodes } = await enrollUser(ctx, { user: 'alice', code, password });
 */
export async function enrollUser(
  ctx: ModuleContext,
  input: { user: string; code: string; password: string },
  options: { random?: RandomBytes } = {},
): Promise<Enrolment> {
  const parsed = passwordSchema.safeParse(input.password);
  if (!parsed.success) throw appError.validation(`password: ${parsed.error.issues[0]?.message ?? 'not acceptable'}`, 'password');
  if (!codeShape.test(input.code)) throw refused();
  const codeHash = hashToken(input.code);

  const userId = await ctx.store.read(async (tx) => {
    const user = await tx.users.findByName(input.user);
    const holder = await tx.tokens.enrolmentCodeHolder(codeHash, ctx.clock.now());
    if (!user || user.disabled || holder !== user.id) throw refused();
    if (user.service) throw new AppError('conflict', `user "${user.name}" is a service user: automation signs in with a token (\`breakglass token create ${user.name}\`), not a password`);
    return user.id;
  });

  const random = options.random ?? systemRandomBytes;
  const passwordHash = await hashPassword(parsed.data);
  const totpSecret = newTotpSecret(random);
  const recoveryCodes = newRecoveryCodes(random);
  const recoveryHashes = recoveryCodes.map(hashRecoveryCode);
  const totpSecretSealed = ctx.vault.seal(totpSecret, aad.localTotpSecret(userId));

  const name = await ctx.store.transaction(async (tx) => {
    const now = ctx.clock.now();
    const used: UserId | undefined = await tx.tokens.useEnrolmentCode(codeHash, now);
    const user = used === userId ? await tx.users.findById(userId) : undefined;
    // Used or expired since the read above, or the user disabled meanwhile: the same refusal.
    if (!user || user.disabled) throw refused();
    await tx.localCredentials.put({ userId, passwordHash, totpSecretSealed, recoveryHashes }, now);
    await ctx.audit.append(tx, { actor: user.name, action: 'user.enrolled', subject: user.name, details: { recoveryCodes: recoveryHashes.length } });
    return user.name;
  });

  return { totpSecret, otpauthUri: otpauthUri({ issuer: TOTP_ISSUER, account: name, secret: totpSecret }), recoveryCodes };
}
