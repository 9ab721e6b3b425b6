import type { Selectable, Transaction } from 'kysely';
import { asUserId, userRoles } from '../domain/index.js';
import type { UserId, UserRole } from '../domain/index.js';
import type { UserRecord, UserRepository } from '../ports/index.js';
import { fromMs, member, newId, parseJson } from './columns.js';
import type { Database, UsersTable } from './schema.js';

/** Users and the hashes of their API tokens. Must run inside `Store.transaction`. */
export function userRepository(trx: Transaction<Database>): UserRepository {
  return {
    async upsert(user, now) {
      const row = await trx
        .insertInto('users')
        .values({ id: newId('usr_'), name: user.name, roles: JSON.stringify(user.roles), recipient: user.recipient ?? null, created_at: now.getTime() })
        .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ roles: eb.ref('excluded.roles'), recipient: eb.ref('excluded.recipient') })))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toUser(row);
    },

    async findByName(name) {
      const row = await trx.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? undefined : toUser(row);
    },

    async findById(id: UserId) {
      const row = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toUser(row);
    },

    async list() {
      const rows = await trx.selectFrom('users').selectAll().orderBy('name').execute();
      return rows.map(toUser);
    },

    async addToken(userId, tokenHash, label, now) {
      await trx
        .insertInto('api_tokens')
        .values({ token_hash: tokenHash, user_id: userId, label, created_at: now.getTime() })
        .execute();
    },

    async findByTokenHash(tokenHash) {
      const row = await trx
        .selectFrom('api_tokens')
        .innerJoin('users', 'users.id', 'api_tokens.user_id')
        .selectAll('users')
        .where('api_tokens.token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row === undefined ? undefined : toUser(row);
    },
  };
}

function toUser(row: Selectable<UsersTable>): UserRecord {
  const roles = parseJson<string[]>(row.roles, 'users.roles');
  return {
    id: asUserId(row.id),
    name: row.name,
    roles: roles.map((role): UserRole => member(role, userRoles, 'users.roles')),
    ...(row.recipient === null ? {} : { recipient: row.recipient }),
    createdAt: fromMs(row.created_at),
  };
}
