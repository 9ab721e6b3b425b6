import type { Transaction } from 'kysely';
import type { SettingsRepository } from '../ports/index.js';
import type { Database } from './schema.js';

/** Key-value settings (e.g. the audit signing public key). Must run inside `Store.transaction`. */
export function settingsRepository(trx: Transaction<Database>): SettingsRepository {
  return {
    async get(key) {
      const row = await trx.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value;
    },

    async set(key, value, options = {}) {
      // ON CONFLICT keeps this atomic when two instances initialise the same key at once.
      const insert = trx.insertInto('settings').values({ key, value });
      if (options.ifAbsent === true) {
        await insert.onConflict((oc) => oc.column('key').doNothing()).execute();
        const row = await trx.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
        return row.value;
      }
      await insert.onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
      return value;
    },
  };
}
