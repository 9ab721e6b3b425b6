/** Issue 11 (H3): `grants` filters and pages, `grant show --timeline`, `grant resolve`, `certify --misuse-suspected` against a fake server. */
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from '../program.js';
import { serverSideUnused } from '../../../test/support/cli-deps.js';

const view = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  account: 'db-breakglass',
  state: 'awaiting-certification',
  mode: 'prestaged',
  condition: 'outage',
  reason: 'primary down',
  incident: 'INC-7',
  requester: 'alice',
  createdAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-01T00:15:00.000Z',
  ...extra,
});

type Route = (url: URL, body: unknown) => { status: number; body: unknown } | undefined;

async function run(route: Route, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const requests: { method: string; path: string; query: Record<string, string>; body: unknown }[] = [];
  const deps: CliDeps = {
    ...serverSideUnused,
    env: { BREAKGLASS_TOKEN: 'bgt_admin_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
      requests.push({ method: init?.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), body });
      const answer = route(url, body) ?? { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
      return Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } }));
    },
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  return { code, stdout, stderr, requests };
}

describe('breakglass grants (history)', () => {
  it('passes every filter to the server and prints {grants, nextCursor} with --json', async () => {
    const page = { grants: [view('gr_aaaaaaaaaa')], nextCursor: 'WzE4OTM0NTYwMDAwMDAsImdyX2EiXQ' };
    const { code, stdout, requests } = await run(
      (url) => (url.pathname === '/v1/grants' ? { status: 200, body: page } : undefined),
      'grants', '--account', 'db-breakglass', '--incident', 'INC-7', '--requester', 'alice', '--state', 'certification-overdue', '--since', '7d', '--until', '2030-01-02T00:00:00Z', '--limit', '1', '--json',
    );
    expect(code).toBe(0);
    expect(requests[0]!.query).toEqual({ account: 'db-breakglass', incident: 'INC-7', requester: 'alice', state: 'certification-overdue', since: '7d', until: '2030-01-02T00:00:00Z', limit: '1' });
    expect(JSON.parse(stdout)).toEqual(page);
  });

  it('--all follows the cursor to the end, with progress on stderr and one answer on stdout', async () => {
    const pages: Record<string, { grants: unknown[]; nextCursor?: string }> = {
      first: { grants: [view('gr_aaaaaaaaa3'), view('gr_aaaaaaaaa2')], nextCursor: 'c1' },
      c1: { grants: [view('gr_aaaaaaaaa1')] },
    };
    const { code, stdout, stderr, requests } = await run(
      (url) => (url.pathname === '/v1/grants' ? { status: 200, body: pages[url.searchParams.get('cursor') ?? 'first'] } : undefined),
      'grants', '--since', '30d', '--limit', '2', '--all', '--json',
    );
    expect(code).toBe(0);
    expect(requests.map((r) => r.query)).toEqual([{ since: '30d', limit: '2' }, { since: '30d', limit: '2', cursor: 'c1' }]);
    expect((JSON.parse(stdout) as { grants: { id: string }[] }).grants.map((g) => g.id)).toEqual(['gr_aaaaaaaaa3', 'gr_aaaaaaaaa2', 'gr_aaaaaaaaa1']);
    expect(stderr).toMatch(/2 cases \(page 1\), fetching more/);
  });

  it('human table by default: an overdue case reads certification-overdue; the next page is named', async () => {
    const page = { grants: [view('gr_aaaaaaaaa1', { certificationOverdue: true, certificationOverdueAt: '2030-01-04T00:00:00.000Z' })], nextCursor: 'c1' };
    const { code, stdout } = await run((url) => (url.pathname === '/v1/grants' ? { status: 200, body: page } : undefined), 'grants');
    expect(code).toBe(0);
    expect(stdout).toMatch(/gr_aaaaaaaaa1\s+db-breakglass\s+certification-overdue\s+alice\s+INC-7/);
    expect(stdout).toMatch(/--cursor c1/);
  });

  it('a bad --since, --limit or --state is a usage error before any request', async () => {
    for (const args of [['--since', 'yesterday'], ['--limit', '0'], ['--limit', '501'], ['--state', 'done']]) {
      const { code, stderr, requests } = await run(() => undefined, 'grants', ...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(new RegExp(args[0]!));
      expect(requests).toEqual([]);
    }
  });

  it('a 400 from the server names the parameter and exits non-zero', async () => {
    const { code, stderr } = await run(
      () => ({ status: 400, body: { error: { code: 'validation', message: 'cursor: not a cursor from a previous page; start again without --cursor', path: 'cursor' } } }),
      'grants', '--cursor', 'bogus',
    );
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/cursor/);
  });
});

