import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { buildProgram, runCli, type AuditVerification, type CliDeps } from './program.js';

interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

type Route = (sent: Sent) => Response | Promise<Response>;

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const refused = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });

const grant = {
  id: 'gr_01J9ZB6D4N2MABCD',
  account: 'pg-breakglass',
  state: 'active',
  mode: 'prestaged',
  condition: 'outage',
  reason: 'primary down',
  incident: 'INC-42',
  requester: 'alice',
  createdAt: '2025-06-01T10:00:00.000Z',
  activatedAt: '2025-06-01T10:00:00.000Z',
  expiresAt: '2025-06-01T10:15:00.000Z',
};

const catalogYaml = `targets:
  - name: prod-pg
    type: postgres
    host: 127.0.0.1
    port: 55432
    database: postgres
    user: admin
    passwordEnv: PG_ADMIN_PASSWORD
policies:
  - name: p0
    conditions: [outage, lockout, security-incident]
    incidentPattern: "^INC-[0-9]+$"
    approval: { mode: post-hoc }
    defaultTtl: 15m
    maxTtl: 1h
accounts:
  - name: pg-breakglass
    target: prod-pg
    mode: prestaged
    role: bg_admin
    policy: p0
users:
  - { name: alice, roles: [responder] }
`;

/** A harness around runCli: a fake server (routes by "METHOD /path"), captured output. */
function harness(options: { env?: Record<string, string | undefined>; stdoutIsTTY?: boolean } = {}) {
  const sent: Sent[] = [];
  const routes = new Map<string, Route>();
  let stdout = '';
  let stderr = '';
  const verified: { file: string[]; dataDir: string[] } = { file: [], dataDir: [] };
  let verification: AuditVerification = { ok: true, events: 12, headSeq: 12, checkpoints: 3 };
  const fakeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const request: Sent = { method: init?.method ?? 'GET', url: url.href, headers, body };
    sent.push(request);
    const route = routes.get(`${request.method} ${url.pathname}`);
    if (!route) return json(404, { error: { code: 'not_found', message: `no route ${url.pathname}` } });
    return route(request);
  };
  const deps: CliDeps = {
    init: ({ dataDir }) => Promise.resolve({ adminToken: 'bgt_admin_secret', dataDir }),
    serve: ({ onListening }) => Promise.resolve(onListening('http://127.0.0.1:8420')),
    verifyFile: (path) => (verified.file.push(path), Promise.resolve(verification)),
    verifyDataDir: (dir) => (verified.dataDir.push(dir), Promise.resolve(verification)),
    env: { BREAKGLASS_TOKEN: 'bgt_alice_token', ...options.env },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: fakeFetch,
    stdoutIsTTY: options.stdoutIsTTY ?? false,
  };
  return {
    deps,
    sent,
    verified,
    route(key: string, route: Route) {
      routes.set(key, route);
    },
    setVerification(value: AuditVerification) {
      verification = value;
    },
    async run(...args: string[]) {
      stdout = '';
      stderr = '';
      const code = await runCli(['node', 'breakglass', ...args], deps);
      return { code, stdout, stderr };
    },
  };
}

let h: ReturnType<typeof harness>;
beforeEach(() => {
  h = harness();
});

describe('server address and token', () => {
  it('sends BREAKGLASS_TOKEN as a bearer token to BREAKGLASS_ADDR, or to --addr', async () => {
    h = harness({ env: { BREAKGLASS_ADDR: 'http://bg.internal:9000/' } });
    h.route('GET /v1/grants', () => json(200, { grants: [] }));
    expect((await h.run('grants')).code).toBe(0);
    expect(h.sent[0]).toMatchObject({ method: 'GET', url: 'http://bg.internal:9000/v1/grants', headers: { authorization: 'Bearer bgt_alice_token' } });
    await h.run('grants', '--addr', 'http://127.0.0.1:8421');
    expect(h.sent[1]?.url).toBe('http://127.0.0.1:8421/v1/grants');
  });

  it('defaults to http://127.0.0.1:8420', async () => {
    h.route('GET /v1/grants', () => json(200, { grants: [] }));
    await h.run('grants');
    expect(h.sent[0]?.url).toBe('http://127.0.0.1:8420/v1/grants');
  });

  it('--token works but warns that argv is visible to others', async () => {
    h.route('GET /v1/grants', () => json(200, { grants: [] }));
    const result = await h.run('grants', '--token', 'bgt_other');
    expect(h.sent[0]?.headers['authorization']).toBe('Bearer bgt_other');
    expect(result.stderr).toContain('warning: --token is visible');
  });

  it('a malformed address is a usage error and nothing is sent', async () => {
    const result = await h.run('grants', '--addr', 'bg.internal:8420');
    expect(result.code).toBe(2);
    expect(h.sent).toHaveLength(0);
  });
});

