/** Issue 11 (H2): `extend`, `join`, `incident close` and `invoke --override-reason` against a fake server: the `--json` contract, human output, exit codes. */
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from '../program.js';
import { serverSideUnused } from '../../../test/support/cli-deps.js';

const grant = {
  id: 'gr_01J9ZB6D4N2MABCD',
  account: 'db-breakglass',
  state: 'active',
  mode: 'prestaged',
  condition: 'outage',
  reason: 'primary down',
  incident: 'INC-7',
  requester: 'alice',
  createdAt: '2030-01-01T00:00:00.000Z',
  activatedAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-01T00:25:00.000Z',
  extensions: 1,
};

type Answer = { status: number; body: unknown };

async function run(routes: Record<string, Answer>, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const requests: { method: string; path: string; body: unknown }[] = [];
  const deps: CliDeps = {
    ...serverSideUnused,
    env: { BREAKGLASS_TOKEN: 'bgt_some_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const method = init?.method ?? 'GET';
      requests.push({ method, path: url.pathname, body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined });
      const answer = routes[`${method} ${url.pathname}`] ?? { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
      return Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } }));
    },
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  return { code, stdout, stderr, requests };
}

describe('breakglass extend', () => {
  const path = `POST /v1/grants/${grant.id}/extend`;
  it('--json prints the grant with its new expiresAt; sends {by, reason}', async () => {
    const { code, stdout, requests } = await run({ [path]: { status: 200, body: grant } }, 'extend', grant.id, '--by', '10m', '--reason', 'restore running', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id: grant.id, expiresAt: grant.expiresAt, extensions: 1 });
    expect(requests[0]).toMatchObject({ method: 'POST', body: { by: '10m', reason: 'restore running' } });
  });
  it('human output says the new expiry', async () => {
    const { code, stdout } = await run({ [path]: { status: 200, body: grant } }, 'extend', grant.id, '--by', '10m', '--reason', 'r');
    expect(code).toBe(0);
    expect(stdout).toContain(`now expires at ${grant.expiresAt}`);
  });
  it('beyond a limit it fails non-zero with the message naming the limit', async () => {
    const refusal = { status: 422, body: { error: { code: 'policy_violation', message: 'maxExtensions: policy "p1" allows 2 extension(s) and grant gr_1 has had 2; end it and invoke again' } } };
    const { code, stderr } = await run({ [path]: refusal }, 'extend', grant.id, '--by', '10m', '--reason', 'r', '--json');
    expect(code).not.toBe(0);
    expect(stderr).toContain('maxExtensions');
  });
  it('a --by that is not a duration is a usage error; nothing is sent', async () => {
    const { code, requests } = await run({}, 'extend', grant.id, '--by', 'a while', '--reason', 'r');
    expect(code).toBe(2);
    expect(requests).toEqual([]);
  });
});

describe('breakglass incident close', () => {
  const path = '/v1/incidents/INC-7/close';
  it('--json prints {incident, ended, cancelled}', async () => {
    const body = { incident: 'INC-7', ended: [grant.id], cancelled: [] };
    const { code, stdout, requests } = await run({ [`POST ${path}`]: { status: 200, body } }, 'incident', 'close', 'INC-7', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(body);
    expect(requests[0]).toMatchObject({ method: 'POST', path });
  });
  it('human output lists what ended; a forbidden token exits 5', async () => {
    const ok = await run({ [`POST ${path}`]: { status: 200, body: { incident: 'INC-7', ended: [grant.id], cancelled: [] } } }, 'incident', 'close', 'INC-7');
    expect(ok.stdout).toContain(`ended (being revoked): ${grant.id}`);
    const denied = await run({ [`POST ${path}`]: { status: 403, body: { error: { code: 'forbidden', message: 'closing an incident needs the incident-system, incident-owner or admin role' } } } }, 'incident', 'close', 'INC-7');
    expect(denied.code).toBe(5);
  });
});

describe('breakglass join', () => {
  const path = `POST /v1/grants/${grant.id}/join`;
  const body = { grant, coResponders: [{ name: 'frank', joinedAt: '2030-01-01T00:01:00.000Z' }] };
  it('--json prints the case and its co-responders; sends {reason}', async () => {
    const { code, stdout, requests } = await run({ [path]: { status: 200, body } }, 'join', grant.id, '--reason', 'helping', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ grant: { id: grant.id }, coResponders: [{ name: 'frank' }] });
    expect(requests[0]?.body).toEqual({ reason: 'helping' });
  });
  it('human output points to the one reveal', async () => {
    const { stdout } = await run({ [path]: { status: 200, body } }, 'join', grant.id, '--reason', 'helping');
    expect(stdout).toContain(`breakglass reveal ${grant.id}`);
  });
});

describe('breakglass invoke --override-reason', () => {
  it('sends overrideReason', async () => {
    const { code, requests } = await run({ 'POST /v1/grants': { status: 201, body: { ...grant, override: true, overrideReason: 'second outage' } } }, 'invoke', 'db-breakglass', '--condition', 'outage', '--reason', 'r', '--incident', 'INC-8', '--override-reason', 'second outage', '--json');
    expect(code).toBe(0);
    expect(requests[0]?.body).toMatchObject({ overrideReason: 'second outage' });
  });
});
