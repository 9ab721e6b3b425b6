import type { Store } from '../ports/index.js';
import type { RootKeyChangeOptions, RootKeyChangeResult } from '../root-key/change-root-key.js';
import { rekeyRootKey as rekey, type RekeyOptions } from '../root-key/rekey.js';
import { rotateRootKey as rotate } from '../root-key/rotate-root.js';
import { createPostgresStore } from '../store/create-store.js';
import { openStore } from './open-store.js';

/** A root key change as the operator commands ask for it: the store is named by its URL, if any. */
type OfflineOptions<O extends RootKeyChangeOptions> = Omit<O, 'openStore'> & { readonly databaseUrl?: string | undefined };

/**
 * The store of a stopped server, for an offline change. Named apart from serving instances,
 * whose connections the change counts (src/root-key/change-root-key.ts).
 */
function operatorStore(dataDir: string, databaseUrl: string | undefined): () => Promise<Store> {
  return () => (databaseUrl ? createPostgresStore(databaseUrl, { poolSize: 2, applicationName: 'breakglass-operator' }) : openStore(dataDir, undefined));
}

/** `breakglass operator rekey` on a stopped server's data dir (src/root-key/rekey.ts). */
export function rekeyRootKey({ databaseUrl, ...options }: OfflineOptions<RekeyOptions>): Promise<RootKeyChangeResult> {
  return rekey({ ...options, openStore: operatorStore(options.dataDir, databaseUrl) });
}

/** `breakglass operator rotate-root` on a stopped server's data dir (src/root-key/rotate-root.ts). */
export function rotateRootKey({ databaseUrl, ...options }: OfflineOptions<RootKeyChangeOptions>): Promise<RootKeyChangeResult> {
  return rotate({ ...options, openStore: operatorStore(options.dataDir, databaseUrl) });
}
