import type { Selectable, Transaction } from 'kysely';
import { asUserId, userRoles } from '../domain/index.js';
import type { UserId, UserRole } from '../domain/index.js';
import type { UserRecord, UserRepository } from '../ports/index.js';
import { fromMs, member, newId, parseJson } from './columns.js';
import type { Database, UsersTable } from './schema.js';

const flag = (value: boolean | undefined) => (value === true ? 1 : 0);

/** Users (their tokens are in token-repository.ts). Must run inside `Store.transaction`. */
export function userRepository(trx: Transaction<Database>): UserRepository {
  return {
    async upsert(user, now) {
      const flags = { service: flag(user.service), disabled: flag(user.disabled), declared: flag(user.declared) };
      const row = await trx
        .insertInto('users')
        .values({ id: newId('usr_'), name: user.name, roles: JSON.stringify(user.roles), recipient: user.recipient ?? null, created_at: now.getTime(), ...flags })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet((eb) => ({
            roles: eb.ref('excluded.roles'),
            recipient: eb.ref('excluded.recipient'),
            service: eb.ref('excluded.service'),
            disabled: eb.ref('excluded.disabled'),
            declared: eb.ref('excluded.declared'),
          })),
        )
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

    async setDisabled(id, disabled) {
      await trx.updateTable('users').set({ disabled: flag(disabled) }).where('id', '=', id).execute();
    },
  };
}

export function toUser(row: Selectable<UsersTable>): UserRecord {
  const roles = parseJson<string[]>(row.roles, 'users.roles');
  return {
    id: asUserId(row.id),
    name: row.name,
    roles: roles.map((role): UserRole => member(role, userRoles, 'users.roles')),
    ...(row.recipient === null ? {} : { recipient: row.recipient }),
    createdAt: fromMs(row.created_at),
    service: Number(row.service) === 1,
    disabled: Number(row.disabled) === 1,
    declared: Number(row.declared) === 1,
  };
}
