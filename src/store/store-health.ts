import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Kysely } from 'kysely';
import { AppError } from '../errors/index.js';
import type { StoreCondition, StoreHealthProbe } from '../ports/index.js';
import type { Database } from './schema.js';
import { postgresFault, sqliteFault } from './store-faults.js';

/** The settings row the probe rewrites: a write as small as a write can be. */
export const heartbeatKey = 'store.heartbeat';

/** How long a PostgreSQL probe may take before the server counts as unreachable. */
const postgresProbeTimeoutMs = 5_000;

const heartbeat = (db: Kysely<Database>) =>
  db.transaction().execute(async (trx) => {
    const value = String(Date.now());
    await trx.insertInto('settings').values({ key: heartbeatKey, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
  });

/**
 * The identity of the SQLite file the server opened (device and inode, taken right after the
 * open), compared with whatever is at the path now. Why: with WAL, SQLite keeps reading and
 * writing an unlinked file without complaint, so a server whose database was deleted would go
 * on issuing credentials into a file that vanishes at exit — a fail-open.
 */
export function sqliteIdentity(file: string): { check(): StoreCondition | undefined; assertPresent(): void } {
  const name = basename(file);
  const opened = statSync(file);
  const check = (): StoreCondition | undefined => {
    let now;
    try {
      now = statSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
      return { fault: 'lost', detail: code === 'ENOENT' ? `${name} was removed from the data directory` : `${name} cannot be examined (${code})` };
    }
    return now.dev === opened.dev && now.ino === opened.ino ? undefined : { fault: 'lost', detail: `${name} in the data directory was replaced by another file` };
  };
  return {
    check,
    assertPresent() {
      const lost = check();
      if (lost) throw new AppError('store_unavailable', `the store is lost: ${lost.detail}; nothing is issued until it is back: restore the data directory from a backup and restart the server`);
    },
  };
}

/** SQLite: the file is the one opened, then a heartbeat write. */
export function sqliteHealth(db: Kysely<Database>, identity: { check(): StoreCondition | undefined }): StoreHealthProbe {
  const diagnose = (error: unknown) => identity.check() ?? sqliteFault(error);
  return {
    diagnose,
    async probe() {
      const lost = identity.check();
      if (lost) return lost;
      try {
        await heartbeat(db);
        return undefined;
      } catch (error) {
        return diagnose(error) ?? { fault: 'unwritable', detail: `the heartbeat write failed (${codeName(error)})` };
      }
    },
  };
}

/** PostgreSQL: a heartbeat write (it connects, so it also says whether the server answers). */
export function postgresHealth(db: Kysely<Database>): StoreHealthProbe {
  return {
    diagnose: postgresFault,
    async probe() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<StoreCondition>((resolve) => {
        timer = setTimeout(() => resolve({ fault: 'unreachable', detail: `the database server did not answer within ${postgresProbeTimeoutMs / 1000}s` }), postgresProbeTimeoutMs);
      });
      const write = heartbeat(db).then(
        () => undefined,
        (error: unknown) => postgresFault(error) ?? { fault: 'unwritable' as const, detail: `the heartbeat write failed (${codeName(error)})` },
      );
      try {
        return await Promise.race([write, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** A driver error's code, never its message (which may quote a statement). */
const codeName = (error: unknown) => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'no error code';
};
