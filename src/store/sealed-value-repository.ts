import { sql, type Transaction } from 'kysely';
import type { SealedColumn, SealedValueRecord, SealedValueRepository, Store } from '../ports/index.js';
import type { Database } from './schema.js';
import { storeApplicationName } from './application-name.js';
import { affected } from './columns.js';

/** Tables whose rows a rotation may rewrite. Audit tables are append-only and never hold a secret. */
const sealedTables = ['targets', 'accounts', 'grants', 'settings', 'pending_shares', 'alert_channels', 'local_credentials'] as const;
const skippedTables = new Set(['audit_events', 'audit_checkpoints', 'audit_head', 'kysely_migration', 'kysely_migration_lock']);
/** The cheap filter; each hit is then parsed, so free text that merely mentions it is not counted. */
const envelopeMarker = '%"alg":"A256GCM"%';

/**
 * Values sealed under the root key, for root key rotation. `replace` is a compare-and-set on
 * the sealed text, so a value that changed since it was listed is never overwritten blindly.
 * Must run inside `Store.transaction`.
 */
export function sealedValueRepository(trx: Transaction<Database>, dialect: Store['dialect']): SealedValueRepository {
  return {
    async lockForRewrap() {
      // SQLite: the immediate write transaction already excludes every other writer.
      if (dialect !== 'postgres') return;
      await sql`lock table ${sql.join(sealedTables.map((t) => sql.table(t)))} in exclusive mode`.execute(trx);
    },

    async servingConnections() {
      if (dialect !== 'postgres') return 0;
      const result = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name = ${storeApplicationName} and pid <> pg_backend_pid()`.execute(trx);
      return result.rows[0]?.n ?? 0;
    },

    async list(settingKeys) {
      const records: SealedValueRecord[] = [];
      const targets = await trx.selectFrom('targets').select(['id', 'admin_secret_sealed']).where('admin_secret_sealed', 'is not', null).orderBy('id').execute();
      for (const row of targets) records.push({ column: 'targets.admin_secret_sealed', id: row.id, sealed: row.admin_secret_sealed ?? '' });
      const accounts = await trx
        .selectFrom('accounts')
        .select(['id', 'secret_sealed', 'secret_version'])
        .where('secret_sealed', 'is not', null)
        .orderBy('id')
        .execute();
      for (const row of accounts) {
        records.push({ column: 'accounts.secret_sealed', id: row.id, version: Number(row.secret_version), sealed: row.secret_sealed ?? '' });
      }
      const grants = await trx.selectFrom('grants').select(['id', 'credential_sealed']).where('credential_sealed', 'is not', null).orderBy('id').execute();
      for (const row of grants) records.push({ column: 'grants.credential_sealed', id: row.id, sealed: row.credential_sealed ?? '' });
      // Shares presented to a grant still waiting for its quorum, bound to the key generation.
      const shares = await trx
        .selectFrom('pending_shares as s')
        .innerJoin('grants as g', 'g.id', 's.grant_id')
        .innerJoin('custodian_keys as k', 'k.account_id', 'g.account_id')
        .select(['s.grant_id', 's.holder', 's.share_sealed', 'k.generation'])
        .orderBy('s.grant_id')
        .orderBy('s.holder')
        .execute();
      for (const row of shares) {
        records.push({ column: 'pending_shares.share_sealed', id: row.grant_id, holder: row.holder, version: Number(row.generation), sealed: row.share_sealed });
      }
      const channels = await trx.selectFrom('alert_channels').select(['name', 'secret_sealed']).where('secret_sealed', 'is not', null).orderBy('name').execute();
      for (const row of channels) records.push({ column: 'alert_channels.secret_sealed', id: row.name, sealed: row.secret_sealed ?? '' });
      // issue 14 (enroll)
      const credentials = await trx.selectFrom('local_credentials').select(['user_id', 'totp_secret_sealed']).orderBy('user_id').execute();
      for (const row of credentials) records.push({ column: 'local_credentials.totp_secret_sealed', id: row.user_id, sealed: row.totp_secret_sealed });
      if (settingKeys.length > 0) {
        const settings = await trx.selectFrom('settings').select(['key', 'value']).where('key', 'in', [...settingKeys]).orderBy('key').execute();
        for (const row of settings) records.push({ column: 'settings.value', id: row.key, sealed: row.value });
      }
      return records;
    },

    async replace(record, to) {
      if (record.column === 'pending_shares.share_sealed') {
        const query = trx.updateTable('pending_shares').set({ share_sealed: to }).where('grant_id', '=', record.id).where('holder', '=', record.holder ?? '').where('share_sealed', '=', record.sealed);
        return affected(await query.executeTakeFirst()) === 1;
      }
      if (record.column === 'alert_channels.secret_sealed') {
        const query = trx.updateTable('alert_channels').set({ secret_sealed: to }).where('name', '=', record.id).where('secret_sealed', '=', record.sealed);
        return affected(await query.executeTakeFirst()) === 1;
      }
      return affected(await replaceQuery(trx, record.column, record.id, record.sealed, to).executeTakeFirst()) === 1;
    },

    async countEnvelopes() {
      const found: { table: string; column: string; count: number }[] = [];
      for (const { table, column } of await textColumns(trx, dialect)) {
        if (skippedTables.has(table)) continue;
        const rows = await sql<{ v: string }>`select ${sql.ref(column)} as v from ${sql.table(table)} where ${sql.ref(column)} like ${envelopeMarker}`.execute(trx);
        const count = rows.rows.filter((row) => looksLikeEnvelope(row.v)).length;
        if (count > 0) found.push({ table, column, count });
      }
      return found;
    },
  };
}

function replaceQuery(trx: Transaction<Database>, column: Exclude<SealedColumn, 'pending_shares.share_sealed' | 'alert_channels.secret_sealed'>, id: string, from: string, to: string) {
  switch (column) {
    case 'targets.admin_secret_sealed':
      return trx.updateTable('targets').set({ admin_secret_sealed: to }).where('id', '=', id).where('admin_secret_sealed', '=', from);
    case 'accounts.secret_sealed':
      return trx.updateTable('accounts').set({ secret_sealed: to }).where('id', '=', id).where('secret_sealed', '=', from);
    case 'grants.credential_sealed':
      return trx.updateTable('grants').set({ credential_sealed: to }).where('id', '=', id).where('credential_sealed', '=', from);
    // issue 14 (enroll)
    case 'local_credentials.totp_secret_sealed':
      return trx.updateTable('local_credentials').set({ totp_secret_sealed: to }).where('user_id', '=', id).where('totp_secret_sealed', '=', from);
    case 'settings.value':
      return trx.updateTable('settings').set({ value: to }).where('key', '=', id).where('value', '=', from);
  }
}

async function textColumns(trx: Transaction<Database>, dialect: Store['dialect']): Promise<{ table: string; column: string }[]> {
  if (dialect === 'postgres') {
    const result = await sql<{ table: string; column: string }>`
      select table_name as "table", column_name as "column" from information_schema.columns
      where table_schema = current_schema() and data_type in ('text', 'character varying', 'json', 'jsonb')
      order by table_name, column_name`.execute(trx);
    return result.rows;
  }
  const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(trx);
  const columns: { table: string; column: string }[] = [];
  for (const { name } of tables.rows) {
    const info = await sql<{ name: string; type: string }>`select name, type from pragma_table_info(${name})`.execute(trx);
    for (const column of info.rows) {
      if (/text|char|clob|json/i.test(column.type) || column.type === '') columns.push({ table: name, column: column.name });
    }
  }
  return columns;
}

function looksLikeEnvelope(text: string): boolean {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && (value as Record<string, unknown>)['alg'] === 'A256GCM' && 'wk' in value;
  } catch {
    return false;
  }
}
