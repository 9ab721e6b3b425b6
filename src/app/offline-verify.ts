import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { verifyChain } from '../crypto/index.js';
import { loadKeyFile, publicKeyFingerprint, publicKeyFromPrivate, verifyBundle } from '../crypto/index.js';
import { AppError } from '../errors/index.js';
import { verifyStoredEvents } from '../modules/audit/audit-reader.js';
import { aad, createVault } from '../modules/vault/vault.js';
import { settingKeys } from '../root-key/settings-keys.js';
import { readAuditOffline } from '../store/read-audit-offline.js';
import { dataDirPaths } from './data-dir.js';

export type AuditVerification =
  | { ok: true; events: number; headSeq: number; checkpoints: number; publicKeyFingerprint?: string }
  | { ok: false; firstBadSeq: number; reason: string; events: number };

function summarise(result: Awaited<ReturnType<typeof verifyChain>>): AuditVerification {
  return result.ok
    ? { ok: true, events: result.events, headSeq: result.headSeq, checkpoints: result.checkpoints }
    : { ok: false, firstBadSeq: result.firstBadSeq, reason: result.reason, events: result.events };
}

/**
 * `audit verify --file`: an exported bundle, with no server and no database. A bundle carries
 * its own public key, so on its own it proves integrity, not authorship: pass the server's
 * public key (`--public-key`) to check who signed it; the fingerprint is reported either way.
 */
export async function verifyBundleFile(path: string, options: { publicKeyPem?: string } = {}): Promise<AuditVerification> {
  if (!existsSync(path)) throw new AppError('not_found', `no bundle at ${path}`);
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  const result = summarise(
    await verifyBundle(lines, options.publicKeyPem === undefined ? {} : { expectedPublicKeyPem: options.publicKeyPem }),
  );
  const header = await firstLine(path);
  const key = (JSON.parse(header) as { publicKey?: unknown }).publicKey;
  return result.ok && typeof key === 'string' ? { ...result, publicKeyFingerprint: publicKeyFingerprint(key) } : result;
}

async function firstLine(path: string): Promise<string> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '{}';
}

/** `audit verify --data-dir`: the embedded store of a stopped server, read-only. */
export async function verifyDataDir(dataDir: string): Promise<AuditVerification> {
  const file = dataDirPaths(dataDir).database;
  if (!existsSync(file)) throw new AppError('not_found', `no embedded store at ${file}; is --data-dir right?`);
  const offline = await readAuditOffline(file);
  const publicKey = offline.settings(settingKeys.auditPublicKey);
  if (!publicKey) throw new AppError('integrity', 'the store has no audit public key');
  const mismatch = signingKeyMismatch(dataDir, publicKey, offline.settings(settingKeys.auditPrivateKeySealed));
  if (mismatch) return { ok: false, firstBadSeq: 0, reason: mismatch, events: 0 };
  // The stored text is hashed as it is, not parsed and canonicalised again (issue 13).
  const result = summarise(await verifyStoredEvents(offline.storedPages, offline.checkpoints, publicKey));
  // The head row records how far the chain went: fewer events means the tail was deleted.
  if (result.ok && result.headSeq < offline.head.seq) {
    return { ok: false, firstBadSeq: result.headSeq + 1, reason: `events deleted after seq ${result.headSeq}`, events: result.events };
  }
  return result;
}

/**
 * With the root key at hand, the stored public key must be the half of the sealed private key;
 * otherwise someone re-signed the chain with a key of their own.
 */
function signingKeyMismatch(dataDir: string, publicKey: string, sealed: string | undefined): string | undefined {
  const rootKey = dataDirPaths(dataDir).rootKey;
  if (!existsSync(rootKey)) return undefined;
  if (sealed === undefined) return 'the store has no sealed audit signing key';
  const privateKeyPem = createVault(loadKeyFile(rootKey)).open(sealed, aad.auditSigningKey());
  return publicKeyFromPrivate(privateKeyPem) === publicKey ? undefined : 'the audit public key does not match the sealed signing key (re-signed chain)';
}
