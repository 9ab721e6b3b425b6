/**
 * `breakglass user enroll` (issue 14, part 2) against the real HTTP app on the test bed: the CLI's
 * fetch goes to `app.inject`, so the command, the route and the use case run as in production.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serverSideUnused } from '../../../test/support/cli-deps.js';
import { createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { buildHttpApp, type App } from '../../http/http-app.js';
import { inviteUser } from '../../modules/identity/enrolment.js';
import { runCli, type CliDeps } from '../program.js';

const password = 'correct horse battery staple';

describe('breakglass user enroll', () => {
  let bed: TestBed;
  let app: App;
  beforeEach(async () => {
    bed = await createTestBed();
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  /** The CLI's fetch, answered by the app in this process. */
  const viaApp: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const response = await app.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      ...(typeof init?.body === 'string' ? { payload: init.body } : {}),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers.set(name, String(value));
    return new Response(response.statusCode === 204 ? null : response.body, { status: response.statusCode, headers });
  };

  const run = async (args: string[], stdin: { text?: string; tty?: boolean; prompts?: string[] } = {}) => {
    let stdout = '';
    let stderr = '';
    const prompts = [...(stdin.prompts ?? [])];
    const deps: CliDeps = {
      ...serverSideUnused,
      env: {},
      stdout: (text) => void (stdout += text),
      stderr: (text) => void (stderr += text),
      fetch: viaApp,
      stdoutIsTTY: false,
      stdinIsTTY: stdin.tty ?? false,
      readStdin: () => Promise.resolve(stdin.text ?? ''),
      promptSecret: () => Promise.resolve(prompts.shift() ?? ''),
    };
    const code = await runCli(['node', 'breakglass', ...args], deps);
    return { code, stdout, stderr };
  };
  const invite = async () => (await inviteUser(bed.ctx, bed.actors.admin, 'alice')).code;

  it('--json prints exactly {totpSecret, otpauthUri, recoveryCodes}; the password comes from stdin, not argv', async () => {
    const result = await run(['user', 'enroll', '--user', 'alice', '--code', await invite(), '--password-stdin', '--json'], { text: `${password}\n` });
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toStrictEqual(['otpauthUri', 'recoveryCodes', 'totpSecret']);
    expect(answer['totpSecret']).toMatch(/^[A-Z2-7]{32}$/);
    expect(answer['otpauthUri']).toMatch(/^otpauth:\/\/totp\//);
    expect(answer['recoveryCodes']).toHaveLength(10);
    expect(result.stdout + result.stderr).not.toContain(password);
    // The trailing newline of `echo` is not part of the password.
    const stored = await bed.store.transaction(async (tx) => tx.localCredentials.find(bed.actors.alice.id));
    const { verifyPassword } = await import('../../modules/signin/password-hash.js');
    expect(await verifyPassword(stored!.passwordHash, password)).toBe(true);
  });

  it('human output shows the secret, the URI and the recovery codes once, and what to do with them', async () => {
    const result = await run(['user', 'enroll', '--user', 'alice', '--code', await invite(), '--password-stdin'], { text: password });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('authenticator app');
    expect(result.stdout).toMatch(/secret: [A-Z2-7]{32}/);
    expect(result.stdout + result.stderr).toContain('Shown once');
  });

  it('on a terminal the password is asked twice without echo; two different answers send nothing', async () => {
    const code = await invite();
    const differ = await run(['user', 'enroll', '--user', 'alice', '--code', code, '--password-stdin'], { tty: true, prompts: [password, `${password}x`] });
    expect(differ.code).toBe(2);
    expect(differ.stderr).toContain('differ');
    const same = await run(['user', 'enroll', '--user', 'alice', '--code', code, '--password-stdin', '--json'], { tty: true, prompts: [password, password] });
    expect(same.code, same.stderr).toBe(0);
  });

  it('an empty stdin, or no --password-stdin, is a usage error that says what to do; nothing is sent', async () => {
    const code = await invite();
    const empty = await run(['user', 'enroll', '--user', 'alice', '--code', code, '--password-stdin'], { text: '\n' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no password on stdin');
    const without = await run(['user', 'enroll', '--user', 'alice', '--code', code]);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain('--password-stdin');
    expect(await bed.audit()).not.toContain('user.enrolled');
  });

  it('a used code and a weak password exit non-zero with a message naming the next step', async () => {
    const code = await invite();
    const weak = await run(['user', 'enroll', '--user', 'alice', '--code', code, '--password-stdin'], { text: 'short' });
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('at least 15 characters');
    expect(weak.stderr).not.toContain('short\n');
    expect((await run(['user', 'enroll', '--user', 'alice', '--code', code, '--password-stdin', '--json'], { text: password })).code).toBe(0);
    const used = await run(['user', 'enroll', '--user', 'alice', '--code', code, '--password-stdin'], { text: password });
    expect(used.code).toBe(5);
    expect(used.stderr).toContain('breakglass user invite');
  });

  it('--help has an example with --password-stdin', async () => {
    const help = await run(['user', 'enroll', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Example:');
    expect(help.stdout).toContain('--password-stdin');
  });
});
