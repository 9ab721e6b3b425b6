/** Issue 11 (H1): `approve`, `deny` and `invoke --escalate` against a fake server: the `--json` contract and exit codes. */
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from '../program.js';
import { serverSideUnused } from '../../../test/support/cli-deps.js';

const grant = (state: string, extra: Record<string, unknown> = {}) => ({
  id: 'gr_01J9ZB6D4N2MABCD',
  account: 'db-approve',
  state,
  mode: 'prestaged',
  condition: 'outage',
  reason: 'primary down',
  incident: 'INC-7',
  requester: 'alice',
  createdAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-01T00:15:00.000Z',
  ...extra,
});

type Route = (body: unknown) => { status: number; body: unknown };

async function run(routes: Record<string, Route>, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const calls: { method: string; path: string; body: unknown }[] = [];
  const deps: CliDeps = {
    ...serverSideUnused,
    env: { BREAKGLASS_TOKEN: 'bgt_some_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const method = init?.method ?? 'GET';
      const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
      calls.push({ method, path: `${url.pathname}${url.search}`, body });
      const route = routes[`${method} ${url.pathname}${url.search}`];
      const answer = route ? route(body) : { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
      return Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } }));
    },
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  return { code, stdout, stderr, calls };
}

const path = '/v1/grants/gr_01J9ZB6D4N2MABCD';

describe('breakglass approve / deny', () => {
  it('approve --json posts the note and prints the grant, active', async () => {
    const approved = grant('active', { approvals: [{ by: 'carol', at: '2030-01-01T00:01:00.000Z', decision: 'approved', note: 'checked' }] });
    const { code, stdout, calls } = await run({ [`POST ${path}/approve`]: () => ({ status: 200, body: approved }) }, 'approve', 'gr_01J9ZB6D4N2MABCD', '--note', 'checked', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ state: 'active', approvals: [{ by: 'carol', note: 'checked' }] });
    expect(calls).toEqual([{ method: 'POST', path: `${path}/approve`, body: { note: 'checked' } }]);
  });

  it('deny --json prints the grant, denied', async () => {
    const { code, stdout } = await run({ [`POST ${path}/deny`]: () => ({ status: 200, body: grant('denied') }) }, 'deny', 'gr_01J9ZB6D4N2MABCD', '--note', 'no', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ state: 'denied' });
  });

  it('the requester approving their own grant exits non-zero (403 separation_of_duties)', async () => {
    const refused = { error: { code: 'separation_of_duties', message: "the requester of a grant cannot approve it; one of the policy's approvers must" } };
    const { code, stderr } = await run({ [`POST ${path}/approve`]: () => ({ status: 403, body: refused }) }, 'approve', 'gr_01J9ZB6D4N2MABCD', '--note', 'me');
    expect(code).toBe(5);
    expect(stderr).toContain('cannot approve it');
  });

  it('--note is required', async () => {
    const { code, calls } = await run({}, 'approve', 'gr_01J9ZB6D4N2MABCD');
    expect(code).not.toBe(0);
    expect(calls).toEqual([]);
  });
});

describe('breakglass invoke --escalate', () => {
  const invokeArgs = ['invoke', 'db-approve', '--condition', 'outage', '--reason', 'primary down', '--incident', 'INC-7'];
  const server: Record<string, Route> = {
    'GET /v1/whoami': () => ({ status: 200, body: { user: 'alice', roles: ['responder'], tokenId: 'tok_1' } }),
    'GET /v1/grants?state=awaiting-approval': () => ({ status: 200, body: { grants: [grant('awaiting-approval', { requester: 'bob', id: 'gr_someone_elses' }), grant('awaiting-approval')] } }),
    [`POST ${path}/escalate`]: () => ({ status: 200, body: grant('active', { escalated: true, escalationReason: 'nobody answers' }) }),
  };

  it('takes over the caller\'s own waiting grant on the account and escalates it (--json shows escalated)', async () => {
    const { code, stdout, calls } = await run(server, ...invokeArgs, '--escalate', '--reason2', 'nobody answers', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ state: 'active', escalated: true });
    expect(calls.filter((c) => c.method === 'POST')).toEqual([{ method: 'POST', path: `${path}/escalate`, body: { reason2: 'nobody answers' } }]);
  });

  it('without --reason2 it is a usage error and nothing is sent', async () => {
    const { code, calls, stderr } = await run(server, ...invokeArgs, '--escalate');
    expect(code).toBe(2);
    expect(calls).toEqual([]);
    expect(stderr).toContain('--reason2');
  });

  it('with no grant of yours awaiting approval on the account it says so (exit 4)', async () => {
    const { code, stderr } = await run({ ...server, 'GET /v1/grants?state=awaiting-approval': () => ({ status: 200, body: { grants: [] } }) }, ...invokeArgs, '--escalate', '--reason2', 'x');
    expect(code).toBe(4);
    expect(stderr).toContain('no grant awaiting approval');
  });

  it('before escalate.after the server\'s refusal is shown and the exit is non-zero', async () => {
    const refused = { error: { code: 'policy_violation', message: 'escalate.after: escalation is allowed from 2030-01-01T00:01:00.000Z' } };
    const { code, stderr } = await run({ ...server, [`POST ${path}/escalate`]: () => ({ status: 422, body: refused }) }, ...invokeArgs, '--escalate', '--reason2', 'x');
    expect(code).toBe(1);
    expect(stderr).toContain('escalate.after');
  });
});

describe('breakglass approvals', () => {
  it('lists what waits for you (table, or --json), and says so when nothing does', async () => {
    const waiting = { grants: [grant('awaiting-approval')] };
    const human = await run({ 'GET /v1/approvals': () => ({ status: 200, body: waiting }) }, 'approvals');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/gr_01J9ZB6D4N2MABCD\s+db-approve\s+awaiting-approval\s+alice/);
    expect(human.stdout).toContain('breakglass approve ID --note TEXT');
    const json = await run({ 'GET /v1/approvals': () => ({ status: 200, body: waiting }) }, 'approvals', '--json');
    expect(JSON.parse(json.stdout)).toEqual(waiting);
    const none = await run({ 'GET /v1/approvals': () => ({ status: 200, body: { grants: [] } }) }, 'approvals');
    expect(none.stdout).toContain('nothing waits for your approval');
  });
});
