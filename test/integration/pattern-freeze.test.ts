/**
 * A catalog's incidentPattern and a responder's incident meet in the server's event loop. With a
 * backtracking engine, `(a|aa)+$` against 200 `a`s and a `!` would take longer than the universe
 * has left, and the whole server (revocations, /healthz) with it. Proved on the built server.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';

vi.setConfig({ testTimeout: 240_000 });

const shapes = ['(a+)+$', '(a|aa)+$', '^(a|a)*$', '^(\\w+\\s?)*$', '^(a+)+b'];

const catalog = shapes
  .map((pattern, i) => `  - name: p${i}\n    conditions: [outage]\n    incidentPattern: '${pattern}'\n    approval: { mode: post-hoc }\n    defaultTtl: 15m\n    maxTtl: 1h`)
  .join('\n');
const accounts = shapes.map((_, i) => `  - { name: acct-${i}, target: pg, mode: ephemeral, policy: p${i} }`).join('\n');

describe('patterns cannot freeze the server', () => {
  let server: ServeProcess | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bg-patterns-'));
    const port = await freePort();
    env = { BREAKGLASS_ADDR: `http://127.0.0.1:${port}`, BREAKGLASS_TOKEN: '', PG_ADMIN_PASSWORD: 'unused-by-this-test' };
    const init = runCliProcess(['init', '--data-dir', dataDir, '--json'], env);
    expect(init.code, init.stderr).toBe(0);
    env.BREAKGLASS_TOKEN = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    server = await serveProcess(dataDir, port);
    const file = join(dataDir, 'catalog.yaml');
    writeFileSync(
      file,
      `targets:\n  - { name: pg, type: postgres, host: 127.0.0.1, port: 5432, database: postgres, user: admin, passwordEnv: PG_ADMIN_PASSWORD }\npolicies:\n${catalog}\naccounts:\n${accounts}\n`,
    );
    const applied = runCliProcess(['apply', '-f', file], env);
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('patterns cannot freeze the server: catastrophic shapes answer in milliseconds while /healthz keeps answering', async () => {
    const headers = { authorization: `Bearer ${env.BREAKGLASS_TOKEN}`, 'content-type': 'application/json' };
    for (const [i, pattern] of shapes.entries()) {
      const incident = pattern.includes('\\w') ? `${'word '.repeat(39)}!` : `${'a'.repeat(199)}!`;
      const started = performance.now();
      const invoked = fetch(`${server!.url}/v1/grants`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ account: `acct-${i}`, condition: 'outage', reason: 'db down', incident }),
      });
      const health = await fetch(`${server!.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      expect(health.status, pattern).toBe(200);
      const answer = await invoked;
      expect(performance.now() - started, pattern).toBeLessThan(2_000);
      expect(answer.status, pattern).toBe(422);
      expect(((await answer.json()) as { error: { code: string } }).error.code, pattern).toBe('policy_violation');
    }
  });
});
