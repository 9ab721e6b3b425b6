/**
 * Root key rotation (`operator rotate-root`) and rekey (`operator rekey`) without data loss:
 * every sealed value stays readable after a rotation and a restart, custodian-sealed values are
 * left alone, a crash on either side of the store commit is recovered, old unseal shares and old
 * passphrases stop working after a rekey, and a rotation refuses what it cannot do safely.
 */
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initDataDir } from '../../src/app/init.js';
import { rekeyRootKey, rotateRootKey } from '../../src/app/root-key-commands.js';
import { startServer } from '../../src/app/server.js';
import { generateCustodianKeyPair, loadKeyFile, openWithPrivateKey, openWithRootKey, sealToPublicKey, sealWithRootKey } from '../../src/crypto/index.js';
import { aad } from '../../src/modules/vault/vault.js';
import type { SealedValueRecord } from '../../src/ports/index.js';
import { createPostgresStore, createSqliteStore } from '../../src/store/create-store.js';
import pg from 'pg';
import { asAccountId, asGrantId, asTargetId, asUserId } from '../../src/domain/index.js';
import { catalogFor, createStoreDatabase, startHarness, tryLogin } from '../support/harness.js';
import { freePort, runCliProcess, serveProcess } from '../support/cli-process.js';
import { probeTcp, requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { auditEvents, call, passphrase, tempDataDir } from './root-key-support.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());
const sharedPg = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));

const sealedSetting = 'audit.private-key.sealed';

function aadOf(record: SealedValueRecord): string {
  switch (record.column) {
    case 'targets.admin_secret_sealed':
      return aad.targetAdmin(asTargetId(record.id));
    case 'accounts.secret_sealed':
      return aad.accountSecret(asAccountId(record.id), record.version ?? 0);
    case 'grants.credential_sealed':
      return aad.grantCredential(asGrantId(record.id));
    case 'settings.value':
      return aad.auditSigningKey();
    case 'pending_shares.share_sealed':
      return aad.pendingShare(asGrantId(record.id), record.holder ?? '', record.version ?? 0);
    case 'alert_channels.secret_sealed':
      return aad.channelSecret(record.id);
    // issue 14 (enroll)
    case 'local_credentials.totp_secret_sealed':
      return aad.localTotpSecret(asUserId(record.id));
  }
}

async function sealedValues(dataDir: string): Promise<SealedValueRecord[]> {
  const store = await createSqliteStore(join(dataDir, 'breakglass.db'));
  try {
    return await store.transaction((tx) => tx.sealedValues.list([sealedSetting]));
  } finally {
    await store.close();
  }
}

const opens = (key: Buffer, record: SealedValueRecord) => {
  try {
    openWithRootKey(key, record.sealed, aadOf(record)).fill(0);
    return true;
  } catch {
    return false;
  }
};

const leftovers = (dataDir: string) => readdirSync(dataDir).filter((n) => /\.new|pending|\.lock$|^serving-/.test(n));

const shareInputs = (shares: readonly string[]) => ({ shares: (k: number) => Promise.resolve(shares.slice(0, k)) });

async function unsealOver(url: string, shares: readonly string[]) {
  let last: { status: number; body: any } | undefined;
  for (const share of shares) last = await call(url, 'POST', '/v1/sys/unseal', { body: { share } });
  return last!;
}

