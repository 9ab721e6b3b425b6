import { userInfo } from 'node:os';
import { writeRootKeyFile } from '../crypto/root-key-file.js';
import { AppError } from '../errors/index.js';
import type { AuditLog } from '../modules/audit/audit-log.js';
import { createVault } from '../modules/vault/vault.js';
import { systemClock, type Clock, type SealMode, type Store, type StoreTx, type UnsealInputs } from '../ports/index.js';
import { assertNoLiveServer, lockKeyOperation } from './data-dir-locks.js';
import { readRootKeyMaterial, serializeDescriptor, type RootKeyMaterial } from './descriptor.js';
import { abandonJournal, assertKeyMatchesStore, assertMaterialIsCurrent, completeJournal, recoverRootKeyChange, rootKeySettings, writeJournal, type Journal } from './journal.js';
import { keyProviderFor } from './key-providers.js';
import { hasRootKeyMaterial, materialFiles, materialPath, writeNewFile } from './material-files.js';
import { openAuditLog } from './open-audit-log.js';
import type { SealedRootKey } from './seal-root-key.js';

/** Options shared by `operator rekey` and `operator rotate-root` (offline, on a stopped server's data dir). */
export interface RootKeyChangeOptions {
  readonly dataDir: string;
  /**
   * Opens the data dir's store (the composition root chooses SQLite or PostgreSQL). Called once
   * the lock is held and no server runs; the change closes it.
   */
  readonly openStore: () => Promise<Store>;
  /** Secrets that open the current seal (and, for a passphrase rotation, reseal). */
  readonly inputs: UnsealInputs;
  /** Who does it, for the audit event; default `local:<os user>`. */
  readonly actor?: string;
  readonly clock?: Clock;
  /**
   * Receives new unseal shares (shamir) before the change commits, so a crash cannot leave a
   * store whose shares nobody saw. Required when the new seal is shamir.
   */
  readonly deliverShares?: (shares: readonly string[]) => Promise<void> | void;
  /** Tests only: runs right after the store commit, before the files are renamed (a throw = a crash there). */
  readonly afterCommit?: () => void;
}

export interface RootKeyChangeResult {
  readonly op: 'rekey' | 'rotation';
  readonly previousMode: SealMode;
  readonly mode: SealMode;
  /** id of the new root-key.json. */
  readonly sealId: string;
  /** New unseal shares (shamir), as delivered. */
  readonly unsealShares?: readonly string[];
  /** Rotation: how many values were rewrapped, per column. */
  readonly rewrapped?: Readonly<Record<string, number>>;
  /** Rotation: values sealed to a custodian public key, not under the root key (left as they are). */
  readonly skipped?: number;
}

/** What a change may use once the current seal is open. */
export interface OpenDataDir {
  readonly dataDir: string;
  readonly store: Store;
  readonly material: RootKeyMaterial;
  readonly rootKey: Buffer;
  readonly audit: AuditLog;
  readonly inputs: UnsealInputs;
  readonly actor: string;
}

async function assertNoServingConnections(tx: StoreTx): Promise<void> {
  const serving = await tx.sealedValues.servingConnections();
  if (serving > 0) {
    throw new AppError('conflict', `a Breakglass instance is still connected to the PostgreSQL store (${serving} connection(s)); stop every instance first`);
  }
}

/** Each secret is asked for once per command, even if both unsealing and resealing need it. */
function memoInputs(inputs: UnsealInputs): UnsealInputs {
  const once = <A extends unknown[], T>(f: ((...args: A) => Promise<T>) | undefined) => {
    let cached: Promise<T> | undefined;
    return f === undefined ? undefined : (...args: A) => (cached ??= f(...args));
  };
  const passphrase = once(inputs.passphrase);
  const pkcs11Pin = once(inputs.pkcs11Pin);
  const shares = once(inputs.shares);
  return { ...(passphrase && { passphrase }), ...(pkcs11Pin && { pkcs11Pin }), ...(shares && { shares }) };
}

