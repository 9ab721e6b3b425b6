import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { verifyBundle, verifyChain } from '../crypto/index.js';
import { AppError } from '../errors/index.js';
import { toChainCheckpoint, toChainRow } from '../modules/audit/audit-reader.js';
import { readAuditOffline } from '../store/read-audit-offline.js';
import { dataDirPaths } from './data-dir.js';
import { settingKeys } from './settings-keys.js';

export type AuditVerification =
  | { ok: true; events: number; headSeq: number; checkpoints: number }
  | { ok: false; firstBadSeq: number; reason: string; events: number };

function summarise(result: Awaited<ReturnType<typeof verifyChain>>): AuditVerification {
  return result.ok
    ? { ok: true, events: result.events, headSeq: result.headSeq, checkpoints: result.checkpoints }
    : { ok: false, firstBadSeq: result.firstBadSeq, reason: result.reason, events: result.events };
}

/** `audit verify --file`: an exported bundle, with no server and no database. */
export async function verifyBundleFile(path: string): Promise<AuditVerification> {
  if (!existsSync(path)) throw new AppError('not_found', `no bundle at ${path}`);
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  return summarise(await verifyBundle(lines));
}

/** `audit verify --data-dir`: the embedded store of a stopped server, read-only. */
export async function verifyDataDir(dataDir: string): Promise<AuditVerification> {
  const file = dataDirPaths(dataDir).database;
  if (!existsSync(file)) throw new AppError('not_found', `no embedded store at ${file}; is --data-dir right?`);
  const offline = await readAuditOffline(file);
  const publicKey = offline.settings(settingKeys.auditPublicKey);
  if (!publicKey) throw new AppError('integrity', 'the store has no audit public key');
  const rows = (async function* () {
    for await (const event of offline.events) yield toChainRow(event);
  })();
  const result = summarise(await verifyChain(rows, offline.checkpoints.map(toChainCheckpoint), publicKey));
  // The head row records how far the chain went: fewer events means the tail was deleted.
  if (result.ok && result.headSeq < offline.head.seq) {
    return { ok: false, firstBadSeq: result.headSeq + 1, reason: `events deleted after seq ${result.headSeq}`, events: result.events };
  }
  return result;
}
