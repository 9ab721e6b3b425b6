import { mkdirSync } from 'node:fs';
import { generateSigningKeyPair } from '../crypto/index.js';
import { generateRootKey } from '../crypto/root-key-check.js';
import { writeRootKeyFile } from '../crypto/root-key-file.js';
import { AppError } from '../errors/index.js';
import { createAuditLog } from '../modules/audit/audit-log.js';
import { issueToken } from '../modules/identity/identity.js';
import { aad, createVault, type Vault } from '../modules/vault/vault.js';
import { systemClock, type Clock, type SealMode } from '../ports/index.js';
import { newSealId, serializeDescriptor, type RootKeyDescriptor } from '../root-key/descriptor.js';
import { rootKeySettings } from '../root-key/journal.js';
import { materialFiles, materialPath, writeNewFile } from '../root-key/material-files.js';
import { describeSeal, resolveSealSpec, sealRootKey, type SealChoice, type SealSecrets } from '../root-key/seal-root-key.js';
import { settingKeys } from '../root-key/settings-keys.js';
import { isInitialised, secureDataDir } from './data-dir.js';
import { openStore } from './open-store.js';

export interface InitOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  readonly clock?: Clock;
  /** How to seal the root key; the quick-start key file by default. */
  readonly seal?: SealChoice | undefined;
  /** The passphrase (passphrase seal) and the token PIN (pkcs11 seal), asked for only if needed. */
  readonly secrets?: SealSecrets | undefined;
}

export interface InitResult {
  readonly adminToken: string;
  readonly dataDir: string;
  readonly seal: SealMode;
  /** shamir: the operators' unseal shares, shown once and never stored. */
  readonly unsealShares?: readonly string[];
}

/**
 * Creates a data directory: the root key sealed as chosen (`root-key.json`, plus `root.key`
 * for the keyfile seal), the store and its schema, the audit signing key (its private half
 * sealed), the admin user, and the one-time admin token.
 *
 * @example
 * const { adminToken, unsealShares } = await initDataDir({ dataDir, seal: { mode: 'shamir', unsealShares: 5, unsealThreshold: 3 } });
 */
export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const clock = options.clock ?? systemClock;
  const { dataDir } = options;
  if (isInitialised(dataDir)) {
    throw new AppError('conflict', `${dataDir} is already initialised; use it with \`breakglass serve --data-dir ${dataDir}\``);
  }
  // Every choice and secret is checked before anything is created.
  const spec = await resolveSealSpec(options.seal ?? { mode: 'keyfile' }, options.secrets ?? {});
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  secureDataDir(dataDir); // an existing directory keeps its mode through mkdir
  const rootKey = generateRootKey();
  try {
    const sealed = await sealRootKey(rootKey, spec, newSealId());
    if (sealed.descriptor.seal === 'keyfile') writeRootKeyFile(materialPath(dataDir, materialFiles.keyFile), rootKey);
    writeNewFile(dataDir, materialFiles.descriptor, serializeDescriptor(sealed.descriptor));
    const adminToken = await initStore(options, createVault(rootKey), sealed.descriptor, clock);
    secureDataDir(dataDir); // the database files SQLite just made with the umask's mode
    return { adminToken, dataDir, seal: sealed.descriptor.seal, ...(sealed.unsealShares && { unsealShares: sealed.unsealShares }) };
  } finally {
    rootKey.fill(0);
  }
}

async function initStore(options: InitOptions, vault: Vault, descriptor: RootKeyDescriptor, clock: Clock): Promise<string> {
  const keys = generateSigningKeyPair();
  const store = await openStore(options.dataDir, options.databaseUrl);
  try {
    const audit = createAuditLog({ clock, privateKeyPem: keys.privateKeyPem, publicKeyPem: keys.publicKeyPem });
    return await store.transaction(async (tx) => {
      const existing = await tx.settings.set(settingKeys.auditPublicKey, keys.publicKeyPem, { ifAbsent: true });
      if (existing !== keys.publicKeyPem) {
        throw new AppError('conflict', 'the database is already initialised by another Breakglass instance; copy its root-key.json (and root.key) instead of running init');
      }
      await tx.settings.set(settingKeys.auditPrivateKeySealed, vault.seal(keys.privateKeyPem, aad.auditSigningKey()));
      await tx.settings.set(rootKeySettings.sealId, descriptor.id);
      await tx.settings.set(rootKeySettings.check, descriptor.check);
      await tx.users.upsert({ name: 'admin', roles: ['admin'] }, clock.now());
      await audit.append(tx, { actor: 'system', action: 'system.initialized', subject: 'breakglass', details: { dialect: store.dialect } });
      await audit.append(tx, { actor: 'system', action: 'root-key.sealed', subject: 'root-key', details: { ...describeSeal(descriptor), sealId: descriptor.id } });
      return issueToken({ audit, clock }, tx, 'system', 'admin');
    });
  } finally {
    await store.close();
  }
}
