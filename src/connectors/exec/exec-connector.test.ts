/**
 * The exec connector's protocol handling, with tiny scripts written to a temporary directory:
 * timeouts, malformed answers, output caps, what the script gets to see, redaction, injection.
 * The conformance run against a real target is test/integration/exec-connector.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../errors/index.js';
import { ephemeralPrincipal, type Connector } from '../../ports/index.js';
import { createExecConnector } from './exec-connector.js';

const ALL = { supportsSessionKill: true, supportsNativeExpiry: true, supportsPrestaged: true, supportsEphemeral: true };
const CAPABILITIES_ANSWER = JSON.stringify({ ok: true, capabilities: ALL });

let dir: string;
let scriptCount = 0;

/** A bash script that answers `capabilities` itself and runs `body` for every other operation. */
function script(body: string): string {
  const path = join(dir, `script-${++scriptCount}.sh`);
  const prelude = `#!/bin/bash\nop="\${@: -1}"\nif [ "$op" = capabilities ]; then echo '${CAPABILITIES_ANSWER}'; exit 0; fi\n`;
  writeFileSync(path, `${prelude}${body}\n`, { mode: 0o755 });
  return path;
}

function connector(command: string, options: { timeoutMs?: number; adminSecret?: string; capabilities?: object; args?: string[] } = {}): Connector {
  return createExecConnector({
    type: 'exec',
    name: 'test-script',
    settings: { command, args: options.args ?? [], capabilities: options.capabilities ?? ALL },
    adminSecret: options.adminSecret,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** Alive means running: a zombie waiting for its parent has already exited. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-exec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exec connector protocol', () => {
  it('a timeout kills the whole process group, children that ignore SIGTERM included', async () => {
    const pids = join(dir, 'timeout.pids');
    const path = script(`(trap '' TERM; echo $BASHPID >> ${pids}; while :; do sleep 0.05; done) &\necho $$ >> ${pids}\nsleep 30`);
    const started = Date.now();
    const error = await thrown(connector(path, { timeoutMs: 500 }).prestaged!.disable('bg_slow'));
    const elapsed = Date.now() - started;
    expect(error.code).toBe('target_unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/no answer within 500 ms/);
    // SIGTERM, then SIGKILL after the 1 s grace, because the child ignored SIGTERM.
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(3000);
    const started2 = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(started2).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 100));
    for (const pid of started2) expect(running(pid), `pid ${pid}`).toBe(false);
  });

  it('a script that leaves on SIGTERM is not waited for longer than needed', async () => {
    const started = Date.now();
    const error = await thrown(connector(script('sleep 30'), { timeoutMs: 300 }).prestaged!.inspect('bg_x'));
    expect(error.code).toBe('target_unavailable');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('malformed answers are target_error, never believed', async () => {
    const cases: [string, RegExp][] = [
      ['echo not json', /not one JSON document/],
      [`echo '{"ok":true}'; echo '{"ok":true}'`, /not one JSON document/],
      [`echo '{"ok":true}'`, /malformed answer \(result: /],
      [`echo '{"ok":true,"result":"maybe"}'`, /malformed answer/],
      [`echo '{"ok":"yes","result":"accepted"}'`, /malformed answer/],
      [`printf '{"ok":true,"result":"\\xff"}'`, /not UTF-8/],
      [`echo '{"ok":true,"result":"accepted"}'; exit 1`, /answered ok but exited with code 1/],
    ];
    for (const [body, message] of cases) {
      const error = await thrown(connector(script(body)).prestaged!.verify({ username: 'bg_x', password: 'pw-1' }));
      expect(error.code, body).toBe('target_error');
      expect(error.retryable).toBe(false);
      expect(error.message, body).toMatch(message);
    }
    const inspection = await thrown(connector(script(`echo '{"ok":true,"inspection":{"exists":true,"canLogin":true,"sessions":-1}}'`)).prestaged!.inspect('bg_x'));
    expect(inspection.message).toMatch(/inspection\.sessions/);
    const credential = await thrown(connector(script(`echo '{"ok":true,"credential":{"username":"u"}}'`)).ephemeral!.issue({ grantId: 'gr_1', spec: {}, validUntil: new Date() }));
    expect(credential.message).toMatch(/a credential needs a secret/);
  });

  it('an exit code without an answer is an error; 75 (EX_TEMPFAIL) is retryable', async () => {
    const plain = await thrown(connector(script('echo "db down" >&2; exit 3')).prestaged!.disable('bg_x'));
    expect(plain).toMatchObject({ code: 'target_error', retryable: false });
    expect(plain.message).toMatch(/exited with code 3 without an answer; stderr: db down/);
    const temp = await thrown(connector(script('exit 75')).prestaged!.disable('bg_x'));
    expect(temp).toMatchObject({ code: 'target_unavailable', retryable: true });
    const killed = await thrown(connector(script('kill -SEGV $$')).prestaged!.disable('bg_x'));
    expect(killed.message).toMatch(/killed by SIGSEGV/);
  });

  it("the script's own failure answer decides the code", async () => {
    const answer = (extra: string) => script(`echo '{"ok":false,"error":"nope"${extra}}'`);
    expect(await thrown(connector(answer('')).prestaged!.enable('bg_x', new Date()))).toMatchObject({ code: 'target_error', retryable: false });
    expect(await thrown(connector(answer(',"retryable":true')).prestaged!.enable('bg_x', new Date()))).toMatchObject({ code: 'target_unavailable', retryable: true });
    expect(await thrown(connector(answer(',"invalid":true')).prestaged!.enable('bg_x', new Date()))).toMatchObject({ code: 'validation' });
  });

  it('huge output is capped: stdout kills the script, stderr keeps a bounded tail', async () => {
    const started = Date.now();
    const flood = await thrown(connector(script('head -c 50000000 /dev/zero; sleep 30')).prestaged!.inspect('bg_x'));
    expect(flood.code).toBe('target_error');
    expect(flood.message).toMatch(/more than 1048576 bytes/);
    expect(Date.now() - started).toBeLessThan(3000);
    const noisy = await thrown(connector(script('head -c 5000000 /dev/zero | tr "\\0" x >&2; echo END >&2; exit 1')).prestaged!.inspect('bg_x'));
    expect(noisy.message.length).toBeLessThan(1000);
    expect(noisy.message).toMatch(/x+END$/);
  });

  it('secret-in-logs: secrets travel only on stdin, never in argv or the environment', async () => {
    process.env['BREAKGLASS_TEST_PASSWORD'] = 'from-the-server-environment';
    try {
      const out = join(dir, 'seen');
      const path = script(`tr '\\0' '\\n' < /proc/$$/cmdline > ${out}.argv\ntr '\\0' '\\n' < /proc/$$/environ > ${out}.env\ncat > ${out}.stdin\necho '{"ok":true}'`);
      await connector(path, { adminSecret: 'admin-Secret-1', args: ['--fixed', 'arg'] }).prestaged!.rotate('bg_acct', 'new-Secret-2');
      const argv = readFileSync(`${out}.argv`, 'utf8');
      const env = readFileSync(`${out}.env`, 'utf8');
      expect(argv.trim().split('\n').slice(-3)).toEqual(['--fixed', 'arg', 'rotate']);
      expect(env.trim().split('\n').map((line) => line.split('=')[0]).sort()).toEqual(['HOME', 'LANG', 'PATH']);
      for (const text of [argv, env]) for (const secret of ['admin-Secret-1', 'new-Secret-2', 'from-the-server']) expect(text).not.toContain(secret);
      expect(JSON.parse(readFileSync(`${out}.stdin`, 'utf8'))).toEqual({
        version: 1,
        operation: 'rotate',
        timeoutMs: 5000,
        principal: 'bg_acct',
        newSecret: 'new-Secret-2',
        adminSecret: 'admin-Secret-1',
      });
    } finally {
      delete process.env['BREAKGLASS_TEST_PASSWORD'];
    }
  });

  it('secret-in-logs: a script that echoes the secret to stderr and fails gets [redacted]', async () => {
    const secret = 'S3cret "quoted" \\ back';
    const admin = 'Adm1n-secret';
    const echoes = script(`req=$(cat); echo "got $req" >&2; echo "plain: ${secret.replace(/["\\]/g, '\\$&')} and ${admin}" >&2; echo "{\\"ok\\":false,\\"error\\":\\"bad ${admin}\\"}"`);
    const error = await thrown(connector(echoes, { adminSecret: admin }).prestaged!.stage('bg_x', secret));
    expect(error.message).toContain('[redacted]');
    expect(error.message).toContain('bad [redacted]');
    for (const s of [secret, admin, JSON.stringify(secret).slice(1, -1)]) expect(inspect(error, { depth: 10 })).not.toContain(s);
    // A failed issue: the credential the script made is kept out of the evidence too.
    const leaky = script(`echo "made password Fresh-Pw-99" >&2; echo '{"ok":true,"credential":{"username":"bg_x","password":"Fresh-Pw-99"}}'; exit 2`);
    const issued = await thrown(connector(leaky).ephemeral!.issue({ grantId: 'gr_1', spec: {}, validUntil: new Date() }));
    expect(issued.message).not.toContain('Fresh-Pw-99');
  });

  it('injection: hostile principals and spec values arrive byte-exact and never reach a shell', async () => {
    const out = join(dir, 'request.json');
    const pwned = join(dir, 'pwned');
    const path = script(`cat > ${out}; echo '{"ok":true}'`);
    const c = connector(path);
    const hostile = [`$(touch ${pwned})`, `\`touch ${pwned}\``, `; touch ${pwned}`, `a'b"c\\d`, '-rf --', 'ｒｏｏｔ\u202Eevil', '\u0430dmin'];
    for (const principal of hostile) {
      const spec = { privileges: [`SELECT ON x.*; $(touch ${pwned})`, principal], nested: { lone: '\uD800', nul: 'a\0b' } };
      await c.prestaged!.stage(principal, 'pw-1', spec);
      const received = JSON.parse(readFileSync(out, 'utf8')) as { principal: string; spec: unknown };
      expect(received.principal).toBe(principal);
      expect(received.spec).toEqual(spec);
    }
    await c.ephemeral!.revoke({ grantId: `gr_$(touch ${pwned})`, spec: { rules: `'; touch ${pwned}` } });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ grantId: `gr_$(touch ${pwned})`, principal: ephemeralPrincipal(`gr_$(touch ${pwned})`) });
    expect(existsSync(pwned)).toBe(false);
  });

  it('refuses names no script can handle safely, without running the script', async () => {
    const ran = join(dir, 'ran');
    const c = connector(script(`touch ${ran}; echo '{"ok":true}'`));
    for (const principal of ['', 'new\nline', 'nul\0', 'tab\t', '\uD800', 'x'.repeat(513)]) {
      expect((await thrown(c.prestaged!.disable(principal))).code, JSON.stringify(principal)).toBe('validation');
    }
    expect((await thrown(c.prestaged!.stage('bg_x', ''))).code).toBe('validation');
    expect((await thrown(c.prestaged!.enable('bg_x', new Date(Number.NaN)))).code).toBe('validation');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect((await thrown(c.ephemeral!.issue({ grantId: 'gr_1', spec: cyclic, validUntil: new Date() }))).code).toBe('validation');
    expect(await c.prestaged!.verify({ username: 'bg_x', password: '' })).toBe('rejected');
    expect(existsSync(ran)).toBe(false);
  });
});

describe('exec connector capabilities and settings', () => {
  it('capabilities come from the settings and are confirmed by the script once per connector', async () => {
    const asked = join(dir, 'asked');
    const path = join(dir, 'counting.sh');
    writeFileSync(
      path,
      `#!/bin/bash\nif [ "\${@: -1}" = capabilities ]; then echo x >> ${asked}; echo '${CAPABILITIES_ANSWER}'; exit 0; fi\necho '{"ok":true}'\n`,
      { mode: 0o755 },
    );
    const c = connector(path, { capabilities: { supportsPrestaged: true } });
    expect(c.capabilities).toEqual({ supportsSessionKill: false, supportsNativeExpiry: false, supportsPrestaged: true, supportsEphemeral: false });
    expect(c.ephemeral).toBeUndefined();
    await Promise.all([c.prestaged!.disable('bg_a'), c.prestaged!.disable('bg_b')]);
    await c.prestaged!.enable('bg_a', new Date());
    expect(readFileSync(asked, 'utf8')).toBe('x\n');
    const none = connector(path, { capabilities: {} });
    expect(none.prestaged).toBeUndefined();
    expect(none.ephemeral).toBeUndefined();
  });

  it('a capability the script does not confirm fails every call with target_error', async () => {
    const template = new URL('../../../examples/exec-template.sh', import.meta.url).pathname;
    const c = connector(template, { capabilities: { supportsPrestaged: true, supportsSessionKill: true } });
    const error = await thrown(c.prestaged!.disable('bg_x'));
    expect(error).toMatchObject({ code: 'target_error', retryable: false });
    expect(error.message).toMatch(/declare supportsSessionKill, supportsPrestaged but the script does not confirm them/);
  });

  it('a missing or non-executable command is a target_error', async () => {
    const missing = await thrown(connector(join(dir, 'does-not-exist')).prestaged!.inspect('bg_x'));
    expect(missing).toMatchObject({ code: 'target_error', retryable: false });
    expect(missing.message).toMatch(/could not be started \(ENOENT\)/);
    const plain = join(dir, 'not-executable.sh');
    writeFileSync(plain, '#!/bin/bash\n', { mode: 0o644 });
    expect((await thrown(connector(plain).prestaged!.inspect('bg_x'))).message).toMatch(/EACCES/);
  });

  it('close waits for the call in flight, then refuses new ones', async () => {
    const done = join(dir, 'closed-done');
    const c = connector(script(`sleep 0.3; touch ${done}; echo '{"ok":true}'`));
    const pending = c.prestaged!.disable('bg_x');
    await c.close();
    expect(existsSync(done)).toBe(true);
    await pending;
    expect((await thrown(c.prestaged!.disable('bg_x'))).code).toBe('target_error');
  });

  it('rejects bad settings at construction', () => {
    const make = (settings: Record<string, unknown>, timeoutMs?: number) => () =>
      createExecConnector({ type: 'exec', settings, adminSecret: undefined, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    expect(make({ command: 'relative/script.sh' })).toThrow(/absolute path/);
    expect(make({})).toThrow(AppError);
    expect(make({ command: '/bin/true', args: ['a\0b'] })).toThrow(/NUL/);
    expect(make({ command: '/bin/true', args: 'not-a-list' })).toThrow(AppError);
    expect(make({ command: '/bin/true', capabilities: { supportsPrestaged: 'yes' } })).toThrow(AppError);
    expect(make({ command: '/bin/true' }, 0)).toThrow(/timeoutMs/);
    expect(make({ command: '/bin/true', timeoutMs: 2000 })).not.toThrow();
  });

  // issue 12 (P2)
  it('disable and revoke pass on the sessions the script says it ended, nothing when it does not say; a bad count is refused', async () => {
    const counting = connector(script(`echo '{"ok":true,"sessionsBefore":2,"sessionsEnded":2}'`));
    expect(await counting.prestaged!.disable('bg_x')).toEqual({ sessionsBefore: 2, sessionsEnded: 2 });
    expect(await counting.ephemeral!.revoke({ grantId: 'gr_abcdefgh12', spec: {} })).toEqual({ sessionsBefore: 2, sessionsEnded: 2 });
    expect(await connector(script(`echo '{"ok":true}'`)).prestaged!.disable('bg_x')).toBeUndefined();
    const bad = await thrown(connector(script(`echo '{"ok":true,"sessionsBefore":-1}'`)).prestaged!.disable('bg_x'));
    expect(bad).toBeInstanceOf(AppError);
  });
});
