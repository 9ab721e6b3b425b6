import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/index.js';
import type { CliDeps, RootKeyChangeReport } from '../cli-deps.js';
import { runCli } from '../program.js';

const share = (n: number) => `bgunseal1.${'A'.repeat(58)}${n}.abcdef`;

function harness(overrides: Partial<CliDeps> = {}) {
  let stdout = '';
  let stderr = '';
  const posted: unknown[] = [];
  const deps: CliDeps = {
    init: ({ dataDir }) => Promise.resolve({ adminToken: 'bgt_admin', dataDir }),
    serve: () => Promise.resolve(),
    verifyFile: () => Promise.reject(new Error('unused')),
    verifyDataDir: () => Promise.reject(new Error('unused')),
    env: {},
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (_input, init) => {
      posted.push(typeof init?.body === 'string' ? JSON.parse(init.body) : undefined);
      return Promise.resolve(new Response(JSON.stringify({ sealed: true, mode: 'shamir', threshold: 3, shares: 5, progress: 1 }), { headers: { 'content-type': 'application/json' } }));
    },
    stdoutIsTTY: false,
    ...overrides,
  };
  return {
    deps,
    posted,
    async run(...args: string[]) {
      stdout = '';
      stderr = '';
      const code = await runCli(['node', 'breakglass', ...args], deps);
      return { code, stdout, stderr };
    },
  };
}

describe('operator unseal', () => {
  it('reads one share from stdin and posts it; never takes one from argv', async () => {
    const h = harness({ readStdin: () => Promise.resolve(`${share(1)}\n`) });
    const result = await h.run('operator', 'unseal');
    expect(result.code, result.stderr).toBe(0);
    expect(h.posted).toEqual([{ share: share(1) }]);
    expect(result.stdout).toMatch(/1 of 3; still sealed, 2 more needed/);
    expect((await h.run('operator', 'unseal', share(2))).code).toBe(2);
    expect(h.posted).toHaveLength(1);
  });

  it('refuses two shares at once, and text that holds none', async () => {
    const two = harness({ readStdin: () => Promise.resolve(`${share(1)}\n${share(2)}\n`) });
    expect((await two.run('operator', 'unseal')).stderr).toMatch(/one unseal share per invocation/);
    const none = harness({ readStdin: () => Promise.resolve('hello\n') });
    expect((await none.run('operator', 'unseal')).stderr).toMatch(/no unseal share found/);
    expect(two.posted).toEqual([]);
  });

  it('asks with a hidden prompt on a terminal', async () => {
    const prompts: string[] = [];
    const h = harness({ stdinIsTTY: true, promptSecret: (p) => (prompts.push(p), Promise.resolve(share(3))) });
    expect((await h.run('operator', 'unseal')).code).toBe(0);
    expect(prompts).toEqual(['unseal share (input hidden): ']);
  });
});

describe('operator rotate-root', () => {
  const report: RootKeyChangeReport = { op: 'rotation', previousMode: 'shamir', mode: 'shamir', sealId: 'seal-2', unsealShares: [share(7), share(8)] };

  it('--json: the one document with the new shares is printed before the change commits', async () => {
    const events: string[] = [];
    let out = '';
    const h = harness({
      stdout: (text) => {
        out += text;
        events.push('printed');
      },
      rotateRoot: ({ deliverShares }) => {
        deliverShares(report.unsealShares!);
        events.push('committed');
        return Promise.resolve(report);
      },
    });
    const result = await h.run('operator', 'rotate-root', '--data-dir', '/srv/bg', '--json');
    expect(result.code).toBe(0);
    expect(events).toEqual(['printed', 'committed']);
    expect(JSON.parse(out)).toEqual({ op: 'rotation', dataDir: '/srv/bg', unsealShares: [share(7), share(8)] });
  });

  it('if the change fails after the shares were printed, says they are void', async () => {
    const h = harness({
      rotateRoot: ({ deliverShares }) => {
        deliverShares(report.unsealShares!);
        return Promise.reject(new AppError('conflict', 'the store changed'));
      },
    });
    const result = await h.run('operator', 'rotate-root', '--data-dir', '/srv/bg');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(share(7));
    expect(result.stderr).toMatch(/VOID/);
  });

  it('reads current shares from stdin, one per line, and insists on the threshold', async () => {
    let got: readonly string[] = [];
    const h = harness({
      readStdin: () => Promise.resolve(`${share(1)}\n${share(2)}\n`),
      rotateRoot: async ({ secrets }) => {
        got = await secrets.shares!(2);
        const done: RootKeyChangeReport = { op: 'rotation', previousMode: 'keyfile', mode: 'keyfile', sealId: 's', rewrapped: { 'targets.admin_secret_sealed': 2 }, skipped: 1 };
        return done;
      },
    });
    const result = await h.run('operator', 'rotate-root');
    expect(result.code, result.stderr).toBe(0);
    expect(got).toEqual([share(1), share(2)]);
    expect(result.stdout).toMatch(/targets.admin_secret_sealed 2; 1 custodian-sealed value/);

    const short = harness({ readStdin: () => Promise.resolve(share(1)), rotateRoot: async ({ secrets }) => (await secrets.shares!(2), report) });
    expect((await short.run('operator', 'rotate-root')).stderr).toMatch(/2 current unseal shares are needed \(got 1\)/);
  });

  it('a passphrase comes from the environment, never from argv; without a terminal the error names the variable', async () => {
    const h = harness({ rekey: async ({ secrets }) => (await secrets.newPassphrase!(), report) });
    const result = await h.run('operator', 'rekey', '--seal', 'passphrase');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/set BREAKGLASS_NEW_PASSPHRASE/);
  });
});
