/**
 * The pkcs11 seal against a real SoftHSM2 token: the wrapping key is generated inside the HSM,
 * sensitive and non-extractable; the root key is wrapped with CKM_AES_GCM; init + serve +
 * restart; a wrong PIN and an altered blob are refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initDataDir } from '../../src/app/init.js';
import { rotateRootKey } from '../../src/app/root-key-commands.js';
import { startServer } from '../../src/app/server.js';
import { generateRootKey } from '../../src/crypto/root-key-check.js';
import { createHsmWrappingKey, hsmKeyAttributes, hsmUnwrapRootKey, hsmWrapRootKey } from '../../src/crypto/root-key-pkcs11.js';
import { requireService } from '../support/integration.js';
import { freePort, runCliProcess, serveProcess } from '../support/cli-process.js';
import { createSoftHsmToken, softHsmAvailable, softHsmModule, type SoftHsmToken } from '../support/softhsm.js';
import { auditEvents, call, tempDataDir } from './root-key-support.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const hsm = await requireService('SoftHSM2 (softhsm2-util, /usr/lib/softhsm/libsofthsm2.so)', softHsmAvailable);

describe.skipIf(hsm.skip)('pkcs11 seal (SoftHSM2)', () => {
  let token: SoftHsmToken;
  beforeAll(() => {
    token = createSoftHsmToken();
  });
  afterAll(() => token?.remove());

  const location = () => ({ module: softHsmModule, token: token.label, keyLabel: 'bg-test-wrap' });

  it('round trip: a key made inside the HSM wraps and unwraps the root key with CKM_AES_GCM', () => {
    const ref = createHsmWrappingKey(location(), token.pin);
    const rootKey = generateRootKey();
    const wrapped = hsmWrapRootKey(ref, token.pin, rootKey);
    expect(wrapped.mechanism).toBe('CKM_AES_GCM');
    expect(Buffer.from(wrapped.ct, 'base64')).toHaveLength(48);
    expect(hsmUnwrapRootKey(ref, token.pin, wrapped).equals(rootKey)).toBe(true);

    const ct = Buffer.from(wrapped.ct, 'base64');
    ct[3] = (ct[3] ?? 0) ^ 0x40;
    expect(() => hsmUnwrapRootKey(ref, token.pin, { ...wrapped, ct: ct.toString('base64') })).toThrow(/does not open the wrapped root key/);
    const other = createHsmWrappingKey(location(), token.pin);
    expect(() => hsmUnwrapRootKey(other, token.pin, wrapped)).toThrow(/does not open/);
  });

  it('the wrapping key is non-extractable and sensitive: the HSM never returns its value', () => {
    const ref = createHsmWrappingKey(location(), token.pin);
    expect(hsmKeyAttributes(ref, token.pin)).toEqual({ extractable: false, sensitive: true, neverExtractable: true, local: true, valueHidden: true });
  });

  it('a wrong PIN is refused clearly', () => {
    const ref = createHsmWrappingKey(location(), token.pin);
    expect(() => hsmWrapRootKey(ref, `${token.pin}0`, generateRootKey())).toThrow(/refused the PIN/);
  });

  it('init + serve + restart + rotate-root with the seal in the HSM', async () => {
    const dataDir = tempDataDir();
    const pin = () => Promise.resolve(token.pin);
    const { adminToken } = await initDataDir({
      dataDir,
      seal: { mode: 'pkcs11', pkcs11Module: softHsmModule, pkcs11Token: token.label },
      secrets: { pkcs11Pin: pin },
    });
    const descriptor = JSON.parse(readFileSync(join(dataDir, 'root-key.json'), 'utf8'));
    expect(descriptor).toMatchObject({ seal: 'pkcs11', module: softHsmModule, token: token.label, keyLabel: 'breakglass-root-wrap', wrapped: { mechanism: 'CKM_AES_GCM' } });
    expect(readFileSync(join(dataDir, 'root-key.json'), 'utf8')).not.toContain(token.pin);
    expect(hsmKeyAttributes(descriptor, token.pin)).toMatchObject({ extractable: false, valueHidden: true });

    await expect(startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false })).rejects.toThrow(/BREAKGLASS_PKCS11_PIN/);
    await expect(startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: { pkcs11Pin: () => Promise.resolve('000000') } })).rejects.toThrow(
      /refused the PIN/,
    );
    for (let i = 0; i < 2; i++) {
      const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: { pkcs11Pin: pin } });
      expect(server.sealStatus()).toMatchObject({ sealed: false, mode: 'pkcs11' });
      expect((await call(server.url, 'GET', '/v1/accounts', { token: adminToken })).status).toBe(200);
      await server.close();
    }

    const rotated = await rotateRootKey({ dataDir, inputs: { pkcs11Pin: pin } });
    expect(rotated).toMatchObject({ op: 'rotation', mode: 'pkcs11' });
    const after = JSON.parse(readFileSync(join(dataDir, 'root-key.json'), 'utf8'));
    expect(after.keyId).toBe(descriptor.keyId); // same HSM key, new root key
    expect(after.wrapped.ct).not.toBe(descriptor.wrapped.ct);
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: { pkcs11Pin: pin } });
    expect((await call(server.url, 'GET', '/v1/audit/verify', { token: adminToken })).body).toMatchObject({ ok: true });
    await server.close();
    const actions = (await auditEvents(dataDir)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['root-key.sealed', 'root-key.unsealed', 'root-key.rotated']));
  });

  it('an altered root-key.json is refused at start', async () => {
    const dataDir = tempDataDir();
    const pin = () => Promise.resolve(token.pin);
    await initDataDir({ dataDir, seal: { mode: 'pkcs11', pkcs11Module: softHsmModule, pkcs11Token: token.label, pkcs11KeyLabel: 'bg-alter' }, secrets: { pkcs11Pin: pin } });
    const file = join(dataDir, 'root-key.json');
    const descriptor = JSON.parse(readFileSync(file, 'utf8'));
    const iv = Buffer.from(descriptor.wrapped.iv, 'base64');
    iv[0] = (iv[0] ?? 0) ^ 1;
    writeFileSync(file, JSON.stringify({ ...descriptor, wrapped: { ...descriptor.wrapped, iv: iv.toString('base64') } }));
    await expect(startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, unsealInputs: { pkcs11Pin: pin } })).rejects.toThrow(/does not open/);
  });

  it('the CLI: init --seal pkcs11 and serve with BREAKGLASS_PKCS11_PIN', async () => {
    const dataDir = tempDataDir();
    const env = { ...token.env, BREAKGLASS_PKCS11_PIN: token.pin };
    const init = runCliProcess(['init', '--data-dir', dataDir, '--seal', 'pkcs11', '--pkcs11-module', softHsmModule, '--pkcs11-token', token.label, '--pkcs11-key-label', 'bg-cli', '--json'], env);
    expect(init.code, init.stderr).toBe(0);
    const missing = runCliProcess(['init', '--data-dir', tempDataDir(), '--seal', 'pkcs11', '--pkcs11-token', token.label], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--pkcs11-module/);
    const server = await serveProcess(dataDir, await freePort(), env);
    try {
      const adminToken = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
      expect((await call(server.url, 'GET', '/v1/accounts', { token: adminToken })).status).toBe(200);
      expect(server.output()).not.toContain(token.pin);
    } finally {
      await server.stop();
    }
  });
});
