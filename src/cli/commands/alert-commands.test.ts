/** `alerts`, `alerts retry`, `ack` and `channel test` against a fake server: the `--json` contract, human output, exit codes. */
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from '../program.js';
import { serverSideUnused } from '../../../test/support/cli-deps.js';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const dead = {
  id: 'alr_3f2b9c1e-8d4a-4e55-9a7b-2c6d1e0f4a11',
  event: 'grant.activated',
  channel: 'secops-hook',
  state: 'dead',
  attempts: 12,
  eventId: 'evt-42',
  grant: 'gr_01J9ZB6D4N2MABCD',
  account: 'pg-breakglass',
  createdAt: '2030-01-01T00:00:00.000Z',
  lastError: 'webhook channel "secops-hook" answered HTTP 500',
};
const sent = { id: 'alr_0a1b2c3d-0000-4000-8000-000000000001', event: 'token.created', channel: 'secops-hook', state: 'sent', attempts: 1, eventId: 'evt-41', createdAt: '2030-01-01T00:00:00.000Z', sentAt: '2030-01-01T00:00:01.000Z' };

/** runCli with a fake server: `routes` by "METHOD /path", what was sent recorded. */
async function run(routes: Record<string, (url: URL) => Response>, ...args: string[]) {
  const sent: { method: string; url: string }[] = [];
  const bodies: unknown[] = [];
  let stdout = '';
  let stderr = '';
  const deps: CliDeps = {
    ...serverSideUnused,
    env: { BREAKGLASS_TOKEN: 'bgt_admin_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const method = init?.method ?? 'GET';
      sent.push({ method, url: url.href });
      if (typeof init?.body === 'string') bodies.push(JSON.parse(init.body));
      const route = routes[`${method} ${url.pathname}`];
      return Promise.resolve(route ? route(url) : json(404, { error: { code: 'not_found', message: `no route ${url.pathname}` } }));
    },
    stdoutIsTTY: false,
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  return { code, stdout, stderr, sent, bodies };
}

describe('breakglass alerts', () => {
  it('alerts --json prints {"alerts": [{id, event, channel, state, attempts, …}]}: the answer as the server gave it', async () => {
    const result = await run({ 'GET /v1/alerts': () => json(200, { alerts: [dead, sent] }) }, 'alerts', '--json');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { alerts: Record<string, unknown>[] };
    expect(Object.keys(printed)).toEqual(['alerts']);
    expect(printed).toEqual({ alerts: [dead, sent] });
    for (const alert of printed.alerts) {
      expect(alert).toMatchObject({ id: expect.stringMatching(/^alr_/), event: expect.any(String), channel: expect.any(String), state: expect.stringMatching(/^(pending|sent|dead)$/), attempts: expect.any(Number) });
    }
    expect(result.stderr).toBe('');
  });

  it('alerts --state dead filters on the server; an answer without the contract fields is an unexpected answer, not undefined', async () => {
    const filtered = await run({ 'GET /v1/alerts': () => json(200, { alerts: [dead] }) }, 'alerts', '--state', 'dead', '--json');
    expect(filtered.sent[0]?.url).toBe('http://127.0.0.1:8420/v1/alerts?state=dead');
    const broken = { ...dead, attempts: undefined }; // left out of the JSON
    const unexpected = await run({ 'GET /v1/alerts': () => json(200, { alerts: [broken] }) }, 'alerts', '--json');
    expect(unexpected.code).toBe(1);
    expect(unexpected.stdout).toBe('');
    expect((await run({}, 'alerts', '--state', 'lost')).code).toBe(2);
  });

  it('alerts for people: a table with the last error, shown inert, and what to do about the dead ones', async () => {
    const hostile = { ...dead, lastError: 'answered \u001b[2J\u001b[1;1Hall fine' };
    const { stdout, code } = await run({ 'GET /v1/alerts': () => json(200, { alerts: [hostile, sent] }) }, 'alerts');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^ID\s+EVENT\s+CHANNEL\s+STATE\s+ATTEMPTS\s+ACKED\s+LAST ERROR$/);
    expect(lines[1]).toMatch(new RegExp(`^${dead.id}\\s+grant\\.activated\\s+secops-hook\\s+dead\\s+12\\s+answered \\\\x1b\\[2J`));
    expect(stdout).not.toContain('\u001b');
    expect(stdout).toContain('1 dead');
    expect(stdout).toContain('breakglass alerts retry ID');
    expect((await run({ 'GET /v1/alerts': () => json(200, { alerts: [] }) }, 'alerts', '--state', 'dead')).stdout).toBe('no alerts in state dead\n');
  });

  it('alerts retry ID posts to the alert, --json prints it (the option is retry\'s, not the list\'s); a conflict exits non-zero', async () => {
    const pending = { ...dead, state: 'pending', attempts: 0 };
    const routes = { [`POST /v1/alerts/${dead.id}/retry`]: () => json(200, pending) };
    const retried = await run(routes, 'alerts', 'retry', dead.id, '--json');
    expect(retried.code).toBe(0);
    expect(retried.sent).toEqual([{ method: 'POST', url: `http://127.0.0.1:8420/v1/alerts/${dead.id}/retry` }]);
    expect(JSON.parse(retried.stdout)).toEqual(pending);
    expect((await run(routes, 'alerts', 'retry', dead.id, '--addr', 'http://127.0.0.2:9000')).sent[0]?.url).toBe(`http://127.0.0.2:9000/v1/alerts/${dead.id}/retry`);
    expect((await run(routes, 'alerts', 'retry', dead.id)).stdout).toContain(`alert ${dead.id} (grant.activated to secops-hook) is pending again`);
    const conflict = await run({ [`POST /v1/alerts/${sent.id}/retry`]: () => json(409, { error: { code: 'conflict', message: `alert ${sent.id} is sent; only a dead alert can be retried` } }) }, 'alerts', 'retry', sent.id);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('only a dead alert can be retried');
    // An id cannot change the request path.
    expect((await run({}, 'alerts', 'retry', '../../grants')).sent[0]?.url).toBe('http://127.0.0.1:8420/v1/alerts/..%2F..%2Fgrants/retry');
  });
});

