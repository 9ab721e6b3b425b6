import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

/**
 * The initial schema, written once for both dialects: only `text`, `integer` and `bigint`
 * columns, JSON as text, timestamps as epoch-ms `bigint`, so sorting and comparison behave
 * the same on SQLite and PostgreSQL.
 */
export const initialSchema: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await createIdentityTables(db);
    await createCatalogTables(db);
    await createGrantAndJobTables(db);
    await createAuditTables(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    const tables = ['settings', 'audit_head', 'audit_checkpoints', 'audit_events', 'jobs', 'grants'];
    for (const table of [...tables, 'accounts', 'policies', 'targets', 'api_tokens', 'users']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};

async function createIdentityTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('api_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('api_tokens_user_id_idx').on('api_tokens').column('user_id').execute();
  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

async function createCatalogTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('targets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('admin_secret_sealed', 'text')
    .execute();
  await db.schema
    .createTable('policies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('conditions', 'text', (c) => c.notNull())
    .addColumn('incident_pattern', 'text')
    .addColumn('approval', 'text', (c) => c.notNull())
    .addColumn('default_ttl_ms', 'bigint', (c) => c.notNull())
    .addColumn('max_ttl_ms', 'bigint', (c) => c.notNull())
    .addColumn('min_ttl_ms', 'bigint')
    .addColumn('invokers', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('target_id', 'text', (c) => c.notNull().references('targets.id'))
    .addColumn('policy_id', 'text', (c) => c.notNull().references('policies.id'))
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('staging', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('secret_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('secret_sealed', 'text')
    .execute();
}

async function createGrantAndJobTables(db: Kysely<unknown>): Promise<void> {
  const optionalTimes = ['activated_at', 'ended_at', 'revoked_at', 'rotated_at', 'revealed_at', 'closed_at'];
  let grants = db.schema
    .createTable('grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('requester_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('requester_name', 'text', (c) => c.notNull())
    .addColumn('condition', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('incident', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('end_reason', 'text')
    .addColumn('certification', 'text')
    .addColumn('failure', 'text');
  for (const column of optionalTimes) grants = grants.addColumn(column, 'bigint');
  await grants.execute();
  await db.schema.createIndex('grants_state_idx').on('grants').column('state').execute();
  await db.schema.createIndex('grants_account_id_idx').on('grants').column('account_id').execute();
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'bigint')
    .execute();
  await db.schema.createIndex('jobs_due_at_idx').on('jobs').column('due_at').execute();
  await db.schema.createIndex('jobs_subject_idx').on('jobs').column('subject').execute();
}

async function createAuditTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute();
  // One row, created here, so PostgreSQL always has a head row to lock with FOR UPDATE.
  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('checkpoint_at', 'bigint')
    .execute();
  await sql`insert into audit_head (id, seq, hash, checkpoint_at) values (1, 0, ${'0'.repeat(64)}, null)`.execute(db);
}