describe('exit codes', () => {
  it('404 → 4', async () => {
    h.route('GET /v1/grants/gr_unknown123', () => json(404, { error: { code: 'not_found', message: 'grant gr_unknown123 not found' } }));
    const result = await h.run('grant', 'show', 'gr_unknown123');
    expect(result).toMatchObject({ code: 4, stdout: '' });
    expect(result.stderr).toContain('error: grant gr_unknown123 not found');
  });

  it('401 → 5 with a hint about BREAKGLASS_TOKEN, and the token is never printed', async () => {
    h.route('GET /v1/accounts', () => json(401, { error: { code: 'unauthenticated', message: 'invalid token' } }));
    const result = await h.run('accounts');
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('error: invalid token');
    expect(result.stderr).toContain('hint: set BREAKGLASS_TOKEN to your token (`breakglass token redeem CODE`');
    expect(result.stdout + result.stderr).not.toContain('bgt_alice_token');
  });

  it('403 → 5', async () => {
    h.route('POST /v1/tokens', () => json(403, { error: { code: 'forbidden', message: 'needs the admin role' } }));
    expect((await h.run('token', 'create', 'bob')).code).toBe(5);
  });

  it('connection refused → 6 with a hint to start the server', async () => {
    h.deps.fetch = () => Promise.reject(refused());
    const result = await h.run('grants');
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('cannot reach the server at http://127.0.0.1:8420 (ECONNREFUSED)');
    expect(result.stderr).toContain('is the server running? start it with `breakglass serve` or `npm start`, or set BREAKGLASS_ADDR');
  });

  it('a server validation error → 2, other server errors → 1', async () => {
    h.route('POST /v1/grants', () => json(422, { error: { code: 'policy_violation', message: 'ttl 2h exceeds the maximum 1h' } }));
    expect((await h.run('invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'r', '--incident', 'INC-1', '--ttl', '2h')).code).toBe(1);
    h.route('POST /v1/grants', () => json(400, { error: { code: 'validation', message: 'reason: too long', path: 'reason' } }));
    expect((await h.run('invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'r', '--incident', 'INC-1')).code).toBe(2);
  });

  it('an answer that breaks the contract → 1, not undefined output', async () => {
    h.route('GET /v1/grants', () => json(200, { items: [] }));
    const result = await h.run('grants');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unexpected answer from GET /v1/grants: grants:');
  });

  it('unknown commands and missing options → 2, nothing sent', async () => {
    expect((await h.run('frobnicate')).code).toBe(2);
    expect((await h.run('invoke', 'pg-breakglass', '--reason', 'r', '--incident', 'INC-1')).code).toBe(2);
    expect((await h.run()).code).toBe(2);
    expect(h.sent).toHaveLength(0);
  });
});

describe('apply', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bg-cli-'));
  });
  const write = (text: string) => {
    const file = join(dir, 'catalog.yaml');
    writeFileSync(file, text);
    return file;
  };
  const applied = { targets: 1, policies: 1, accounts: 1, users: 1, staging: [{ account: 'pg-breakglass', staging: 'staged' }], plan: [], dryRun: false };

  it('sends the catalog with the password read from the environment, never the variable name', async () => {
    h = harness({ env: { PG_ADMIN_PASSWORD: 'pg-admin-s3cret' } });
    h.route('POST /v1/apply', () => json(200, applied));
    const result = await h.run('apply', '-f', write(catalogYaml), '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(applied);
    const body = h.sent[0]?.body as { targets: Record<string, unknown>[] };
    expect(h.sent[0]).toMatchObject({ method: 'POST', url: 'http://127.0.0.1:8420/v1/apply', headers: { 'content-type': 'application/json' } });
    expect(body.targets[0]).toMatchObject({ name: 'prod-pg', password: 'pg-admin-s3cret' });
    expect(body.targets[0]).not.toHaveProperty('passwordEnv');
    expect(result.stdout + result.stderr).not.toContain('pg-admin-s3cret');
  });

  it('prints a summary for people', async () => {
    h = harness({ env: { PG_ADMIN_PASSWORD: 'x' } });
    h.route('POST /v1/apply', () => json(200, { ...applied, staging: [{ account: 'pg-breakglass', staging: 'pending', error: 'target unreachable' }] }));
    const result = await h.run('apply', '-f', write(catalogYaml));
    expect(result.stdout).toContain('1 target, 1 policy, 1 account, 1 user');
    expect(result.stdout).toMatch(/pg-breakglass\s+pending\s+target unreachable/);
  });

  it('apply --dry-run asks for the plan and prints it per object and field, changing nothing', async () => {
    h = harness({ env: { PG_ADMIN_PASSWORD: 'x' } });
    const plan = [
      { kind: 'policy', name: 'p0', op: 'change', changes: { maxTtlMs: { before: 3_600_000, after: 7_200_000 } } },
      { kind: 'target', name: 'prod-pg', op: 'change', changes: { password: 'changed' } },
      { kind: 'account', name: 'old-bg', op: 'remove', changes: {} },
      { kind: 'user', name: 'mallory', op: 'create', changes: { roles: { before: null, after: ['admin'] } } },
    ];
    h.route('POST /v1/apply', () => json(200, { ...applied, staging: [], plan, dryRun: true }));
    const result = await h.run('apply', '-f', write(catalogYaml), '--dry-run');
    expect(result.code).toBe(0);
    expect(h.sent[0]?.url).toBe('http://127.0.0.1:8420/v1/apply?dryRun=true');
    expect(result.stdout).toContain('nothing was changed');
    expect(result.stdout).toContain('~ policy p0');
    expect(result.stdout).toContain('maxTtlMs: 3600000 → 7200000');
    expect(result.stdout).toContain('password: changed');
    expect(result.stdout).toContain('- account old-bg (retired)');
    expect(result.stdout).toContain('+ user mallory');
    expect(result.stdout).toContain('roles: (none) → ["admin"]');
  });

  it('an invalid catalog prints every issue, exits 2 and sends nothing', async () => {
    h = harness({ env: { PG_ADMIN_PASSWORD: 'x' } });
    const result = await h.run('apply', '-f', write(catalogYaml.replace('policy: p0', 'policy: p9').replace('port: 55432', 'port: 0')));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('accounts[0].policy: unknown policy "p9"');
    expect(result.stderr).toContain('targets[0].port: must be between 1 and 65535');
    expect(result.stdout).toBe('');
    expect(h.sent).toHaveLength(0);
  });

  it('a missing password variable exits 2 and sends nothing', async () => {
    const result = await h.run('apply', '-f', write(catalogYaml));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('targets[0].passwordEnv: environment variable PG_ADMIN_PASSWORD is not set');
    expect(h.sent).toHaveLength(0);
  });

  it('a YAML syntax error names the line; a missing file is a usage error', async () => {
    const syntax = await h.run('apply', '-f', write('targets: [\n  - a: {\n'));
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/line \d+, column \d+: /);
    const missing = await h.run('apply', '-f', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    expect(h.sent).toHaveLength(0);
  });
});

describe('catalog and tokens', () => {
  const account = { name: 'pg-breakglass', target: 'prod-pg', type: 'postgres', mode: 'prestaged', principal: 'bg_admin', policy: 'p0', staging: 'staged' };

  it('accounts --json prints the whole response object', async () => {
    h.route('GET /v1/accounts', () => json(200, { accounts: [account] }));
    const result = await h.run('accounts', '--json');
    expect(JSON.parse(result.stdout)).toEqual({ accounts: [account] });
  });

  it('accounts prints an aligned table', async () => {
    h.route('GET /v1/accounts', () => json(200, { accounts: [account, { ...account, name: 'pg-2', principal: 'bg_second_admin' }] }));
    const lines = (await h.run('accounts')).stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+TARGET\s+TYPE\s+MODE\s+PRINCIPAL\s+POLICY\s+STAGING$/);
    expect(lines[1]?.indexOf('p0')).toBe(lines[2]?.indexOf('p0'));
  });

  it('token create posts {user} and --json prints exactly {id, token, expiresAt}', async () => {
    h.route('POST /v1/tokens', () => json(201, { id: 'tok_new', token: 'bgt_new', expiresAt: null, extra: 'dropped' }));
    const result = await h.run('token', 'create', 'ci-bot', '--json');
    expect(h.sent[0]?.body).toEqual({ user: 'ci-bot' });
    expect(JSON.parse(result.stdout)).toStrictEqual({ id: 'tok_new', token: 'bgt_new', expiresAt: null });
  });

  it('token create for another person fails with the server\'s pointer to user invite', async () => {
    const message = '"bob" is a person, not a service user: … run `breakglass user invite NAME` …';
    h.route('POST /v1/tokens', () => json(403, { error: { code: 'forbidden', message } }));
    const result = await h.run('token', 'create', 'bob', '--ttl', '1h');
    expect(h.sent[0]?.body).toEqual({ user: 'bob', ttl: '1h' });
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('breakglass user invite');
  });

  it('user invite --json prints {code, expiresAt}', async () => {
    h.route('POST /v1/users/alice/invite', () => json(201, { code: 'bge_code', expiresAt: '2030-01-02T00:00:00.000Z' }));
    const result = await h.run('user', 'invite', 'alice', '--json');
    expect(h.sent[0]?.body).toEqual({ ttl: '24h' });
    expect(JSON.parse(result.stdout)).toStrictEqual({ code: 'bge_code', expiresAt: '2030-01-02T00:00:00.000Z' });
  });

  it('token redeem needs no token and --json prints {id, token, expiresAt}', async () => {
    const answer = { id: 'tok_1', token: 'bg_mine', expiresAt: '2030-01-31T00:00:00.000Z' };
    h = harness({ env: { BREAKGLASS_TOKEN: undefined } });
    h.route('POST /v1/tokens/redeem', () => json(201, answer));
    const result = await h.run('token', 'redeem', 'bge_code', '--ttl', '30d', '--json');
    expect(result.code).toBe(0);
    expect(h.sent[0]?.headers['authorization']).toBeUndefined();
    expect(h.sent[0]?.body).toEqual({ code: 'bge_code', ttl: '30d' });
    expect(JSON.parse(result.stdout)).toStrictEqual(answer);
  });

  it('token list --json prints {tokens}; the human table never holds a token; revoke sends DELETE', async () => {
    const listed = { id: 'tok_1', user: 'alice', label: 'enrolment', createdAt: '2030-01-01T00:00:00.000Z', expiresAt: null, lastUsedAt: null, revokedAt: null, createdBy: 'alice' };
    h.route('GET /v1/tokens', () => json(200, { tokens: [listed] }));
    const result = await h.run('token', 'list', '--user', 'alice', '--json');
    expect(h.sent[0]?.url).toBe('http://127.0.0.1:8420/v1/tokens?user=alice');
    expect(JSON.parse(result.stdout)).toStrictEqual({ tokens: [listed] });
    expect((await h.run('token', 'list')).stdout).toMatch(/^ID\s+USER\s+LABEL/);
    h.route('DELETE /v1/tokens/tok_1', () => json(200, { ...listed, revokedAt: '2030-01-01T00:01:00.000Z' }));
    const revoked = await h.run('token', 'revoke', 'tok_1');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe('revoked tok_1 of alice\n');
  });

  it('whoami --json prints {user, roles, tokenId}', async () => {
    h.route('GET /v1/whoami', () => json(200, { user: 'alice', roles: [], tokenId: 'tok_1' }));
    expect(JSON.parse((await h.run('whoami', '--json')).stdout)).toStrictEqual({ user: 'alice', roles: [], tokenId: 'tok_1' });
    expect((await h.run('whoami')).stdout).toBe('alice (no role), token tok_1\n');
  });
});

describe('a case', () => {
  it('invoke posts the request and --json prints the GrantView', async () => {
    h.route('POST /v1/grants', () => json(201, grant));
    const result = await h.run('invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'primary down', '--incident', 'INC-42', '--ttl', '5m', '--json');
    expect(result.code).toBe(0);
    expect(h.sent[0]?.body).toEqual({ account: 'pg-breakglass', condition: 'outage', reason: 'primary down', incident: 'INC-42', ttl: '5m' });
    expect(JSON.parse(result.stdout)).toEqual(grant);
  });

  it('invoke without --ttl leaves the policy default to the server; human output says what to do next', async () => {
    h.route('POST /v1/grants', () => json(201, grant));
    const result = await h.run('invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'primary down', '--incident', 'INC-42');
    expect(h.sent[0]?.body).not.toHaveProperty('ttl');
    expect(result.stdout).toContain(`breakglass reveal ${grant.id}`);
    expect(result.stdout).toContain(grant.expiresAt);
  });

  it('invoke with a ttl that is not a duration is a usage error; nothing is sent', async () => {
    const result = await h.run('invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'r', '--incident', 'INC-1', '--ttl', 'soon');
    expect(result.code).toBe(2);
    expect(h.sent).toHaveLength(0);
  });

  it('invoke that failed to activate prints the grant and exits 1', async () => {
    h.route('POST /v1/grants', () => json(201, { ...grant, state: 'failed', failure: 'target unavailable' }));
    const result = await h.run('invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'r', '--incident', 'INC-1', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ state: 'failed' });
    expect(result.stderr).toContain('activation failed: target unavailable');
  });

  it('reveal --json prints exactly {username, password}; a second reveal gets 409 and exits non-zero', async () => {
    let revealed = false;
    h.route(`POST /v1/grants/${grant.id}/reveal`, () => {
      if (revealed) return json(409, { error: { code: 'already_revealed', message: 'the credential was already revealed' } });
      revealed = true;
      return json(200, { username: 'bg_admin', password: 'pw-once', extra: 'ignored' });
    });
    const first = await h.run('reveal', grant.id, '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ username: 'bg_admin', password: 'pw-once' });
    const second = await h.run('reveal', grant.id);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('error: the credential was already revealed');
    expect(second.stdout).toBe('');
  });

  it('reveal for people warns that it is the only time', async () => {
    h.route(`POST /v1/grants/${grant.id}/reveal`, () => json(200, { username: 'bg_admin', password: 'pw-once' }));
    const result = await h.run('reveal', grant.id);
    expect(result.stdout).toMatch(/username\s+bg_admin\npassword\s+pw-once/);
    expect(result.stderr).toContain('only time');
  });

  it('end posts to /end and prints the GrantView', async () => {
    const ended = { ...grant, state: 'revoking', endedAt: '2025-06-01T10:05:00.000Z', endReason: 'ended' };
    h.route(`POST /v1/grants/${grant.id}/end`, () => json(200, ended));
    const result = await h.run('end', grant.id, '--json');
    expect(h.sent[0]).toMatchObject({ method: 'POST', body: undefined });
    expect(JSON.parse(result.stdout)).toEqual(ended);
  });

  it('certify turns yes/no into booleans', async () => {
    const closed = {
      ...grant,
      state: 'closed',
      certification: { by: 'bob', at: '2025-06-01T11:00:00.000Z', necessary: true, scoped: false, removed: true, note: 'ok' },
    };
    h.route(`POST /v1/grants/${grant.id}/certify`, () => json(200, closed));
    const result = await h.run('certify', grant.id, '--necessary', 'yes', '--scoped', 'no', '--removed', 'yes', '--note', 'ok', '--json');
    expect(result.code).toBe(0);
    expect(h.sent[0]?.body).toEqual({ necessary: true, scoped: false, removed: true, note: 'ok' });
    expect(JSON.parse(result.stdout)).toEqual(closed);
    const human = await h.run('certify', grant.id, '--necessary', 'yes', '--scoped', 'no', '--removed', 'yes', '--note', 'ok');
    expect(human.stdout).toContain('necessary yes, scoped no, removed yes');
  });

  it('certify refuses anything but yes or no', async () => {
    const result = await h.run('certify', grant.id, '--necessary', 'true', '--scoped', 'no', '--removed', 'yes', '--note', 'ok');
    expect(result.code).toBe(2);
    expect(h.sent).toHaveLength(0);
  });

  it('grants --state filters on the server and --json prints {grants}', async () => {
    h.route('GET /v1/grants', () => json(200, { grants: [grant] }));
    const result = await h.run('grants', '--state', 'active', '--json');
    expect(h.sent[0]?.url).toBe('http://127.0.0.1:8420/v1/grants?state=active');
    expect(JSON.parse(result.stdout)).toEqual({ grants: [grant] });
    const table = await h.run('grants');
    expect(table.stdout).toMatch(/^ID\s+ACCOUNT\s+STATE/);
    expect(table.stdout).toContain(grant.id);
  });

  it('grant show prints the GrantView', async () => {
    h.route(`GET /v1/grants/${grant.id}`, () => json(200, grant));
    expect(JSON.parse((await h.run('grant', 'show', grant.id, '--json')).stdout)).toEqual(grant);
    expect((await h.run('grant', 'show', grant.id)).stdout).toMatch(/incident\s+INC-42/);
  });

  it('a grant id cannot change the request path', async () => {
    await h.run('grant', 'show', '../accounts');
    expect(h.sent[0]?.url).toBe('http://127.0.0.1:8420/v1/grants/..%2Faccounts');
  });
});

describe('audit', () => {
  it('verify --file uses deps.verifyFile, no server; exit 3 and the seq when broken', async () => {
    h.setVerification({ ok: false, firstBadSeq: 7, reason: 'broken link', events: 9 });
    const result = await h.run('audit', 'verify', '--file', 'bundle.jsonl');
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('audit chain broken at seq 7: broken link');
    expect(h.verified.file).toHaveLength(1);
    expect(h.verified.file[0]).toMatch(/bundle\.jsonl$/);
    expect(h.sent).toHaveLength(0);
  });

  it('verify --file --json prints the verification and exits 0 when ok', async () => {
    const result = await h.run('audit', 'verify', '--file', 'bundle.jsonl', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, events: 12, headSeq: 12, checkpoints: 3 });
  });

  it('verify --data-dir uses deps.verifyDataDir', async () => {
    expect((await h.run('audit', 'verify', '--data-dir', '/var/lib/bg')).code).toBe(0);
    expect(h.verified.dataDir).toEqual(['/var/lib/bg']);
    expect(h.sent).toHaveLength(0);
  });

  it('verify without --file asks the server', async () => {
    h.route('GET /v1/audit/verify', () => json(200, { ok: false, firstBadSeq: 3, reason: 'hash mismatch', events: 5 }));
    const result = await h.run('audit', 'verify', '--json');
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toEqual({ ok: false, firstBadSeq: 3, reason: 'hash mismatch', events: 5 });
  });

  it('export writes the JSON Lines body with mode 0600 via a temp file and prints the line count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-export-'));
    const out = join(dir, 'audit.jsonl');
    const body = '{"type":"event","seq":1}\n{"type":"event","seq":2}\n{"type":"key"}\n';
    h.route('GET /v1/audit/export', () => new Response(body, { status: 200, headers: { 'content-type': 'application/x-ndjson' } }));
    const result = await h.run('audit', 'export', '--out', out);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('exported 3 lines');
    expect(readFileSync(out, 'utf8')).toBe(body);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['audit.jsonl']);
  });

  it('export that the server refuses writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-export-'));
    h.route('GET /v1/audit/export', () => json(403, { error: { code: 'forbidden', message: 'needs the admin or auditor role' } }));
    expect((await h.run('audit', 'export', '--out', join(dir, 'a.jsonl'))).code).toBe(5);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('both --file and --data-dir is a usage error', async () => {
    expect((await h.run('audit', 'verify', '--file', 'a', '--data-dir', 'b')).code).toBe(2);
  });
});

describe('init and serve', () => {
  it('init --json prints {adminToken}', async () => {
    const result = await h.run('init', '--data-dir', '/tmp/bg-x', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ adminToken: 'bgt_admin_secret' });
  });

  it('init for people shows the dir, the token and that it is shown once', async () => {
    const result = await h.run('init', '--data-dir', '/tmp/bg-x');
    expect(result.stdout).toContain('/tmp/bg-x');
    expect(result.stdout).toContain('bgt_admin_secret');
    expect(result.stdout).toContain('shown once; store it now');
  });

  it('init uses BREAKGLASS_DATA_DIR, and an initialised dir is an error', async () => {
    h = harness({ env: { BREAKGLASS_DATA_DIR: '/srv/bg' } });
    h.deps.init = ({ dataDir }) => Promise.reject(new AppError('conflict', `${dataDir} is already initialised`));
    const result = await h.run('init');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: /srv/bg is already initialised');
  });

  it('serve passes port and host and prints the URL', async () => {
    const calls: unknown[] = [];
    h.deps.serve = (options) => {
      calls.push({ dataDir: options.dataDir, port: options.port, host: options.host });
      options.onListening('http://0.0.0.0:9999');
      return Promise.resolve();
    };
    const result = await h.run('serve', '--data-dir', '/srv/bg', '--port', '9999', '--host', '0.0.0.0');
    expect(calls).toEqual([{ dataDir: '/srv/bg', port: 9999, host: '0.0.0.0' }]);
    expect(result.stdout).toContain('http://0.0.0.0:9999');
    expect((await h.run('serve', '--port', 'http')).code).toBe(2);
  });
});

describe('help', () => {
  const paths = (command: Command, prefix: string[] = []): string[][] =>
    command.commands.filter((c) => c.name() !== 'help').flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);

  it('every command has --help with a description and an Example', async () => {
    const all = paths(buildProgram(h.deps));
    expect(all.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining(['init', 'serve', 'apply', 'accounts', 'token create', 'invoke', 'reveal', 'end', 'certify', 'grants', 'grant show', 'audit verify', 'audit export']),
    );
    for (const path of [[], ...all]) {
      const result = await h.run(...path, '--help');
      expect(result.code, path.join(' ')).toBe(0);
      expect(result.stdout, path.join(' ')).toContain('Example:');
    }
  });

  it('the root help documents the exit codes', async () => {
    const { stdout } = await h.run('--help');
    for (const line of ['0  ok', '2  usage or validation error', '3  audit chain broken', '4  not found', '5  unauthenticated or forbidden', '6  cannot reach the server']) {
      expect(stdout).toContain(line);
    }
  });
});

describe('output modes', () => {
  it('colours only on a terminal without NO_COLOR, never with --json', async () => {
    const colourful = harness({ stdoutIsTTY: true });
    colourful.route('GET /v1/grants', () => json(200, { grants: [grant] }));
    expect((await colourful.run('grants')).stdout).toContain('\u001b[');
    expect((await colourful.run('grants', '--json')).stdout).not.toContain('\u001b[');
    const noColor = harness({ stdoutIsTTY: true, env: { NO_COLOR: '1' } });
    noColor.route('GET /v1/grants', () => json(200, { grants: [grant] }));
    expect((await noColor.run('grants')).stdout).not.toContain('\u001b[');
    h.route('GET /v1/grants', () => json(200, { grants: [grant] }));
    expect((await h.run('grants')).stdout).not.toContain('\u001b[');
  });
});