describe('breakglass ack', () => {
  const acked = { eventId: 'evt-42', ackedBy: 'bob', ackedAt: '2030-01-01T00:05:00.000Z', note: 'on it, INC-7', alreadyAcknowledged: false };

  it('ack ID --note posts the note to the alert, says who and when; --json prints the answer', async () => {
    const routes = { [`POST /v1/alerts/${dead.id}/ack`]: () => json(200, acked) };
    const human = await run(routes, 'ack', dead.id, '--note', 'on it, INC-7');
    expect(human.code).toBe(0);
    expect(human.sent).toEqual([{ method: 'POST', url: `http://127.0.0.1:8420/v1/alerts/${dead.id}/ack` }]);
    expect(human.bodies).toEqual([{ note: 'on it, INC-7' }]);
    expect(human.stdout).toBe('evt-42 acknowledged by bob at 2030-01-01T00:05:00.000Z: its escalation stops\n');
    const script = await run(routes, 'ack', dead.id, '--json');
    expect(script.bodies).toEqual([{}]);
    expect(JSON.parse(script.stdout)).toEqual(acked);
  });

  it('ack again: the first acknowledgement is told, exit 0; an unknown alert exits 4; an id cannot change the path', async () => {
    const again = { ...acked, alreadyAcknowledged: true };
    const result = await run({ [`POST /v1/alerts/${dead.id}/ack`]: () => json(200, again) }, 'ack', dead.id);
    expect(result).toMatchObject({ code: 0, stdout: 'evt-42 was already acknowledged by bob at 2030-01-01T00:05:00.000Z; nothing changed\n' });
    expect((await run({}, 'ack', sent.id)).code).toBe(4);
    expect((await run({}, 'ack', '../../grants')).sent[0]?.url).toBe('http://127.0.0.1:8420/v1/alerts/..%2F..%2Fgrants/ack');
  });

  it('alerts shows who acknowledged, in the table and in --json', async () => {
    const seen = { ...sent, acked: { by: 'link:chat', at: '2030-01-01T00:05:00.000Z' } };
    const routes = { 'GET /v1/alerts': () => json(200, { alerts: [seen] }) };
    expect((await run(routes, 'alerts')).stdout.split('\n')[1]).toMatch(/\s+sent\s+1\s+link:chat 2030-01-01T00:05:00\.000Z\s*$/);
    expect(JSON.parse((await run(routes, 'alerts', '--json')).stdout)).toEqual({ alerts: [seen] });
  });

  it('ack --help has an example', async () => {
    const result = await run({}, 'ack', '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Example:');
    expect(result.stdout).toContain('--note');
  });
});

describe('breakglass channel test', () => {
  const route = (body: unknown) => ({ 'POST /v1/channels/secops-hook/test': () => json(200, body) });

  it('delivered: "secops-hook: delivered (HTTP 200)", exit 0; --json prints the answer', async () => {
    const ok = { channel: 'secops-hook', ok: true, status: 'HTTP 200' };
    expect(await run(route(ok), 'channel', 'test', 'secops-hook')).toMatchObject({ code: 0, stdout: 'secops-hook: delivered (HTTP 200)\n' });
    const printed = await run(route(ok), 'channel', 'test', 'secops-hook', '--json');
    expect(JSON.parse(printed.stdout)).toEqual(ok);
  });

  it('not delivered: "secops-hook: failed: …", exit 1 in both modes', async () => {
    const failed = { channel: 'secops-hook', ok: false, error: 'webhook channel "secops-hook" could not be reached (ECONNREFUSED)\nspoofed line' };
    const human = await run(route(failed), 'channel', 'test', 'secops-hook');
    expect(human.code).toBe(1);
    expect(human.stdout).toBe('secops-hook: failed: webhook channel "secops-hook" could not be reached (ECONNREFUSED)\\nspoofed line\n');
    const script = await run(route(failed), 'channel', 'test', 'secops-hook', '--json');
    expect(script.code).toBe(1);
    expect(JSON.parse(script.stdout)).toEqual(failed);
    expect((await run({}, 'channel', 'test', 'nowhere')).code).toBe(4);
  });

  it('every new command has --help with an example', async () => {
    for (const path of [['alerts'], ['alerts', 'retry'], ['channel'], ['channel', 'test']]) {
      const result = await run({}, ...path, '--help');
      expect(result.code, path.join(' ')).toBe(0);
      expect(result.stdout, path.join(' ')).toContain('Example:');
    }
  });
});
