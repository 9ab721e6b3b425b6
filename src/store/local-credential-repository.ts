import type { Transaction } from 'kysely';
import { asUserId } from '../domain/index.js';
import type { LocalCredentialRepository } from '../ports/index.js';
import { fromMs, parseJson } from './columns.js';
import type { Database } from './schema.js';

/** Issue 14 (enroll): local sign-in credentials. Must run inside `Store.transaction`. */
export function localCredentialRepository(trx: Transaction<Database>): LocalCredentialRepository {
  return {
    async put(record, now) {
      const values = {
        password_hash: record.passwordHash,
        totp_secret_sealed: record.totpSecretSealed,
        totp_last_step: null,
        recovery_hashes: JSON.stringify(record.recoveryHashes),
        updated_at: now.getTime(),
      };
      await trx
        .insertInto('local_credentials')
        .values({ user_id: record.userId, created_at: now.getTime(), ...values })
        .onConflict((oc) => oc.column('user_id').doUpdateSet(values))
        .execute();
    },

    async find(userId) {
      const row = await trx.selectFrom('local_credentials').selectAll().where('user_id', '=', userId).executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        userId: asUserId(row.user_id),
        passwordHash: row.password_hash,
        totpSecretSealed: row.totp_secret_sealed,
        totpLastStep: row.totp_last_step === null ? null : Number(row.totp_last_step),
        recoveryHashes: parseJson<string[]>(row.recovery_hashes, 'local_credentials.recovery_hashes'),
        createdAt: fromMs(row.created_at),
        updatedAt: fromMs(row.updated_at),
      };
    },
  };
}
