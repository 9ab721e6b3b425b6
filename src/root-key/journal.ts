import { z } from 'zod';
import { rootKeyCheckMatches } from '../crypto/root-key-check.js';
import { AppError } from '../errors/index.js';
import type { Store } from '../ports/index.js';
import type { RootKeyMaterial } from './descriptor.js';
import { fsyncDir, isMaterialFile, materialFiles, readTextIfExists, removeIfExists, renameIfPresent, writeNewFile, type MaterialFile } from './material-files.js';

/**
 * A rekey or rotation replaces root key material in three steps, and a crash may stop it
 * between any two:
 *
 *   1. the new material is written under staging names (`root.key.new`, `root-key.new.json`)
 *      and this journal (`root-key.pending.json`) says what to rename once the change counts;
 *   2. one store transaction records the new seal id (and, for a rotation, rewraps every
 *      sealed value and records the new key check value), with its audit event;
 *   3. the staged files are renamed into place, old ones removed, the journal deleted.
 *
 * The store decides: if it records the journal's seal id, step 2 committed and step 3 is
 * finished (roll forward); otherwise nothing counted and the staged files are deleted (roll
 * back). Old material is only ever replaced after step 2, so no crash loses the key that the
 * store's values are sealed under. Recovery needs no secret and runs before every start.
 */

/** Settings the store keeps about the root key. Neither is secret. */
export const rootKeySettings = {
  /** The `id` of the root-key.json the store's values are currently sealed for. */
  sealId: 'root-key.seal-id',
  /** The key check value of the root key the store's values are sealed under. */
  check: 'root-key.check',
} as const;

const materialFile = z.custom<MaterialFile>(isMaterialFile, 'not a root key file');
const journalSchema = z.strictObject({
  version: z.literal(1),
  op: z.enum(['rekey', 'rotation']),
  sealId: z.string().min(16),
  /** The store's seal id before the change (null: none recorded yet). */
  previousSealId: z.string().min(16).nullable(),
  install: z.array(z.tuple([materialFile, materialFile])),
  remove: z.array(materialFile),
});

export type Journal = z.infer<typeof journalSchema>;

export function writeJournal(dataDir: string, journal: Journal): void {
  writeNewFile(dataDir, materialFiles.journal, `${JSON.stringify(journal, null, 2)}\n`);
}

function readJournal(dataDir: string): Journal | undefined {
  const text = readTextIfExists(dataDir, materialFiles.journal);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = journalSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError('integrity', `${materialFiles.journal} in the data directory is damaged; compare the store's ${rootKeySettings.sealId} setting with root-key.json and root-key.new.json by hand`);
  }
  return parsed.data;
}

/** Step 3: puts the staged material in place and forgets the journal. Idempotent. */
export function completeJournal(dataDir: string, journal: Journal): void {
  for (const [from, to] of journal.install) renameIfPresent(dataDir, from, to);
  for (const name of journal.remove) removeIfExists(dataDir, name);
  fsyncDir(dataDir);
  removeIfExists(dataDir, materialFiles.journal);
  fsyncDir(dataDir);
}

/** Undoes step 1: the change never counted. */
export function abandonJournal(dataDir: string): void {
  removeIfExists(dataDir, materialFiles.stagedKeyFile);
  removeIfExists(dataDir, materialFiles.stagedDescriptor);
  fsyncDir(dataDir);
  removeIfExists(dataDir, materialFiles.journal);
  fsyncDir(dataDir);
}

/**
 * Finishes or undoes a rekey or rotation that a crash interrupted, as the store says.
 * Call with the rekey/rotation lock checked (see data-dir-locks.ts).
 */
export async function recoverRootKeyChange(dataDir: string, store: Store): Promise<'none' | 'completed' | 'abandoned'> {
  const journal = readJournal(dataDir);
  if (journal === undefined) {
    // Staged files without a journal: step 1 was cut short; they never counted.
    removeIfExists(dataDir, materialFiles.stagedKeyFile);
    removeIfExists(dataDir, materialFiles.stagedDescriptor);
    return 'none';
  }
  const { sealId, initialised } = await store.transaction(async (tx) => ({
    sealId: await tx.settings.get(rootKeySettings.sealId),
    initialised: (await tx.settings.get('audit.public-key')) !== undefined,
  }));
  if (sealId === journal.sealId) {
    completeJournal(dataDir, journal);
    return 'completed';
  }
  // Roll back only when this store provably still holds the old state: an empty or wrong store
  // (say, the SQLite default opened by mistake for a PostgreSQL deployment) must never cost the
  // staged key that the real store's values may already be sealed under.
  if (!initialised || (sealId ?? null) !== journal.previousSealId) {
    throw new AppError(
      'integrity',
      `an interrupted root key ${journal.op} is pending and this store does not show its outcome; ` +
        'start with the store it ran against (BREAKGLASS_DATABASE_URL); the staged root key files were kept',
    );
  }
  abandonJournal(dataDir);
  return 'abandoned';
}

/**
 * Before unsealing: the data dir's material must be the sealing the store expects. An instance
 * whose root-key.json is stale (another instance rekeyed or rotated) stops here.
 */
export async function assertMaterialIsCurrent(store: Store, material: RootKeyMaterial): Promise<void> {
  const sealId = await store.transaction((tx) => tx.settings.get(rootKeySettings.sealId));
  if (sealId === undefined || material.descriptor === undefined || material.descriptor.id === sealId) return;
  throw new AppError(
    'conflict',
    `root-key.json (seal ${material.descriptor.id}) is not the store's current root key sealing (${sealId}): ` +
      'the root key was rekeyed or rotated on another instance; copy its root-key.json (and root.key) here',
  );
}

/** After unsealing: the key must be the one the store's values are sealed under. */
export async function assertKeyMatchesStore(store: Store, rootKey: Buffer): Promise<void> {
  const check = await store.transaction((tx) => tx.settings.get(rootKeySettings.check));
  if (check === undefined || rootKeyCheckMatches(rootKey, check)) return;
  throw new AppError(
    'crypto',
    'this root key is not the one the store is sealed under; restore the root key material that belongs to this store (root-key.json, root.key)',
  );
}