/**
 * Opens a stopped server's data directory for a root key change: takes the rekey/rotation
 * lock, refuses if a server runs on it, finishes or undoes an interrupted change, unseals the
 * current root key and checks it against the store.
 */
export async function withOpenDataDir<T>(options: RootKeyChangeOptions, op: 'rekey' | 'rotation', work: (open: OpenDataDir) => Promise<T>): Promise<T> {
  const { dataDir } = options;
  if (!hasRootKeyMaterial(dataDir)) throw new AppError('not_found', `${dataDir} is not initialised; is --data-dir right?`);
  const release = lockKeyOperation(dataDir, op);
  try {
    assertNoLiveServer(dataDir);
    const store = await options.openStore();
    try {
      await store.transaction(assertNoServingConnections);
      await recoverRootKeyChange(dataDir, store);
      const material = readRootKeyMaterial(dataDir);
      await assertMaterialIsCurrent(store, material);
      const inputs = memoInputs(options.inputs);
      const rootKey = await keyProviderFor(dataDir, material).unseal(inputs);
      try {
        await assertKeyMatchesStore(store, rootKey);
        const audit = await openAuditLog(store, createVault(rootKey), options.clock ?? systemClock);
        const actor = options.actor ?? `local:${userInfo().username}`;
        return await work({ dataDir, store, material, rootKey, audit, inputs, actor });
      } finally {
        rootKey.fill(0);
      }
    } finally {
      await store.close();
    }
  } finally {
    release();
  }
}

/**
 * Steps 1–3 of journal.ts for new material `sealed` (with `rootKey` when it is a key file):
 * stage, deliver shares, commit `record` in one store transaction together with the new seal
 * id and check value, then put the files in place.
 */
export async function replaceMaterial(
  open: OpenDataDir,
  options: RootKeyChangeOptions,
  op: Journal['op'],
  sealed: SealedRootKey,
  rootKey: Buffer,
  record: (tx: StoreTx) => Promise<void>,
): Promise<void> {
  const { dataDir } = open;
  if (sealed.unsealShares !== undefined && options.deliverShares === undefined) {
    throw new AppError('validation', 'new unseal shares would be created, but nothing is there to show them');
  }
  // What the store records now: recovery rolls back only if the store still says exactly this.
  const previousSealId = (await open.store.transaction((tx) => tx.settings.get(rootKeySettings.sealId))) ?? null;
  const journal: Journal = { version: 1, op, sealId: sealed.descriptor.id, previousSealId, install: [], remove: [] };
  if (sealed.descriptor.seal === 'keyfile') {
    writeRootKeyFile(materialPath(dataDir, materialFiles.stagedKeyFile), rootKey);
    journal.install.push([materialFiles.stagedKeyFile, materialFiles.keyFile]);
  } else if (open.material.mode === 'keyfile') {
    journal.remove.push(materialFiles.keyFile);
  }
  writeNewFile(dataDir, materialFiles.stagedDescriptor, serializeDescriptor(sealed.descriptor));
  journal.install.push([materialFiles.stagedDescriptor, materialFiles.descriptor]);
  writeJournal(dataDir, journal);
  try {
    if (sealed.unsealShares !== undefined) await options.deliverShares?.(sealed.unsealShares);
    await open.store.transaction(async (tx) => {
      await record(tx);
      // Checked again at the end: an instance that started meanwhile would keep the old key.
      await assertNoServingConnections(tx);
      await tx.settings.set(rootKeySettings.sealId, sealed.descriptor.id);
      await tx.settings.set(rootKeySettings.check, sealed.descriptor.check);
    });
  } catch (error) {
    // Usually the transaction rolled back or never ran. But a commit whose answer was lost
    // (a dropped connection) may have counted: ask the store before deleting anything.
    const committed = await open.store.transaction((tx) => tx.settings.get(rootKeySettings.sealId)).then(
      (id) => id === journal.sealId,
      () => undefined,
    );
    if (committed !== true) {
      // Cannot tell (store unreachable): keep the journal; the next start or command decides.
      if (committed === false) abandonJournal(dataDir);
      throw error;
    }
  }
  options.afterCommit?.();
  completeJournal(dataDir, journal);
}
