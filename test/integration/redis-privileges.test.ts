/**
 * Issue 12 (P1): a pre-staged Redis user's permissions are compared with its declared `rules`
 * by `inspect`, against the shared server on 127.0.0.1:6379. Users start with `bgt_rp` and are
 * deleted in afterAll; no scratch user is left behind.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector } from '../../src/connectors/redis/redis-connector.js';
import type { Connector, PrestagedOperations } from '../../src/ports/index.js';
import { probeTcp, requireService } from '../support/integration.js';

const HOST = '127.0.0.1';
const PORT = 6379;
const check = await requireService(`Redis on ${HOST}:${PORT}`, () => probeTcp(HOST, PORT));
const tag = Math.random().toString(36).slice(2, 8);
let n = 0;
const created: string[] = [];
const newUser = () => {
  const user = `bgt_rp${tag}_${++n}`;
  created.push(user);
  return user;
};

async function redis(...args: string[]): Promise<unknown> {
  const r = new Redis({ host: HOST, port: PORT, lazyConnect: true });
  await r.connect();
  try {
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

describe.skipIf(check.skip)('redis declared rules (shared Redis)', () => {
  let connector: Connector;
  let ops: PrestagedOperations;
  beforeAll(() => {
    connector = createRedisConnector({ type: 'redis', settings: { host: HOST, port: PORT }, adminSecret: undefined });
    ops = connector.prestaged!;
  });
  afterAll(async () => {
    for (const user of created) await redis('ACL', 'DELUSER', user).catch(() => undefined);
    await connector?.close();
  });

  it('as staged, the permissions match the declared rules (and the default ones when none are declared)', async () => {
    const user = newUser();
    const spec = { user, rules: '~cache:* &* -@all +get +set' };
    await ops.stage(user, 'secret-1', spec);
    expect((await ops.inspect(user, spec)).privilegeDifferences).toEqual([]);
    const plain = newUser();
    await ops.stage(plain, 'secret-2', { user: plain });
    expect((await ops.inspect(plain, { user: plain })).privilegeDifferences).toEqual([]);
    const users = (await redis('ACL', 'USERS')) as string[];
    expect(users.filter((u) => u.startsWith('bg-rules-check-'))).toEqual([]);
  });

  it('a rule changed by hand (ACL SETUSER +@all) is a difference inspect names; the password never shows', async () => {
    const user = newUser();
    const spec = { user, rules: '~cache:* -@all +get' };
    await ops.stage(user, 'secret-3', spec);
    await redis('ACL', 'SETUSER', user, '+@all', '~*');
    const differences = (await ops.inspect(user, spec)).privilegeDifferences ?? [];
    expect(differences.length).toBeGreaterThan(0);
    expect(differences.join('\n')).toMatch(/rules commands: declared .*\+get.*, actual .*\+@all/);
    expect(differences.join('\n')).toMatch(/rules keys/);
    expect(differences.join('\n')).not.toMatch(/[0-9a-f]{64}/);
    expect((await ops.inspect(user)).privilegeDifferences).toBeUndefined();
  });
});
