/**
 * Security: a catalog arrives over the API, so what the server may execute is decided by the
 * server (BREAKGLASS_EXEC_DIRS), never by an admin token. Runs the real example script on the
 * MariaDB of this machine.
 */
import { dirname, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';

const maria = await requireService('MariaDB on 127.0.0.1:3306', () => probeTcp('127.0.0.1', 3306));
const EXAMPLE = resolve(import.meta.dirname, '../../examples/exec-mariadb.sh');
const user = `bgallow_${Math.random().toString(36).slice(2, 8)}`;

const catalog = {
  targets: [
    {
      name: 'script',
      type: 'exec',
      command: EXAMPLE,
      args: ['--host', '127.0.0.1', '--port', '3306', '--user', 'root', '--account-host', '127.0.0.1'],
      capabilities: { supportsSessionKill: true, supportsNativeExpiry: false, supportsPrestaged: true, supportsEphemeral: true },
    },
  ],
  policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
  accounts: [{ name: 'script-bg', target: 'script', mode: 'prestaged', user, policy: 'p0' }],
  users: [],
};

describe.skipIf(maria.skip)('exec targets run only what the server allows', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('security: an exec command outside BREAKGLASS_EXEC_DIRS is never run', async () => {
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog);
    expect(applied.body.staging).toEqual([expect.objectContaining({ account: 'script-bg', staging: 'pending', error: expect.stringMatching(/BREAKGLASS_EXEC_DIRS/) })]);
  });

  it('an exec command under an allowed directory stages the account', async () => {
    h = await startHarness({ dialect: 'sqlite', execDirs: [dirname(EXAMPLE)] });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    // Staged at once, or by the scheduler's retry when the shared MariaDB is busy with other suites.
    const harness = h;
    await eventually(async () => (await harness.call(harness.adminToken, 'GET', '/v1/accounts')).body.accounts[0]?.staging === 'staged', 30_000, 'staging through the script');
    const mysql = await import('mysql2/promise');
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    await conn.query(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
    await conn.end();
  });
});
