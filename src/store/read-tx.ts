import type { Transaction } from 'kysely';
import { AppError } from '../errors/index.js';
import type { Store, StoreReadTx } from '../ports/index.js';
import { auditRepository } from './audit-repository.js';
import { catalogRepository } from './catalog-repository.js';
import { coResponderRepository } from './co-responder-repository.js';
import { fromOptionalMs } from './columns.js';
import { grantRepository } from './grant-repository.js';
import { jobRepository } from './job-repository.js';
import type { Database } from './schema.js';
import { settingsRepository } from './settings-repository.js';
import { tokenRepository } from './token-repository.js';
import { userRepository } from './user-repository.js';
import { lazyRepositories } from './lazy-repositories.js';

/**
 * The lookups of a read (`Store.read`): the same repositories as a write transaction, typed
 * down to what reads, plus the chain head read without `FOR UPDATE` (a read-only PostgreSQL
 * transaction may not lock rows, and a read must never delay an append).
 */
export function storeReadTx(trx: Transaction<Database>, dialect: Store['dialect']): StoreReadTx {
  return lazyRepositories<StoreReadTx>({
    users: () => userRepository(trx),
    tokens: () => tokenRepository(trx),
    catalog: () => catalogRepository(trx, dialect),
    grants: () => grantRepository(trx),
    jobs: () => jobRepository(trx, dialect),
    audit: () => ({
      ...auditRepository(trx, dialect),
      async head() {
        const row = await trx.selectFrom('audit_head').select(['seq', 'hash', 'checkpoint_at']).where('id', '=', 1).executeTakeFirst();
        if (row === undefined) throw new AppError('integrity', 'the audit chain head row is missing');
        return { seq: Number(row.seq), hash: row.hash, checkpointAt: fromOptionalMs(row.checkpoint_at) };
      },
    }),
    settings: () => settingsRepository(trx),
    coResponders: () => coResponderRepository(trx),
  });
}
