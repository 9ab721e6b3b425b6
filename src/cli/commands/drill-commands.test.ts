/** `drill run` against a fake server: the `--json` contract, human output, progress on stderr, exit codes. */
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from '../program.js';
import { serverSideUnused } from '../../../test/support/cli-deps.js';

const steps = ['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated'];
const report = (result: 'passed' | 'failed') => ({
  account: 'db-breakglass',
  result,
  grant: 'gr_01J9ZB6D4N2MABCD',
  steps: steps.map((name, i) => ({ name, result: result === 'failed' && i === 1 ? 'failed' : result === 'failed' && i > 1 ? 'skipped' : 'passed', ms: 12, ...(result === 'failed' && i === 1 ? { detail: 'the stored secret of "db-breakglass" does not log in on "db": it was changed outside Breakglass' } : {}) })),
});

/** A server that streams its progress: these events, one JSON object per line. */
class Lines {
  constructor(readonly events: readonly unknown[]) {}
}
const streamed = (r: ReturnType<typeof report>) => new Lines([...r.steps.map((step) => ({ event: 'step', step })), { event: 'result', report: r }]);

async function run(answer: unknown, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const bodies: unknown[] = [];
  const deps: CliDeps = {
    ...serverSideUnused,
    env: { BREAKGLASS_TOKEN: 'bgt_admin_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      if (typeof init?.body === 'string') bodies.push(JSON.parse(init.body));
      const found = init?.method === 'POST' && url.pathname === '/v1/accounts/db-breakglass/drill';
      if (found && answer instanceof Lines) {
        expect(new Headers(init.headers).get('accept')).toMatch(/application\/x-ndjson/);
        const text = answer.events.map((e) => `${JSON.stringify(e)}\n`).join('');
        // Cut across line boundaries, as a network would.
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            const bytes = new TextEncoder().encode(text);
            for (let i = 0; i < bytes.length; i += 37) controller.enqueue(bytes.slice(i, i + 37));
            controller.close();
          },
        });
        return Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'application/x-ndjson' } }));
      }
      return Promise.resolve(new Response(JSON.stringify(found ? answer : { error: { code: 'not_found', message: 'no route' } }), { status: found ? 200 : 404, headers: { 'content-type': 'application/json' } }));
    },
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  return { code, stdout, stderr, bodies };
}

describe('breakglass drill run', () => {
  it('--json prints {account, result, steps[{name, result, ms}]} and exits 0 when passed', async () => {
    const { code, stdout, stderr, bodies } = await run(report('passed'), 'drill', 'run', 'db-breakglass', '--json');
    expect(code).toBe(0);
    const body = JSON.parse(stdout) as { account: string; result: string; steps: { name: string; result: string; ms: number }[] };
    expect(body).toMatchObject({ account: 'db-breakglass', result: 'passed' });
    expect(body.steps.map((s) => s.name)).toEqual(steps);
    expect(stderr).toBe('');
    expect(bodies).toEqual([{}]);
  });

  it('a failed drill exits 1; human mode shows the steps and why, with progress on stderr', async () => {
    const { code, stdout, stderr } = await run(report('failed'), 'drill', 'run', 'db-breakglass', '--with-quorum');
    expect(code).toBe(1);
    expect(stdout).toMatch(/drill of db-breakglass .*FAILED/);
    expect(stdout).toMatch(/login\s+failed.*changed outside Breakglass/);
    expect(stderr).toMatch(/drilling db-breakglass/);
  });

  it('live progress: each step on stderr as the server reports it; --json prints only the report', async () => {
    const human = await run(streamed(report('failed')), 'drill', 'run', 'db-breakglass');
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/✓ invoke\s+12 ms\n\s+✗ login\s+12 ms\s+the stored secret .* changed outside Breakglass\n\s+– expire\s+skipped/);
    expect(human.stdout).toMatch(/drill of db-breakglass .*FAILED/);
    const json = await run(streamed(report('passed')), 'drill', 'run', 'db-breakglass', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(report('passed'));
    expect(json.stderr).toBe('');
  });

  it('a quorum drill says whom it waits for; a drill that broke off exits non-zero and says so', async () => {
    const waiting = { event: 'waiting', grant: 'gr_01J9ZB6D4N2MABCD', presented: 1, threshold: 2, expiresAt: '2026-11-29T10:10:00.000Z' };
    const broke = await run(new Lines([{ event: 'step', step: report('passed').steps[0] }, waiting, { event: 'error', error: { code: 'store_unavailable', message: 'the store is full' } }]), 'drill', 'run', 'db-breakglass', '--with-quorum');
    expect(broke.code).not.toBe(0);
    expect(broke.stderr).toMatch(/waiting for custodians: 1 of 2 shares for grant gr_01J9ZB6D4N2MABCD .*breakglass share submit gr_01J9ZB6D4N2MABCD/);
    expect(broke.stderr).toMatch(/the drill broke off: the store is full/);
    expect(broke.stdout).toBe('');
  });

  it('--help ends with an example', async () => {
    const { stdout } = await run(report('passed'), 'drill', 'run', '--help');
    expect(stdout).toMatch(/Example:\n\s+breakglass drill run db-breakglass/);
  });
});
