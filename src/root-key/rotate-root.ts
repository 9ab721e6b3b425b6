import { rewrapDataKey } from '../crypto/index.js';
import { generateRootKey } from '../crypto/root-key-check.js';
import { asAccountId, asGrantId, asTargetId, asUserId } from '../domain/index.js';
import { AppError } from '../errors/index.js';
import { aad } from '../modules/vault/vault.js';
import type { SealedColumn, SealedValueRecord, StoreTx, UnsealInputs } from '../ports/index.js';
import { settingKeys } from './settings-keys.js';
import { replaceMaterial, withOpenDataDir, type RootKeyChangeOptions, type RootKeyChangeResult } from './change-root-key.js';
import type { RootKeyDescriptor } from './descriptor.js';
import { newSealId } from './descriptor.js';
import { describeSeal, sealRootKey, type SealSpec } from './seal-root-key.js';

/** Settings that hold values sealed under the root key, with their associated data. */
const sealedSettings: Readonly<Record<string, string>> = { [settingKeys.auditPrivateKeySealed]: aad.auditSigningKey(), [settingKeys.alertAckKeySealed]: aad.alertAckKey() };
/** Values sealed to a dual-control account's public key: not under the root key, left alone. */
const custodianAlg = 'X25519-HKDF-SHA256-A256GCM';

/**
 * `breakglass operator rotate-root`: a NEW root key, offline, on a stopped server's data dir.
 * Every value sealed under the old key (target admin secrets, account secrets, ephemeral
 * credentials, the audit signing key) gets its data key rewrapped under the new one in ONE
 * store transaction; the seal stays the same kind (same passphrase, same HSM key, new unseal
 * shares with the same threshold). The old key material is replaced only after that commit;
 * see journal.ts for what a crash at any point leaves behind.
 */
export async function rotateRootKey(options: RootKeyChangeOptions): Promise<RootKeyChangeResult> {
  return withOpenDataDir(options, 'rotation', async (open) => {
    const newKey = generateRootKey();
    try {
      const descriptor = open.material.descriptor;
      const sealed = await sealRootKey(newKey, await sameSeal(descriptor, open.inputs), newSealId());
      let rewrapped: Record<SealedColumn, number> = { 'targets.admin_secret_sealed': 0, 'accounts.secret_sealed': 0, 'grants.credential_sealed': 0, 'settings.value': 0, 'pending_shares.share_sealed': 0, 'alert_channels.secret_sealed': 0, 'local_credentials.totp_secret_sealed': 0 };
      let skipped = 0;
      await replaceMaterial(open, options, 'rotation', sealed, newKey, async (tx) => {
        ({ rewrapped, skipped } = await rewrapAll(tx, open.rootKey, newKey));
        await open.audit.append(tx, {
          actor: open.actor,
          action: 'root-key.rotated',
          subject: 'root-key',
          details: { ...describeSeal(sealed.descriptor), previousSealId: descriptor?.id ?? 'root.key', sealId: sealed.descriptor.id, rewrapped, skipped },
        });
      });
      return {
        op: 'rotation',
        previousMode: open.material.mode,
        mode: sealed.descriptor.seal,
        sealId: sealed.descriptor.id,
        ...(sealed.unsealShares && { unsealShares: sealed.unsealShares }),
        rewrapped,
        skipped,
      };
    } finally {
      newKey.fill(0);
    }
  });
}

/** The current seal, made again for a new key. */
async function sameSeal(descriptor: RootKeyDescriptor | undefined, inputs: UnsealInputs): Promise<SealSpec> {
  switch (descriptor?.seal) {
    case undefined:
    case 'keyfile':
      return { mode: 'keyfile' };
    case 'passphrase':
      // The passphrase that just opened the old key (asked once, remembered for this command).
      return { mode: 'passphrase', passphrase: await ask(inputs.passphrase, 'BREAKGLASS_PASSPHRASE') };
    case 'shamir':
      return { mode: 'shamir', shares: descriptor.shares, threshold: descriptor.threshold };
    case 'pkcs11': {
      const key = { module: descriptor.module, token: descriptor.token, keyLabel: descriptor.keyLabel, keyId: descriptor.keyId };
      return { mode: 'pkcs11', location: key, key, pin: await ask(inputs.pkcs11Pin, 'BREAKGLASS_PKCS11_PIN') };
    }
  }
}

function ask(source: (() => Promise<string>) | undefined, name: string): Promise<string> {
  if (source === undefined) throw new AppError('validation', `${name} is needed to seal the new root key`);
  return source();
}

function associatedData(record: SealedValueRecord): string {
  switch (record.column) {
    case 'targets.admin_secret_sealed':
      return aad.targetAdmin(asTargetId(record.id));
    case 'accounts.secret_sealed':
      return aad.accountSecret(asAccountId(record.id), record.version ?? 0);
    case 'grants.credential_sealed':
      return aad.grantCredential(asGrantId(record.id));
    case 'pending_shares.share_sealed':
      return aad.pendingShare(asGrantId(record.id), record.holder ?? '', record.version ?? 0);
    case 'alert_channels.secret_sealed':
      return aad.channelSecret(record.id);
    // issue 14 (enroll)
    case 'local_credentials.totp_secret_sealed':
      return aad.localTotpSecret(asUserId(record.id));
    case 'settings.value': {
      const data = sealedSettings[record.id];
      if (data === undefined) throw new AppError('internal', `setting ${record.id} is not a known sealed setting`);
      return data;
    }
  }
}

function algorithmOf(sealed: string): unknown {
  try {
    return (JSON.parse(sealed) as { alg?: unknown }).alg;
  } catch {
    return undefined;
  }
}

/** Rewraps every root-key envelope of the store; anything it cannot account for aborts the rotation. */
async function rewrapAll(tx: StoreTx, oldKey: Buffer, newKey: Buffer): Promise<{ rewrapped: Record<SealedColumn, number>; skipped: number }> {
  await tx.sealedValues.lockForRewrap();
  const rewrapped: Record<SealedColumn, number> = { 'targets.admin_secret_sealed': 0, 'accounts.secret_sealed': 0, 'grants.credential_sealed': 0, 'settings.value': 0, 'pending_shares.share_sealed': 0, 'alert_channels.secret_sealed': 0, 'local_credentials.totp_secret_sealed': 0 };
  let skipped = 0;
  for (const record of await tx.sealedValues.list(Object.keys(sealedSettings))) {
    const alg = algorithmOf(record.sealed);
    if (alg === custodianAlg) {
      skipped += 1;
      continue;
    }
    const where = `${record.column} of ${record.id}`;
    if (alg !== 'A256GCM') throw new AppError('integrity', `the sealed value in ${where} has an unknown format; nothing was changed`);
    let next: string;
    try {
      next = rewrapDataKey(oldKey, newKey, record.sealed, associatedData(record));
    } catch {
      throw new AppError('crypto', `the sealed value in ${where} does not open with the current root key; nothing was changed`);
    }
    if (!(await tx.sealedValues.replace(record, next))) throw new AppError('conflict', `${where} changed during the rotation; nothing was changed`);
    rewrapped[record.column] += 1;
  }
  // A sealed column that this code does not know would keep values only the old key opens.
  for (const found of await tx.sealedValues.countEnvelopes()) {
    const column = `${found.table}.${found.column}`;
    const expected = (rewrapped as Record<string, number>)[column] ?? 0;
    if (found.count !== expected) {
      throw new AppError('integrity', `${found.count} value(s) in ${column} look sealed under the root key but ${expected} were rewrapped; nothing was changed`);
    }
  }
  return { rewrapped, skipped };
}
