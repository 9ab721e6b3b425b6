import type { Selectable, Transaction } from 'kysely';
import { asTokenId, asUserId } from '../domain/index.js';
import type { TokenRecord, TokenRepository } from '../ports/index.js';
import { affected, fromMs, fromOptionalMs, toOptionalMs } from './columns.js';
import type { ApiTokensTable, Database } from './schema.js';
import { toUser } from './user-repository.js';

/**
 * API tokens (by the SHA-256 of the token, never the token) and one-time enrolment codes (by
 * their SHA-256 too). Must run inside `Store.transaction`.
 */
export function tokenRepository(trx: Transaction<Database>): TokenRepository {
  const tokens = () =>
    trx
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('api_tokens')
      .select('users.name as user_name');

  return {
    async insert(token) {
      await trx
        .insertInto('api_tokens')
        .values({
          token_hash: token.tokenHash,
          id: token.id,
          user_id: token.userId,
          label: token.label,
          created_at: token.createdAt.getTime(),
          expires_at: toOptionalMs(token.expiresAt),
          last_used_at: null,
          revoked_at: null,
          created_by: token.createdBy,
          created_by_id: token.createdById ?? null,
        })
        .execute();
    },

    // issue 13 (authread): the token and its user in one statement (every authenticated request makes it).
    async findByHash(tokenHash) {
      const row = await trx
        .selectFrom('api_tokens')
        .innerJoin('users', 'users.id', 'api_tokens.user_id')
        .selectAll('api_tokens')
        .select([
          'users.name as user_name',
          'users.roles as user_roles',
          'users.recipient as user_recipient',
          'users.created_at as user_created_at',
          'users.service as user_service',
          'users.disabled as user_disabled',
          'users.declared as user_declared',
        ])
        .where('api_tokens.token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const user = {
        id: row.user_id,
        name: row.user_name,
        roles: row.user_roles,
        recipient: row.user_recipient,
        created_at: row.user_created_at,
        service: row.user_service,
        disabled: row.user_disabled,
        declared: row.user_declared,
      };
      return { token: toToken(row), user: toUser(user) };
    },

    async findById(id) {
      const row = await tokens().where('api_tokens.id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toToken(row);
    },

    async list(filter) {
      let query = tokens();
      if (filter.userId !== undefined) query = query.where('api_tokens.user_id', '=', filter.userId);
      const rows = await query.orderBy('api_tokens.created_at', 'desc').orderBy('api_tokens.id').execute();
      return rows.map(toToken);
    },

    async touch(id, now) {
      await trx.updateTable('api_tokens').set({ last_used_at: now.getTime() }).where('id', '=', id).execute();
    },

    async revoke(id, now) {
      const result = await trx.updateTable('api_tokens').set({ revoked_at: now.getTime() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return affected(result) === 1;
    },

    async revokeAllOf(userId, now) {
      const result = await trx.updateTable('api_tokens').set({ revoked_at: now.getTime() }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
      return affected(result);
    },

    async addEnrolmentCode(code) {
      await trx
        .insertInto('enrolment_codes')
        .values({
          code_hash: code.codeHash,
          user_id: code.userId,
          created_by: code.createdBy,
          created_at: code.createdAt.getTime(),
          expires_at: code.expiresAt.getTime(),
          used_at: null,
        })
        .execute();
    },

    async useEnrolmentCode(codeHash, now) {
      const row = await trx.selectFrom('enrolment_codes').select('user_id').where('code_hash', '=', codeHash).executeTakeFirst();
      if (row === undefined) return undefined;
      // Compare-and-set: of two concurrent redemptions of one code, one wins.
      const result = await trx
        .updateTable('enrolment_codes')
        .set({ used_at: now.getTime() })
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now.getTime())
        .executeTakeFirst();
      return affected(result) === 1 ? asUserId(row.user_id) : undefined;
    },

    // issue 14 (enroll)
    async enrolmentCodeHolder(codeHash, now) {
      const row = await trx
        .selectFrom('enrolment_codes')
        .select('user_id')
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now.getTime())
        .executeTakeFirst();
      return row === undefined ? undefined : asUserId(row.user_id);
    },
  };
}

function toToken(row: Selectable<ApiTokensTable> & { user_name: string }): TokenRecord {
  return {
    id: asTokenId(row.id),
    userId: asUserId(row.user_id),
    user: row.user_name,
    label: row.label,
    createdAt: fromMs(row.created_at),
    expiresAt: fromOptionalMs(row.expires_at),
    lastUsedAt: fromOptionalMs(row.last_used_at),
    revokedAt: fromOptionalMs(row.revoked_at),
    createdBy: row.created_by,
    createdById: row.created_by_id === null ? undefined : asUserId(row.created_by_id),
  };
}