describe('breakglass grant show --timeline', () => {
  const timeline = {
    grant: 'gr_aaaaaaaaa1',
    events: [
      { seq: 4, at: '2030-01-01T00:00:00.000Z', actor: 'alice', action: 'grant.requested', details: { from: 'requested', to: 'requested', incident: 'INC-7', reason: 'primary down' } },
      { seq: 5, at: '2030-01-01T00:00:00.000Z', actor: 'system', action: 'grant.activated', details: { from: 'requested', to: 'active' } },
      { seq: 9, at: '2030-01-01T00:05:00.000Z', actor: 'bob', action: 'grant.certified', details: { from: 'awaiting-certification', to: 'under-review', misuseSuspected: true, note: 'odd' } },
    ],
  };
  const route: Route = (url) => (url.pathname === '/v1/grants/gr_aaaaaaaaa1/timeline' ? { status: 200, body: timeline } : undefined);

  it('prints the events in order: time, actor, action, key details', async () => {
    const { code, stdout } = await run(route, 'grant', 'show', 'gr_aaaaaaaaa1', '--timeline');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/TIME\s+ACTOR\s+ACTION\s+DETAILS/);
    expect(lines[1]).toMatch(/alice\s+grant\.requested\s+incident: INC-7; reason: primary down/);
    expect(lines[2]).toMatch(/system\s+grant\.activated\s+requested → active/);
    expect(lines[3]).toMatch(/bob\s+grant\.certified\s+awaiting-certification → under-review; note: odd; misuseSuspected: true/);
  });

  it('--json prints {grant, events}', async () => {
    const { code, stdout } = await run(route, 'grant', 'show', 'gr_aaaaaaaaa1', '--timeline', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(timeline);
  });
});

describe('breakglass certify --misuse-suspected and grant resolve', () => {
  it('certify --misuse-suspected yes sends misuseSuspected and shows the case under review with what to do next', async () => {
    const { code, stdout, requests } = await run(
      (url) => (url.pathname === '/v1/grants/gr_aaaaaaaaa1/certify' ? { status: 200, body: view('gr_aaaaaaaaa1', { state: 'under-review', certification: { by: 'bob', at: '2030-01-01T01:00:00.000Z', necessary: true, scoped: false, removed: true, note: 'odd', misuseSuspected: true } }) } : undefined),
      'certify', 'gr_aaaaaaaaa1', '--necessary', 'yes', '--scoped', 'no', '--removed', 'yes', '--misuse-suspected', 'yes', '--note', 'odd',
    );
    expect(code).toBe(0);
    expect(requests[0]!.body).toEqual({ necessary: true, scoped: false, removed: true, note: 'odd', misuseSuspected: true });
    expect(stdout).toMatch(/under-review/);
    expect(stdout).toMatch(/breakglass grant resolve gr_aaaaaaaaa1 --note/);
  });

  it('grant resolve --note posts the note; --json prints the closed case with its resolution', async () => {
    const closed = view('gr_aaaaaaaaa1', { state: 'closed', resolution: { by: 'admin', at: '2030-01-02T00:00:00.000Z', note: 'reviewed' } });
    const { code, stdout, requests } = await run(
      (url) => (url.pathname === '/v1/grants/gr_aaaaaaaaa1/resolve' ? { status: 200, body: closed } : undefined),
      'grant', 'resolve', 'gr_aaaaaaaaa1', '--note', 'reviewed', '--json',
    );
    expect(code).toBe(0);
    expect(requests[0]).toMatchObject({ method: 'POST', body: { note: 'reviewed' } });
    expect(JSON.parse(stdout)).toMatchObject({ state: 'closed', resolution: { by: 'admin', note: 'reviewed' } });
  });

  it('the requester resolving their own case: the 403 is shown and the exit code is non-zero', async () => {
    const { code, stderr } = await run(
      () => ({ status: 403, body: { error: { code: 'separation_of_duties', message: 'the requester of a grant cannot certify it; ask the incident owner' } } }),
      'grant', 'resolve', 'gr_aaaaaaaaa1', '--note', 'mine',
    );
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/requester/);
  });
});
