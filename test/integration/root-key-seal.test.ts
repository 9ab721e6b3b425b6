/**
 * Root key seals chosen at init: keyfile (quick start) and passphrase (argon2id). Each is
 * initialised, served and restarted for real; a wrong passphrase is refused clearly. (shamir
 * and pkcs11: root-key-shamir.test.ts, root-key-pkcs11.test.ts.)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isInitialised } from '../../src/app/data-dir.js';
import { initDataDir } from '../../src/app/init.js';
import { startServer } from '../../src/app/server.js';
import { freePort, runCliProcess, serveProcess } from '../support/cli-process.js';
import { auditEvents, call, passphrase, tempDataDir } from './root-key-support.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const secretInputs = (value: string) => ({ passphrase: () => Promise.resolve(value) });

async function serveAndUse(dataDir: string, token: string, unsealInputs = {}) {
  const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs });
  try {
    expect(server.sealStatus().sealed).toBe(false);
    expect(await call(server.url, 'GET', '/v1/accounts', { token })).toEqual({ status: 200, body: { accounts: [] } });
    expect((await call(server.url, 'GET', '/v1/audit/verify', { token })).body).toMatchObject({ ok: true });
    return (await call(server.url, 'GET', '/v1/sys/seal-status')).body;
  } finally {
    await server.close();
  }
}

describe('keyfile seal (quick start)', () => {
  it('init + serve + restart: root.key (0600) beside a root-key.json with no secret', async () => {
    const dataDir = tempDataDir();
    const { adminToken, seal } = await initDataDir({ dataDir });
    expect(seal).toBe('keyfile');
    expect(statSync(join(dataDir, 'root.key')).mode & 0o777).toBe(0o600);
    const key = readFileSync(join(dataDir, 'root.key'), 'utf8').trim();
    const descriptor = JSON.parse(readFileSync(join(dataDir, 'root-key.json'), 'utf8'));
    expect(Object.keys(descriptor).sort()).toEqual(['check', 'id', 'seal', 'version']);
    expect(JSON.stringify(descriptor)).not.toContain(key);
    expect(await serveAndUse(dataDir, adminToken)).toEqual({ sealed: false, mode: 'keyfile', threshold: null, shares: null, progress: 0 });
    await serveAndUse(dataDir, adminToken);
    const actions = (await auditEvents(dataDir)).map((e) => e.action);
    expect(actions.filter((a) => a === 'root-key.unsealed')).toHaveLength(2);
    expect(actions).toContain('root-key.sealed');
  });

  it('a data dir from before seals (root.key only) still starts', async () => {
    const dataDir = tempDataDir();
    const { adminToken } = await initDataDir({ dataDir });
    const { rmSync } = await import('node:fs');
    rmSync(join(dataDir, 'root-key.json'));
    expect(isInitialised(dataDir)).toBe(true);
    await serveAndUse(dataDir, adminToken);
  });

  it('the CLI warns that the key sits beside the data', () => {
    const dataDir = tempDataDir();
    const init = runCliProcess(['init', '--data-dir', dataDir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect(Object.keys(JSON.parse(init.stdout))).toEqual(['adminToken']);
    expect(init.stderr).toMatch(/warning: the root key is in .*root\.key, beside the data/);
  });
});

describe('passphrase seal (argon2id)', () => {
  it('init + serve + restart; the descriptor holds KDF parameters and a wrapped key, no secret', async () => {
    const dataDir = tempDataDir();
    const { adminToken } = await initDataDir({ dataDir, seal: { mode: 'passphrase' }, secrets: secretInputs(passphrase) });
    expect(existsSync(join(dataDir, 'root.key'))).toBe(false);
    const text = readFileSync(join(dataDir, 'root-key.json'), 'utf8');
    const descriptor = JSON.parse(text);
    expect(descriptor).toMatchObject({ version: 1, seal: 'passphrase', kdf: { alg: 'argon2id', m: 65536, t: 3, p: 1 } });
    expect(Buffer.from(descriptor.kdf.salt, 'base64')).toHaveLength(16);
    expect(Object.keys(descriptor.wrapped).sort()).toEqual(['ct', 'iv', 'tag']);
    expect(text).not.toContain(passphrase);
    expect(statSync(join(dataDir, 'root-key.json')).mode & 0o777).toBe(0o600);

    expect((await serveAndUse(dataDir, adminToken, secretInputs(passphrase))).mode).toBe('passphrase');
    await serveAndUse(dataDir, adminToken, secretInputs(passphrase));
  });

  it('a wrong passphrase is refused with a clear error, and so is a missing one', async () => {
    const dataDir = tempDataDir();
    await initDataDir({ dataDir, seal: { mode: 'passphrase' }, secrets: secretInputs(passphrase) });
    await expect(startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: secretInputs(`${passphrase}!`) })).rejects.toMatchObject({
      code: 'crypto',
      message: expect.stringMatching(/wrong passphrase/),
    });
    await expect(startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false })).rejects.toThrow(/BREAKGLASS_PASSPHRASE/);
    // A refused start leaves nothing behind that would block the next one.
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: secretInputs(passphrase) });
    await server.close();
  });

  it('init requires at least 12 characters and creates nothing otherwise', async () => {
    const dataDir = tempDataDir();
    await expect(initDataDir({ dataDir, seal: { mode: 'passphrase' }, secrets: secretInputs('short pass') })).rejects.toMatchObject({ code: 'validation', message: expect.stringMatching(/12 characters/) });
    expect(isInitialised(dataDir)).toBe(false);
  });

  it('the CLI: init and serve with BREAKGLASS_PASSPHRASE; serve exits with a clear error on a wrong one', async () => {
    const dataDir = tempDataDir();
    const init = runCliProcess(['init', '--data-dir', dataDir, '--seal', 'passphrase', '--json'], { BREAKGLASS_PASSPHRASE: passphrase });
    expect(init.code, init.stderr).toBe(0);
    const noSecret = runCliProcess(['init', '--data-dir', tempDataDir(), '--seal', 'passphrase'], { BREAKGLASS_PASSPHRASE: '' });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/set BREAKGLASS_PASSPHRASE/);

    const wrong = runCliProcess(['serve', '--data-dir', dataDir, '--port', String(await freePort())], { BREAKGLASS_PASSPHRASE: 'not the passphrase at all' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/wrong passphrase/);

    const server = await serveProcess(dataDir, await freePort(), { BREAKGLASS_PASSPHRASE: passphrase });
    try {
      const token = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
      expect((await call(server.url, 'GET', '/v1/accounts', { token })).status).toBe(200);
      expect(server.output()).not.toContain(passphrase);
    } finally {
      await server.stop();
    }
  });
});
