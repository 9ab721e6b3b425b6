import { mkdirSync } from 'node:fs';
import { createKeyFile, generateSigningKeyPair } from '../crypto/index.js';
import { AppError } from '../errors/index.js';
import { createAuditLog } from '../modules/audit/audit-log.js';
import { issueToken } from '../modules/identity/identity.js';
import { aad, createVault } from '../modules/vault/vault.js';
import { loadKeyFile } from '../crypto/index.js';
import { systemClock, type Clock } from '../ports/index.js';
import { dataDirPaths, isInitialised } from './data-dir.js';
import { openStore } from './open-store.js';
import { settingKeys } from './settings-keys.js';

export interface InitOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  readonly clock?: Clock;
}

/**
 * Creates a data directory: the root key file (0600), the store and its schema, the audit
 * signing key (its private half sealed), the admin user, and the one-time admin token.
 */
export async function initDataDir(options: InitOptions): Promise<{ adminToken: string; dataDir: string }> {
  const clock = options.clock ?? systemClock;
  if (isInitialised(options.dataDir)) {
    throw new AppError('conflict', `${options.dataDir} is already initialised; use it with \`breakglass serve --data-dir ${options.dataDir}\``);
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const paths = dataDirPaths(options.dataDir);
  createKeyFile(paths.rootKey);
  const vault = createVault(loadKeyFile(paths.rootKey));
  const keys = generateSigningKeyPair();
  const store = await openStore(options.dataDir, options.databaseUrl);
  try {
    const audit = createAuditLog({ clock, privateKeyPem: keys.privateKeyPem, publicKeyPem: keys.publicKeyPem });
    const adminToken = await store.transaction(async (tx) => {
      const existing = await tx.settings.set(settingKeys.auditPublicKey, keys.publicKeyPem, { ifAbsent: true });
      if (existing !== keys.publicKeyPem) {
        throw new AppError('conflict', 'the database is already initialised by another Breakglass instance; copy its root.key instead of running init');
      }
      await tx.settings.set(settingKeys.auditPrivateKeySealed, vault.seal(keys.privateKeyPem, aad.auditSigningKey()));
      await tx.users.upsert({ name: 'admin', roles: ['admin'] }, clock.now());
      await audit.append(tx, { actor: 'system', action: 'system.initialized', subject: 'breakglass', details: { dialect: store.dialect } });
      return issueToken({ audit, clock }, tx, 'system', 'admin');
    });
    return { adminToken, dataDir: options.dataDir };
  } finally {
    await store.close();
  }
}