describe.skipIf(binaries.skip)('rotate-root keeps every secret readable (real target)', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPgCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('target password, staged account secret, an unrevealed ephemeral credential and the audit key survive rotation and restart', async () => {
    let h = await startHarness({ dialect: 'sqlite' });
    const { dataDir, adminToken } = h;
    const catalog = catalogFor(cluster, { role: 'bg_rotate' });
    catalog.accounts.push({ name: 'pg-jit', target: 'prod-pg', mode: 'ephemeral', policy: 'p0' } as never);
    expect((await h.call(adminToken, 'POST', '/v1/apply', catalog)).status).toBe(200);
    const alice = await h.enrol('alice');
    const jit = await h.call(alice, 'POST', '/v1/grants', { account: 'pg-jit', condition: 'outage', reason: 'rotation test', incident: 'INC-9', ttl: '15m' });
    expect(jit.status, JSON.stringify(jit.body)).toBe(201);
    await h.stop();

    // A dual-control account's secret is sealed to its public key, not under the root key.
    const custodian = generateCustodianKeyPair();
    const store = await createSqliteStore(join(dataDir, 'breakglass.db'));
    const custodial = await store.transaction(async (tx) => {
      const [target] = await tx.catalog.listTargets();
      const [policy] = await tx.catalog.listPolicies();
      const account = await tx.catalog.upsertAccount({ name: 'custodial', targetId: target!.id, policyId: policy!.id, mode: 'prestaged', principal: 'bg_cust', spec: { role: 'bg_cust' }, quorum: undefined });
      await tx.catalog.setAccountSecret(account.id, sealToPublicKey(custodian.publicKey, 'custodial secret', aad.accountSecret(account.id, 1)), 0);
      return account;
    });
    await store.close();

    const oldKey = loadKeyFile(join(dataDir, 'root.key'));
    const before = await sealedValues(dataDir);
    expect(new Set(before.map((r) => r.column))).toEqual(new Set(['targets.admin_secret_sealed', 'accounts.secret_sealed', 'grants.credential_sealed', 'settings.value']));

    const result = await rotateRootKey({ dataDir, inputs: {}, actor: 'local:test' });
    expect(result).toMatchObject({
      op: 'rotation',
      mode: 'keyfile',
      rewrapped: { 'targets.admin_secret_sealed': 1, 'accounts.secret_sealed': 1, 'grants.credential_sealed': 1, 'settings.value': 1 },
      skipped: 1,
    });
    const newKey = loadKeyFile(join(dataDir, 'root.key'));
    expect(newKey.equals(oldKey)).toBe(false);
    expect(leftovers(dataDir)).toEqual([]);

    const after = await sealedValues(dataDir);
    expect(after).toHaveLength(before.length);
    for (const record of after) {
      if (record.id === custodial.id) {
        expect(record.sealed).toBe(before.find((r) => r.id === custodial.id)!.sealed);
        expect(openWithPrivateKey(custodian.privateKey, record.sealed, aad.accountSecret(custodial.id, 1)).toString()).toBe('custodial secret');
        continue;
      }
      expect(opens(newKey, record), `${record.column} ${record.id} opens with the new key`).toBe(true);
      expect(opens(oldKey, record), `${record.column} ${record.id} no longer opens with the old key`).toBe(false);
    }

    h = await startHarness({ dialect: 'sqlite', dataDir, adminToken });
    try {
      const revealed = await h.call(alice, 'POST', `/v1/grants/${jit.body.id}/reveal`);
      expect(revealed.status, JSON.stringify(revealed.body)).toBe(200);
      const session = await tryLogin(cluster, revealed.body.username, revealed.body.password);
      expect(typeof session).not.toBe('string');
      await (session as { end(): Promise<void> }).end();

      const staged = await h.call(alice, 'POST', '/v1/grants', { account: 'pg-breakglass', condition: 'outage', reason: 'after rotation', incident: 'INC-10', ttl: '15m' });
      expect(staged.status, JSON.stringify(staged.body)).toBe(201);
      const credential = (await h.call(alice, 'POST', `/v1/grants/${staged.body.id}/reveal`)).body;
      const login = await tryLogin(cluster, 'bg_rotate', credential.password);
      expect(typeof login).not.toBe('string');
      await (login as { end(): Promise<void> }).end();
      expect((await h.call(adminToken, 'GET', '/v1/audit/verify')).body).toMatchObject({ ok: true });
    } finally {
      await h.stop();
    }

    const rotated = (await auditEvents(dataDir)).find((e) => e.action === 'root-key.rotated');
    expect(rotated).toMatchObject({ actor: 'local:test', details: { mode: 'keyfile', skipped: 1 } });
    const chain = JSON.stringify(await auditEvents(dataDir));
    for (const key of [oldKey, newKey]) {
      expect(chain).not.toContain(key.toString('base64'));
      expect(chain).not.toContain(key.toString('hex'));
    }
  });
});

