/**
 * HTTP hygiene, end to end: `breakglass serve --tls-cert FILE --tls-key FILE` serves HTTPS, and
 * the built CLI trusts the server's certificate through BREAKGLASS_CA_FILE (a self-signed
 * certificate made here with openssl), and refuses it without.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliPath, freePort, runCliProcess } from '../support/cli-process.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!openssl)('HTTPS between the CLI and serve', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let addr: string;
  let token: string;
  let output = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bg-https-'));
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    const init = runCliProcess(['init', '--data-dir', join(dir, 'data'), '--json']);
    expect(init.code, init.stderr).toBe(0);
    token = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    const port = await freePort();
    addr = `https://127.0.0.1:${port}`;
    child = spawn(process.execPath, [cliPath, 'serve', '--data-dir', join(dir, 'data'), '--port', String(port), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')], {
      env: { ...process.env, BREAKGLASS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!output.includes('listening on')) {
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${output}`);
      if (Date.now() > deadline) throw new Error(`serve did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('HTTP hygiene: serve --tls-cert/--tls-key serves HTTPS and the CLI with BREAKGLASS_CA_FILE trusts it', () => {
    expect(output).toContain(`breakglass listening on ${addr}`);
    const env = { BREAKGLASS_ADDR: addr, BREAKGLASS_TOKEN: token };
    const trusted = runCliProcess(['accounts', '--json'], { ...env, BREAKGLASS_CA_FILE: join(dir, 'tls.crt') });
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(JSON.parse(trusted.stdout)).toEqual({ accounts: [] });
    expect(trusted.stderr).not.toContain('unencrypted');

    // Without the CA the certificate is not trusted, and nothing is sent.
    const untrusted = runCliProcess(['accounts', '--json'], env);
    expect(untrusted.code).toBe(6);
    expect(untrusted.stderr).toMatch(/SELF_SIGNED|self[- ]signed|certificate/i);
    // A CA file that cannot be read is a usage error, not a silent fallback.
    const missing = runCliProcess(['accounts', '--json'], { ...env, BREAKGLASS_CA_FILE: join(dir, 'absent.pem') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('BREAKGLASS_CA_FILE');
  });
});
