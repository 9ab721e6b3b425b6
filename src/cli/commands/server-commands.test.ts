/** `serve` listens where the README says: flags, then BREAKGLASS_PORT/HOST/TLS_*, then the defaults. */
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from '../program.js';

type ServeCall = Parameters<CliDeps['serve']>[0];

async function serve(args: string[], env: Record<string, string> = {}) {
  const calls: ServeCall[] = [];
  let stderr = '';
  const deps: CliDeps = {
    init: () => Promise.reject(new Error('unused')),
    serve: (options) => (calls.push(options), Promise.resolve(options.onListening('http://127.0.0.1:8420'))),
    verifyFile: () => Promise.reject(new Error('unused')),
    verifyDataDir: () => Promise.reject(new Error('unused')),
    env,
    stdout: () => undefined,
    stderr: (text) => void (stderr += text),
    fetch: () => Promise.reject(new Error('unused')),
    stdoutIsTTY: false,
  };
  const code = await runCli(['node', 'breakglass', 'serve', ...args], deps);
  return { code, call: calls[0], stderr };
}

describe('serve: where and how it listens', () => {
  it('HTTP hygiene: serve honours BREAKGLASS_PORT and BREAKGLASS_HOST; flags win', async () => {
    const fromEnv = await serve([], { BREAKGLASS_PORT: '9443', BREAKGLASS_HOST: '127.0.0.2' });
    expect(fromEnv.call).toMatchObject({ port: 9443, host: '127.0.0.2' });
    expect((await serve(['--port', '9000', '--host', '::1'], { BREAKGLASS_PORT: '9443', BREAKGLASS_HOST: '0.0.0.0' })).call).toMatchObject({ port: 9000, host: '::1' });
    expect((await serve([])).call).toMatchObject({ port: 8420, host: '127.0.0.1' });
    const bad = await serve([], { BREAKGLASS_PORT: 'https' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('BREAKGLASS_PORT');
  });

  it('HTTP hygiene: serve --tls-cert FILE --tls-key FILE (or BREAKGLASS_TLS_CERT/_KEY) serves HTTPS; a lone one is refused', async () => {
    expect((await serve(['--tls-cert', '/etc/bg/tls.crt', '--tls-key', '/etc/bg/tls.key'])).call?.tls).toEqual({ certFile: '/etc/bg/tls.crt', keyFile: '/etc/bg/tls.key' });
    expect((await serve([], { BREAKGLASS_TLS_CERT: '/c.pem', BREAKGLASS_TLS_KEY: '/k.pem' })).call?.tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem' });
    const lone = await serve(['--tls-cert', '/c.pem']);
    expect(lone.code).toBe(2);
    expect(lone.call).toBeUndefined();
  });

  it('HTTP hygiene: a loud warning when listening beyond loopback without TLS', async () => {
    const open = await serve(['--host', '0.0.0.0']);
    expect(open.stderr).toMatch(/WARNING: listening on 0\.0\.0\.0 without TLS/);
    expect((await serve(['--host', '0.0.0.0', '--tls-cert', '/c.pem', '--tls-key', '/k.pem'])).stderr).toBe('');
    expect((await serve(['--host', '127.0.0.1'])).stderr).toBe('');
  });
});