describe('rotate-root and rekey on the embedded store', () => {
  it('shamir: rotate-root issues new shares before it commits; the old shares stop working', async () => {
    const dataDir = tempDataDir();
    const init = await initDataDir({ dataDir, seal: { mode: 'shamir', unsealShares: 3, unsealThreshold: 2 } });
    const oldShares = init.unsealShares!;
    let delivered: readonly string[] = [];
    const result = await rotateRootKey({
      dataDir,
      inputs: shareInputs(oldShares),
      deliverShares: (shares) => {
        // Delivered while the store is still on the old key: the journal is written, nothing committed.
        expect(existsSync(join(dataDir, 'root-key.pending.json'))).toBe(true);
        delivered = shares;
      },
    });
    expect(result.unsealShares).toEqual(delivered);
    expect(delivered).toHaveLength(3);

    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
    try {
      const refused = await call(server.url, 'POST', '/v1/sys/unseal', { body: { share: oldShares[0] } });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toMatch(/another set/);
      expect((await unsealOver(server.url, delivered.slice(1))).body.sealed).toBe(false);
      expect((await call(server.url, 'GET', '/v1/audit/verify', { token: init.adminToken })).body).toMatchObject({ ok: true });
    } finally {
      await server.close();
    }
  });

  it('shamir rekey: new shares for the same root key; old shares stop working, new ones work', async () => {
    const dataDir = tempDataDir();
    const init = await initDataDir({ dataDir, seal: { mode: 'shamir', unsealShares: 3, unsealThreshold: 2 } });
    const oldShares = init.unsealShares!;
    const check = JSON.parse(readFileSync(join(dataDir, 'root-key.json'), 'utf8')).check;
    let delivered: readonly string[] = [];
    const result = await rekeyRootKey({ dataDir, inputs: shareInputs(oldShares), seal: { mode: 'shamir', unsealShares: 4, unsealThreshold: 3 }, deliverShares: (s) => void (delivered = s) });
    expect(result).toMatchObject({ op: 'rekey', previousMode: 'shamir', mode: 'shamir' });
    expect(delivered).toHaveLength(4);
    const descriptor = JSON.parse(readFileSync(join(dataDir, 'root-key.json'), 'utf8'));
    expect(descriptor).toMatchObject({ threshold: 3, shares: 4, check }); // same root key

    // Old shares, offline and online, no longer work.
    await expect(rotateRootKey({ dataDir, inputs: shareInputs(oldShares), deliverShares: () => undefined })).rejects.toThrow(/another set/);
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
    try {
      for (const share of oldShares) expect((await call(server.url, 'POST', '/v1/sys/unseal', { body: { share } })).status).toBe(400);
      expect(server.sealStatus().progress).toBe(0);
      expect((await unsealOver(server.url, delivered.slice(0, 3))).body.sealed).toBe(false);
      expect((await call(server.url, 'GET', '/v1/accounts', { token: init.adminToken })).status).toBe(200);
    } finally {
      await server.close();
    }
    const rekeyed = (await auditEvents(dataDir)).find((e) => e.action === 'root-key.rekeyed');
    expect(rekeyed?.details).toMatchObject({ mode: 'shamir', threshold: 3, shares: 4, previousMode: 'shamir' });
  });

  it('rekey keyfile → passphrase: root.key is gone, the passphrase opens the same key; then a new passphrase replaces it', async () => {
    const dataDir = tempDataDir();
    const { adminToken } = await initDataDir({ dataDir });
    const oldDescriptor = readFileSync(join(dataDir, 'root-key.json'), 'utf8');
    await rekeyRootKey({ dataDir, inputs: {}, seal: { mode: 'passphrase' }, newPassphrase: () => Promise.resolve(passphrase) });
    expect(existsSync(join(dataDir, 'root.key'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dataDir, 'root-key.json'), 'utf8')).seal).toBe('passphrase');
    const open = { passphrase: () => Promise.resolve(passphrase) };
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: open });
    expect((await call(server.url, 'GET', '/v1/accounts', { token: adminToken })).status).toBe(200);
    await server.close();

    const next = 'another passphrase, also long';
    await expect(rekeyRootKey({ dataDir, inputs: open, newPassphrase: () => Promise.resolve('too short') })).rejects.toThrow(/12 characters/);
    expect(leftovers(dataDir)).toEqual([]);
    await rekeyRootKey({ dataDir, inputs: open, newPassphrase: () => Promise.resolve(next) });
    await expect(startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: open })).rejects.toThrow(/wrong passphrase/);
    const again = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: { passphrase: () => Promise.resolve(next) } });
    await again.close();

    // HA: an instance still holding the old root-key.json refuses to start.
    const stale = tempDataDir();
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(stale, { recursive: true });
    copyFileSync(join(dataDir, 'breakglass.db'), join(stale, 'breakglass.db'));
    writeFileSync(join(stale, 'root-key.json'), oldDescriptor, { mode: 0o600 });
    await expect(startServer({ dataDir: stale, port: 0, host: '127.0.0.1', logger: false })).rejects.toThrow(/not the store's current root key sealing/);
  });

  it('crash after the store commit: the next start finishes the rotation (roll forward)', async () => {
    const dataDir = tempDataDir();
    const { adminToken } = await initDataDir({ dataDir });
    const oldKey = loadKeyFile(join(dataDir, 'root.key'));
    await expect(
      rotateRootKey({
        dataDir,
        inputs: {},
        afterCommit: () => {
          throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    // The store is on the new key; the old key file is still in place, the new one staged.
    expect(loadKeyFile(join(dataDir, 'root.key')).equals(oldKey)).toBe(true);
    expect(existsSync(join(dataDir, 'root.key.new'))).toBe(true);
    expect(existsSync(join(dataDir, 'root-key.pending.json'))).toBe(true);
    const staged = loadKeyFile(join(dataDir, 'root.key.new'));

    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
    try {
      expect((await call(server.url, 'GET', '/v1/audit/verify', { token: adminToken })).body).toMatchObject({ ok: true });
    } finally {
      await server.close();
    }
    expect(loadKeyFile(join(dataDir, 'root.key')).equals(staged)).toBe(true);
    expect(leftovers(dataDir)).toEqual([]);
    for (const record of await sealedValues(dataDir)) expect(opens(staged, record)).toBe(true);
  });

  it('crash before the store commit: the next start discards the staged material (roll back)', async () => {
    const dataDir = tempDataDir();
    const { adminToken } = await initDataDir({ dataDir });
    const oldKey = loadKeyFile(join(dataDir, 'root.key'));
    // What a crash between staging and commit leaves: staged files and a journal the store never confirmed.
    writeFileSync(join(dataDir, 'root.key.new'), `${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o600 });
    writeFileSync(join(dataDir, 'root-key.new.json'), '{}', { mode: 0o600 });
    writeFileSync(
      join(dataDir, 'root-key.pending.json'),
      JSON.stringify({ version: 1, op: 'rotation', sealId: 'never-committed-seal-id', previousSealId: storeSealId(dataDir), install: [['root.key.new', 'root.key'], ['root-key.new.json', 'root-key.json']], remove: [] }),
    );
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
    try {
      expect((await call(server.url, 'GET', '/v1/accounts', { token: adminToken })).status).toBe(200);
    } finally {
      await server.close();
    }
    expect(loadKeyFile(join(dataDir, 'root.key')).equals(oldKey)).toBe(true);
    expect(leftovers(dataDir)).toEqual([]);
  });

  it('crash after the commit, then started against the wrong (empty) store: the staged key is kept, nothing is rolled back', async () => {
    const dataDir = tempDataDir();
    await initDataDir({ dataDir });
    await expect(
      rotateRootKey({
        dataDir,
        inputs: {},
        afterCommit: () => {
          throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    const { renameSync } = await import('node:fs');
    // The real store is elsewhere (e.g. PostgreSQL and BREAKGLASS_DATABASE_URL forgotten).
    renameSync(join(dataDir, 'breakglass.db'), join(dataDir, 'real-store.db'));
    await expect(startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false })).rejects.toThrow(/does not show its outcome/);
    expect(existsSync(join(dataDir, 'root.key.new'))).toBe(true);
    expect(existsSync(join(dataDir, 'root-key.pending.json'))).toBe(true);
  });

  it('a rotation refuses while a server runs on the data dir, and a server refuses while a rotation runs', async () => {
    const dataDir = tempDataDir();
    await initDataDir({ dataDir });
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
    await expect(rotateRootKey({ dataDir, inputs: {} })).rejects.toThrow(/server \(pid \d+\) is running/);
    await server.close();
    expect(leftovers(dataDir)).toEqual([]);

    writeFileSync(join(dataDir, 'root-key.lock'), JSON.stringify({ pid: process.pid, op: 'rotation' }));
    await expect(startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false })).rejects.toThrow(/rotation is running/);
    // A lock left by a dead process is stale and ignored.
    writeFileSync(join(dataDir, 'root-key.lock'), JSON.stringify({ pid: 2 ** 22 + 7, op: 'rotation' }));
    const started = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
    await started.close();
  });

  it('a share presented to a grant still waiting for its quorum, and an alert channel\'s secret, are rewrapped with the rest, each bound to what it belongs to', async () => {
    const dataDir = tempDataDir();
    await initDataDir({ dataDir });
    const oldKey = loadKeyFile(join(dataDir, 'root.key'));
    const db = new Database(join(dataDir, 'breakglass.db'));
    // The rows a waiting dual-control grant has (foreign keys off: only the share matters here).
    db.pragma('foreign_keys = OFF');
    db.prepare("insert into custodian_keys (account_id, kid, public_key, threshold, shares, generation, created_at) values ('acc_v', 'kid1', 'pk', 2, '[]', 3, 0)").run();
    db.prepare(
      "insert into grants (id, account_id, requester_id, requester_name, condition, reason, incident, state, mode, created_at, expires_at) values ('gr_wait', 'acc_v', 'usr_a', 'alice', 'outage', 'r', 'INC-1', 'awaiting-quorum', 'prestaged', 0, 1)",
    ).run();
    const sealed = sealWithRootKey(oldKey, 'share of carol', aad.pendingShare(asGrantId('gr_wait'), 'carol', 3));
    db.prepare("insert into pending_shares (grant_id, holder, share_sealed, presented_at) values ('gr_wait', 'carol', ?, 0)").run(sealed);
    // An alert channel's secret (a webhook key) is sealed the same way.
    db.prepare("insert into alert_channels (name, type, settings, secret_sealed) values ('hook', 'webhook', '{}', ?)").run(sealWithRootKey(oldKey, 'hook key', aad.channelSecret('hook')));
    db.close();

    const result = await rotateRootKey({ dataDir, inputs: {} });
    expect(result.rewrapped).toMatchObject({ 'pending_shares.share_sealed': 1, 'alert_channels.secret_sealed': 1 });
    const hook = (await sealedValues(dataDir)).find((r) => r.column === 'alert_channels.secret_sealed')!;
    expect(openWithRootKey(loadKeyFile(join(dataDir, 'root.key')), hook.sealed, aad.channelSecret('hook')).toString()).toBe('hook key');
    const newKey = loadKeyFile(join(dataDir, 'root.key'));
    const share = (await sealedValues(dataDir)).find((r) => r.column === 'pending_shares.share_sealed')!;
    expect(share).toMatchObject({ id: 'gr_wait', holder: 'carol', version: 3 });
    expect(openWithRootKey(newKey, share.sealed, aad.pendingShare(asGrantId('gr_wait'), 'carol', 3)).toString()).toBe('share of carol');
    expect(opens(oldKey, share)).toBe(false);
  });

  it('the alert acknowledgement-link key (a sealed setting) is rewrapped with the rest', async () => {
    const dataDir = tempDataDir();
    await initDataDir({ dataDir });
    const oldKey = loadKeyFile(join(dataDir, 'root.key'));
    const db = new Database(join(dataDir, 'breakglass.db'));
    db.prepare("insert into settings (key, value) values ('alert.ack-key.sealed', ?)").run(sealWithRootKey(oldKey, 'link key', aad.alertAckKey()));
    db.close();
    const result = await rotateRootKey({ dataDir, inputs: {} });
    expect(result.rewrapped).toMatchObject({ 'settings.value': 2 });
    const reopened = new Database(join(dataDir, 'breakglass.db'));
    const { value } = reopened.prepare("select value from settings where key = 'alert.ack-key.sealed'").get() as { value: string };
    reopened.close();
    expect(openWithRootKey(loadKeyFile(join(dataDir, 'root.key')), value, aad.alertAckKey()).toString()).toBe('link key');
  });

  // issue 14 (enroll)
  it('a person\'s TOTP secret (local credentials) is rewrapped with the rest, bound to its user', async () => {
    const dataDir = tempDataDir();
    await initDataDir({ dataDir });
    const oldKey = loadKeyFile(join(dataDir, 'root.key'));
    const at = new Date('2030-01-01T00:00:00.000Z');
    const store = await createSqliteStore(join(dataDir, 'breakglass.db'));
    const userId = await store.transaction(async (tx) => {
      const user = await tx.users.upsert({ name: 'alice', roles: ['responder'] }, at);
      const totpSecretSealed = sealWithRootKey(oldKey, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', aad.localTotpSecret(user.id));
      await tx.localCredentials.put({ userId: user.id, passwordHash: '$argon2id$x', totpSecretSealed, recoveryHashes: [] }, at);
      return user.id;
    });
    await store.close();
    const result = await rotateRootKey({ dataDir, inputs: {} });
    expect(result.rewrapped).toMatchObject({ 'local_credentials.totp_secret_sealed': 1 });
    const record = (await sealedValues(dataDir)).find((r) => r.column === 'local_credentials.totp_secret_sealed')!;
    expect(openWithRootKey(loadKeyFile(join(dataDir, 'root.key')), record.sealed, aad.localTotpSecret(userId)).toString()).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    expect(opens(oldKey, record)).toBe(false);
  });

  it('a root-key envelope in a column the rotation does not know aborts it; nothing changes', async () => {
    const dataDir = tempDataDir();
    await initDataDir({ dataDir });
    const oldKey = loadKeyFile(join(dataDir, 'root.key'));
    const sealedAudit = (await sealedValues(dataDir)).find((r) => r.column === 'settings.value')!.sealed;
    const db = new Database(join(dataDir, 'breakglass.db'));
    db.exec('create table extra_secrets (id text primary key, value text)');
    db.prepare('insert into extra_secrets values (?, ?)').run('x', sealedAudit);
    db.close();
    await expect(rotateRootKey({ dataDir, inputs: {} })).rejects.toThrow(/extra_secrets\.value look sealed under the root key/);
    expect(loadKeyFile(join(dataDir, 'root.key')).equals(oldKey)).toBe(true);
    expect(leftovers(dataDir)).toEqual([]);
    for (const record of await sealedValues(dataDir)) expect(opens(oldKey, record)).toBe(true);
  });
});

describe.skipIf(sharedPg.skip)('rotate-root on the PostgreSQL store', () => {
  it('rewraps every sealed value in one transaction; an envelope in an unknown column aborts it first', async () => {
    const db = await createStoreDatabase();
    try {
      const dataDir = tempDataDir();
      const { adminToken } = await initDataDir({ dataDir, databaseUrl: db.url });
      const oldKey = loadKeyFile(join(dataDir, 'root.key'));
      let store = await createPostgresStore(db.url, { poolSize: 2 });
      const target = await store.transaction(async (tx) => {
        const created = await tx.catalog.upsertTarget({ name: 't1', type: 'postgres', settings: {}, adminSecretSealed: undefined });
        return tx.catalog.upsertTarget({ name: 't1', type: 'postgres', settings: {}, adminSecretSealed: sealWithRootKey(oldKey, 'target password', aad.targetAdmin(created.id)) });
      });
      // An instance still connected to the store, on any machine, blocks the rotation.
      await expect(rotateRootKey({ dataDir, databaseUrl: db.url, inputs: {} })).rejects.toThrow(/still connected to the PostgreSQL store/);
      await store.close();
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query('create table extra_secrets (id text primary key, value text)');
        await client.query('insert into extra_secrets values ($1, $2)', ['x', target.adminSecretSealed]);
        await expect(rotateRootKey({ dataDir, databaseUrl: db.url, inputs: {} })).rejects.toThrow(/extra_secrets\.value look sealed under the root key/);
        expect(loadKeyFile(join(dataDir, 'root.key')).equals(oldKey)).toBe(true);
        await client.query('drop table extra_secrets');
      } finally {
        await client.end();
      }

      const result = await rotateRootKey({ dataDir, databaseUrl: db.url, inputs: {} });
      expect(result.rewrapped).toMatchObject({ 'targets.admin_secret_sealed': 1, 'settings.value': 1 });
      const newKey = loadKeyFile(join(dataDir, 'root.key'));
      store = await createPostgresStore(db.url, { poolSize: 2, applicationName: 'bg-test' });
      const values = await store.transaction((tx) => tx.sealedValues.list([sealedSetting]));
      await store.close();
      expect(values).toHaveLength(2);
      for (const record of values) {
        expect(opens(newKey, record)).toBe(true);
        expect(opens(oldKey, record)).toBe(false);
      }
      expect(openWithRootKey(newKey, values.find((v) => v.id === target.id)!.sealed, aad.targetAdmin(target.id)).toString()).toBe('target password');

      const server = await startServer({ dataDir, databaseUrl: db.url, port: 0, host: '127.0.0.1', logger: false });
      try {
        expect((await call(server.url, 'GET', '/v1/audit/verify', { token: adminToken })).body).toMatchObject({ ok: true });
      } finally {
        await server.close();
      }
    } finally {
      await db.drop();
    }
  });
});

describe('operator rekey and rotate-root from the CLI', () => {
  it('keyfile → shamir, then a rotation with the shares on stdin; the server unseals with the newest shares only', async () => {
    const dataDir = tempDataDir();
    const init = runCliProcess(['init', '--data-dir', dataDir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    const adminToken = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;

    const rekey = runCliProcess(['operator', 'rekey', '--data-dir', dataDir, '--seal', 'shamir', '--unseal-shares', '3', '--unseal-threshold', '2', '--json']);
    expect(rekey.code, rekey.stderr).toBe(0);
    const first = JSON.parse(rekey.stdout) as { op: string; unsealShares: string[] };
    expect(first).toMatchObject({ op: 'rekey' });
    expect(first.unsealShares).toHaveLength(3);
    expect(existsSync(join(dataDir, 'root.key'))).toBe(false);

    const port = await freePort();
    const running = await serveProcess(dataDir, port);
    try {
      const refused = runCliProcess(['operator', 'rotate-root', '--data-dir', dataDir], {}, `${first.unsealShares[0]}\n${first.unsealShares[1]}\n`);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/is running/);
    } finally {
      await running.stop();
    }

    const tooFew = runCliProcess(['operator', 'rotate-root', '--data-dir', dataDir], {}, `${first.unsealShares[0]}\n`);
    expect(tooFew.code).toBe(2);
    expect(tooFew.stderr).toMatch(/2 current unseal shares are needed/);

    const rotate = runCliProcess(['operator', 'rotate-root', '--data-dir', dataDir], {}, `${first.unsealShares[0]}\n${first.unsealShares[2]}\n`);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/root key rotated/);
    const newShares = [...rotate.stdout.matchAll(/bgunseal1\.\S+/g)].map((m) => m[0]);
    expect(newShares).toHaveLength(3);
    expect(rotate.stdout.indexOf(newShares[0]!)).toBeLessThan(rotate.stdout.indexOf('root key rotated'));

    const server = await serveProcess(dataDir, port);
    try {
      const env = { BREAKGLASS_ADDR: server.url };
      expect(runCliProcess(['operator', 'unseal'], env, first.unsealShares[1]).code).toBe(2);
      for (const share of newShares.slice(0, 2)) expect(runCliProcess(['operator', 'unseal'], env, share).code).toBe(0);
      expect((await call(server.url, 'GET', '/v1/accounts', { token: adminToken })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

/** The seal id the store records now (null when none), read directly from the SQLite file. */
function storeSealId(dataDir: string): string | null {
  const db = new Database(join(dataDir, 'breakglass.db'), { readonly: true });
  try {
    const row = db.prepare("select value from settings where key = 'root-key.seal-id'").get() as { value: string } | undefined;
    return row?.value ?? null;
  } finally {
    db.close();
  }
}
