/**
 * The Redis connector against the real Redis on 127.0.0.1:6379: the shared conformance suite,
 * then what only Redis has (`off` does not end sessions, AUTH cannot tell disabled from wrong,
 * `#<hash>` passwords, ACL DELUSER disconnects, rules in the spec). Every user made here starts
 * with this run's `bgt_…` prefix (or is a grant's `bg_…` user) and is deleted afterwards; the
 * `default` user is never touched. The ACL-file and TLS tests run private redis-servers
 * (test/support/redis-server.ts): the shared one has no TLS.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { inspect as utilInspect } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, redisDriver } from '../../src/connectors/redis/redis-connector.js';
import { AppError } from '../../src/errors/index.js';
import type { AccountSpec, Connector, EphemeralOperations, PrestagedOperations } from '../../src/ports/index.js';
import { connectorConformance, type LoginResult } from '../conformance/connector-conformance.js';
import { probeTcp, requireService } from '../support/integration.js';
import { freePort } from '../support/private-process.js';
import { redisCommand, redisServerAvailable, startRedisServer, type RedisServer } from '../support/redis-server.js';

const HOST = '127.0.0.1';
const PORT = 6379;
const check = await requireService(`Redis on ${HOST}:${PORT}`, () => probeTcp(HOST, PORT));

const tag = Math.random().toString(36).slice(2, 8);
const RUN = `bgt_rc${tag}_`;
const runStart = Date.now();
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const inAnHour = () => new Date(Date.now() + 3_600_000);

const HOSTILE_NAMES = [
  `${RUN}q"uote`,
  `${RUN}it's`,
  `${RUN}semi;colon;ACL|DELUSER|default`,
  `${RUN}back\\slash\\`,
  `${RUN}d\u0435fault`, // Cyrillic "е": looks like default, is not
  `${RUN}a=b`,
  `${RUN}user=default`, // CLIENT LIST parsing must not count default's clients
  `${RUN}*~&+@all`,
  `${RUN}>pw`,
  `${RUN}(nopass)`,
  `${RUN}$1%s{}[]`,
  `${RUN}ünï€😀`,
  `${RUN}`.padEnd(128, 'x'),
];
/** Empty, NUL, whitespace of any kind, control and invisible characters, too long. */
const REJECTED_NAMES = ['', 'bgt_nul\0byte', 'bgt_with space', 'bgt_tab\tx', 'bgt_new\nline', 'bgt_cr\rx', 'bgt_ctl\u0001', 'bgt_nbsp\u00a0x', 'bgt_zw\u200bx', 'bgt_'.padEnd(129, 'x'), 'bgt_\uD800'];

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

interface ConnectorOptions {
  port?: number;
  timeoutMs?: number;
  user?: string;
  adminSecret?: string;
  tls?: unknown;
  allowCleartext?: boolean;
}

function connectorOn(extra: ConnectorOptions = {}): Connector {
  const { port, timeoutMs, adminSecret, ...settings } = extra;
  return createRedisConnector({
    type: 'redis',
    settings: { host: HOST, port: port ?? PORT, ...settings },
    adminSecret,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

/** Where a responder's client connects: the shared server, or a private one (over TLS if it has it). */
interface Endpoint {
  port: number;
  caFile?: string | undefined;
}

/** A client the way a responder would use one; WRONGPASS is a refusal, anything else throws. */
async function login(username: string, password: string, at: Endpoint = { port: PORT }): Promise<LoginResult> {
  const tls = at.caFile === undefined ? {} : { tls: { ca: readFileSync(at.caFile), rejectUnauthorized: true } };
  const client = new Redis({ host: HOST, port: at.port, username, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000, ...tls });
  let lastError: unknown;
  client.on('error', (err: unknown) => (lastError = err));
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    const reason = lastError ?? err;
    if (reason instanceof Error && reason.message.startsWith('WRONGPASS')) return 'rejected';
    throw reason;
  }
  return {
    alive: () => client.ping().then((reply) => reply === 'PONG', () => false),
    close: () => Promise.resolve(client.disconnect()),
  };
}

/** Admin commands outside the connector, as `default` on a short-lived connection. */
const redis = (args: string[]) => redisCommand(PORT, args);

async function getUser(name: string): Promise<Record<string, unknown> | null> {
  const reply = (await redis(['ACL', 'GETUSER', name])) as unknown[] | null;
  if (reply === null) return null;
  return Object.fromEntries(Array.from({ length: reply.length / 2 }, (_, i) => [String(reply[2 * i]), reply[2 * i + 1]]));
}

/** Deletes this run's users: the `bgt_rc<tag>_` prefix, and conformance grant users made since we started. */
async function cleanup(): Promise<void> {
  const users = (await redis(['ACL', 'USERS'])) as string[];
  const conformanceUser = (u: string) => {
    const made = Number.parseInt(u.slice('bg_conf'.length, 'bg_conf'.length + 8), 36);
    return u.startsWith('bg_conf') && made >= runStart - 1000 && made <= Date.now();
  };
  const mine = users.filter((u) => u.startsWith(RUN) || u.startsWith(`bg_t${tag}`) || conformanceUser(u));
  if (mine.length > 0) await redis(['ACL', 'DELUSER', ...mine]);
}

/** A TCP server that accepts and never answers (SIGSTOPped or wedged Redis); or a recording proxy. */
async function tcpServer(onSocket: (socket: Socket, sockets: Set<Socket>) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onSocket(socket, sockets);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function recordingProxy(): Promise<{ port: number; wire(): string; close(): Promise<void> }> {
  const chunks: Buffer[] = [];
  const proxy = await tcpServer((client, sockets) => {
    const upstream = connect(PORT, HOST);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on('data', (chunk: Buffer) => (chunks.push(chunk), to.write(chunk)));
      from.on('close', () => to.destroy());
    }
  });
  return { ...proxy, wire: () => Buffer.concat(chunks).toString('utf8') };
}

/**
 * The suite's "errors never carry a secret" starts three calls on the unreachable connector
 * before awaiting the first. A refused connection fails them within milliseconds, in no set
 * order, so a later one rejects before the suite listens and Node reports an unhandled
 * rejection. Each call's promise gets a no-op handler and is returned unchanged: the suite still
 * sees every rejection and checks it.
 */
function observed(connector: Connector): Connector {
  const watch = <Ops extends object>(ops: Ops): Ops =>
    new Proxy(ops, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result: unknown = value.apply(target, args);
          if (result instanceof Promise) result.catch(() => undefined);
          return result;
        };
      },
    });
  return { capabilities: connector.capabilities, prestaged: watch(connector.prestaged!), ephemeral: watch(connector.ephemeral!), close: () => connector.close() };
}

connectorConformance(
  'redis',
  async () => {
    const downPort = await freePort();
    let n = 0;
    return {
      create: (options) => connectorOn(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      unreachable: () => observed(connectorOn({ port: downPort, timeoutMs: 1000 })),
      prestaged: {
        newPrincipal: () => `${RUN}c${++n}`,
        spec: (principal) => ({ user: principal, rules: '~* &* +@all' }),
        login: (principal, secret) => login(principal, secret),
        hostileNames: HOSTILE_NAMES,
        rejectedNames: REJECTED_NAMES,
        // Someone's own user: on, with a password, every permission; made without the connector.
        plantLogin: async (principal, password) => {
          await redis(['ACL', 'SETUSER', principal, 'reset', 'on', `#${sha256(password)}`, '~*', '&*', '+@all']);
        },
        // The admin here is `default` itself.
        reservedNames: ['default'],
      },
      ephemeral: {
        spec: () => ({ rules: 'on ~* &* +@all' }),
        login: (credential) => login(credential.username, credential['password'] ?? ''),
      },
      teardown: cleanup,
    };
  },
  { skip: check.skip },
);

describe.skipIf(check.skip)('redis connector specifics (Redis on 127.0.0.1:6379)', () => {
  let connector: Connector;
  let prestaged: PrestagedOperations;
  let ephemeral: EphemeralOperations;
  let n = 0;
  let defaultBefore: unknown;
  const nextUser = (label = 'u') => `${RUN}${label}${++n}`;
  const nextGrant = () => `gr_t${tag}x${++n}`;
  const issue = (grantId: string, spec: AccountSpec) => ephemeral.issue({ grantId, spec, validUntil: inAnHour() });

  beforeAll(async () => {
    connector = connectorOn();
    prestaged = connector.prestaged!;
    ephemeral = connector.ephemeral!;
    defaultBefore = await getUser('default');
  });
  afterAll(async () => {
    await connector?.close();
    await cleanup();
    // Nothing here may have touched the default user.
    expect(await getUser('default')).toEqual(defaultBefore);
  });

  it('is a driver with session kill, both modes and no native expiry', () => {
    expect(redisDriver.create).toBe(createRedisConnector);
    expect(connector.capabilities).toEqual({ supportsSessionKill: true, supportsNativeExpiry: false, supportsPrestaged: true, supportsEphemeral: true });
  });

  it('ACL SETUSER off alone leaves an authenticated connection working; disable kills it', async () => {
    const user = nextUser();
    await prestaged.stage(user, 'off-secret');
    await prestaged.enable(user, inAnHour());
    const session = (await login(user, 'off-secret')) as Exclude<LoginResult, 'rejected'>;
    expect(await session.alive()).toBe(true);
    await redis(['ACL', 'SETUSER', user, 'off']);
    expect(await login(user, 'off-secret')).toBe('rejected');
    expect(await session.alive(), 'off does not end a live session').toBe(true);
    expect((await prestaged.inspect(user)).sessions).toBe(1);
    await prestaged.disable(user);
    expect(await session.alive()).toBe(false);
    expect(await prestaged.inspect(user)).toEqual({ exists: true, canLogin: false, validUntil: undefined, sessions: 0 });
    await session.close();
  });

  it('verify: AUTH answers WRONGPASS alike for disabled and wrong, the stored hash tells them apart', async () => {
    const user = nextUser();
    await prestaged.stage(user, 'right-secret');
    const auth = (password: string) => redis(['AUTH', user, password]).then(() => 'OK', (err: Error) => err.message);
    expect(await auth('right-secret')).toBe(await auth('wrong-secret'));
    expect(await auth('right-secret')).toMatch(/^WRONGPASS/);
    expect((await getUser(user))?.['passwords']).toEqual([sha256('right-secret')]);
    expect(await prestaged.verify({ username: user, password: 'right-secret' })).toBe('accepted');
    expect(await prestaged.verify({ username: user, password: 'wrong-secret' })).toBe('rejected');
    expect(await prestaged.verify({ username: nextUser('missing'), password: 'right-secret' })).toBe('rejected');
    // Enabled, verify and AUTH agree on every candidate: the comparison is the one AUTH makes.
    await prestaged.enable(user, inAnHour());
    for (const candidate of ['right-secret', 'wrong-secret', '', 'right-secret ', 'ríght-secret']) {
      const verdict = await prestaged.verify({ username: user, password: candidate });
      expect(verdict, JSON.stringify(candidate)).toBe((await auth(candidate)) === 'OK' ? 'accepted' : 'rejected');
    }
    // nopass makes the server accept anything, so verify must too (a rotation did not take).
    await redis(['ACL', 'SETUSER', user, 'nopass']);
    expect(await prestaged.verify({ username: user, password: 'anything' })).toBe('accepted');
    await prestaged.disable(user);
  });

  it('adopt: a working user (on, nopass or passwords, live session) is refused unchanged without adopt, reset entirely with it', async () => {
    for (const [setup, password] of [[['nopass'], 'anything'], [['>extra-1', '>extra-2'], 'extra-2']] as const) {
      const user = nextUser();
      await redis(['ACL', 'SETUSER', user, 'on', ...setup, '~*', '+@all']);
      const session = (await login(user, password)) as Exclude<LoginResult, 'rejected'>;
      expect(await session.alive()).toBe(true);
      const before = await getUser(user);
      for (const options of [undefined, { adopt: false }]) {
        const refused = await thrown(prestaged.stage(user, 'staged', { user, rules: '~app:* +get' }, options));
        expect([refused.code, refused.retryable]).toEqual(['conflict', false]);
        expect(refused.message).toMatch(/login rights.*1 connected client.*adopt: true/);
      }
      expect(await getUser(user)).toEqual(before);
      expect(await session.alive()).toBe(true);

      // As the engine calls it: the account's spec (adopt included) and the decision in the options.
      await prestaged.stage(user, 'staged', { user, rules: '~app:* +get', adopt: true }, { adopt: true });
      expect(await session.alive()).toBe(false);
      const seen = await getUser(user);
      expect(seen?.['flags']).toContain('off');
      expect(seen?.['flags']).not.toContain('nopass');
      expect(seen?.['passwords']).toEqual([sha256('staged')]);
      expect(seen?.['keys']).toBe('~app:*');
      expect(seen?.['commands']).toBe('-@all +get');
      await session.close();
    }
  });

  it('adopt: an off user that still has connected clients is someone\'s too', async () => {
    const user = nextUser();
    await redis(['ACL', 'SETUSER', user, 'reset', 'on', `#${sha256('theirs')}`, '~*', '+@all']);
    const session = (await login(user, 'theirs')) as Exclude<LoginResult, 'rejected'>;
    await redis(['ACL', 'SETUSER', user, 'off']); // off is checked only at AUTH: the client stays
    const refused = await thrown(prestaged.stage(user, 'staged'));
    expect(refused.code).toBe('conflict');
    expect(refused.message).toMatch(/with 1 connected client;/);
    expect(refused.message).not.toMatch(/login rights/);
    expect(await session.alive()).toBe(true);
    await prestaged.stage(user, 'staged', undefined, { adopt: true });
    expect(await session.alive()).toBe(false);
    await session.close();
  });

  it('adopt: a user that cannot log in and has no clients is restaged without adopt, whatever its rules', async () => {
    // `reset` replaces the rules, so nothing the old user could do is taken over; AUTH could not open it.
    const setups = [['off', '>old-password', '~*', '&*', '+@all'], ['on', '~*', '+@all'], ['off', 'nopass', '+@admin']];
    for (const setup of setups) {
      const user = nextUser();
      await redis(['ACL', 'SETUSER', user, 'reset', ...setup]);
      await prestaged.stage(user, 'staged', { user, rules: '~app:* +get' });
      expect((await getUser(user))?.['commands'], setup.join(' ')).toBe('-@all +get');
      expect(await prestaged.verify({ username: user, password: 'staged' })).toBe('accepted');
    }
  });

  it('reserved: default and the admin user are refused even when adopting (the catalog refuses them too: redis-rules.test.ts)', async () => {
    const adminUser = nextUser('admin');
    await redis(['ACL', 'SETUSER', adminUser, 'reset', 'on', `#${sha256('Admin-Pw-2')}`, '~*', '&*', '+@all']);
    const asAdmin = connectorOn({ user: adminUser, adminSecret: 'Admin-Pw-2', allowCleartext: true });
    const before = await getUser(adminUser);
    try {
      for (const name of [adminUser, 'default']) {
        const refused = await thrown(asAdmin.prestaged!.stage(name, 'pw', undefined, { adopt: true }));
        expect(refused.code, name).toBe('validation');
        expect(refused.message).toMatch(/is reserved/);
      }
    } finally {
      await asAdmin.close();
    }
    expect(await getUser(adminUser)).toEqual(before);
    expect(await getUser('default')).toEqual(defaultBefore);
  });

  it('enable and rotate of a missing user are target_error and create nothing', async () => {
    const user = nextUser('missing');
    for (const call of [() => prestaged.enable(user, inAnHour()), () => prestaged.rotate(user, 'new-secret')]) {
      const err = await thrown(call());
      expect(err.code).toBe('target_error');
      expect(err.retryable).toBe(false);
    }
    expect(await getUser(user)).toBeNull();
  });

  it('ephemeral: the rules scope the credential; ACL DELUSER itself disconnects, revoke makes sure', async () => {
    const grantId = nextGrant();
    const credential = await issue(grantId, { rules: 'on ~app:* +get +set +info +ping' });
    const client = new Redis({ host: HOST, port: PORT, username: credential.username, password: credential['password']!, lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => undefined);
    await client.connect();
    await expect(client.set(`app:${RUN}`, '1')).resolves.toBe('OK');
    await expect(client.get('other')).rejects.toThrow(/NOPERM/);
    await expect(client.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
    await expect(client.call('ACL', 'SETUSER', 'default', 'off')).rejects.toThrow(/NOPERM/);
    await redis(['DEL', `app:${RUN}`]);

    // The server's own behaviour, without the connector: DELUSER ends the user's connections.
    const other = await issue(nextGrant(), { rules: '+@all ~*' });
    const otherSession = (await login(other.username, other['password']!)) as Exclude<LoginResult, 'rejected'>;
    await redis(['ACL', 'DELUSER', other.username]);
    expect(await otherSession.alive()).toBe(false);
    await otherSession.close();

    await ephemeral.revoke({ grantId, spec: { rules: 'not even valid\n' } }); // the spec never blocks a revoke
    expect(await client.ping().then(() => 'alive', () => 'dead')).toBe('dead');
    client.disconnect();
    expect(await ephemeral.inspectIssued({ grantId, spec: {} })).toEqual({ exists: false, canLogin: false, validUntil: undefined, sessions: 0 });
  });

  it('ephemeral issue retried: a new password, and sessions opened with the earlier one end', async () => {
    const grantId = nextGrant();
    const first = await issue(grantId, { rules: 'on ~* +@all' });
    const early = (await login(first.username, first['password']!)) as Exclude<LoginResult, 'rejected'>;
    const second = await issue(grantId, { rules: '+@read ~*' });
    expect(second.username).toBe(first.username);
    expect(second['password']).not.toBe(first['password']);
    expect(await early.alive()).toBe(false);
    expect(await login(first.username, first['password']!)).toBe('rejected');
    expect((await getUser(second.username))?.['commands']).toBe('-@all +@read');
    await early.close();
    await ephemeral.revoke({ grantId, spec: {} });
  });

  it('injection: hostile rules and specs are refused and change nothing', async () => {
    const usersBefore = ((await redis(['ACL', 'USERS'])) as string[]).sort();
    const hostileRules = [
      'on ~* +@all nopass',
      'on ~* +@all NOPASS',
      'on ~* +@all >second-password',
      `on ~* +@all #${sha256('known')}`,
      'on ~* +@all <pw !abc resetpass',
      'reset on ~* +@all',
      'on ~* +@all\nACL SETUSER default off',
      'on ~* +@all\r\n*3\r\n$3\r\nACL',
      'on ~*\t+@all',
      'on ~* +@all\0nopass',
      'on (>pw ~*) +@all',
      'on ~* +@all off',
    ];
    for (const rules of hostileRules) {
      const grantId = nextGrant();
      expect((await thrown(issue(grantId, { rules }))).code, JSON.stringify(rules)).toBe('validation');
      expect((await ephemeral.inspectIssued({ grantId, spec: {} })).exists).toBe(false);
      const user = nextUser('inj');
      expect((await thrown(prestaged.stage(user, 'pw', { user, rules: rules.replace(/^on /, '') }))).code, JSON.stringify(rules)).toBe('validation');
    }
    const user = nextUser('inj');
    for (const spec of [{ user: 'default' }, { user, rules: 'on +@all' }, { user, privileges: ['x'] }, { user, rules: ['+@all'] }]) {
      expect((await thrown(prestaged.stage(user, 'pw', spec))).code, JSON.stringify(spec)).toBe('validation');
    }
    for (const spec of [{}, { rules: 'on' }, { rules: 42 }, { rules: '+@all', user: 'default' }]) {
      expect((await thrown(issue(nextGrant(), spec))).code, JSON.stringify(spec)).toBe('validation');
    }
    expect((await thrown(issue('gr_!!!', { rules: '+@all' }))).code).toBe('validation');
    expect((await thrown(ephemeral.issue({ grantId: nextGrant(), spec: { rules: '+@all' }, validUntil: new Date('nope') }))).code).toBe('validation');
    expect(((await redis(['ACL', 'USERS'])) as string[]).sort()).toEqual(usersBefore);
    expect(await getUser('default')).toEqual(defaultBefore);

    // A rule Redis itself refuses: ACL SETUSER is all or nothing, and the error hides the hash.
    const grantId = nextGrant();
    const refused = await thrown(issue(grantId, { rules: 'on ~* +nosuchcommand' }));
    expect(refused.code).toBe('target_error');
    expect(refused.message).toMatch(/Unknown command/);
    expect(refused.message).not.toMatch(/[0-9a-f]{64}/);
    expect((await ephemeral.inspectIssued({ grantId, spec: {} })).exists).toBe(false);
  });

  it('secret-in-logs: no plaintext password crosses the wire or lands in an error', async () => {
    const proxy = await recordingProxy();
    const viaProxy = connectorOn({ port: proxy.port });
    const user = nextUser('wire');
    try {
      await viaProxy.prestaged!.stage(user, 'Plain-Stage-Secret');
      await viaProxy.prestaged!.rotate(user, 'Plain-Rotate-Secret');
      expect(await viaProxy.prestaged!.verify({ username: user, password: 'Plain-Rotate-Secret' })).toBe('accepted');
      expect(await viaProxy.prestaged!.verify({ username: user, password: 'Plain-Wrong-Secret' })).toBe('rejected');
      const grantId = nextGrant();
      const issued = await viaProxy.ephemeral!.issue({ grantId, spec: { rules: '+ping' }, validUntil: inAnHour() });
      await viaProxy.ephemeral!.revoke({ grantId, spec: {} });
      const wire = proxy.wire();
      expect(wire).toContain(`#${sha256('Plain-Stage-Secret')}`); // the hash form went instead
      for (const secret of ['Plain-Stage-Secret', 'Plain-Rotate-Secret', 'Plain-Wrong-Secret', issued['password']!]) {
        expect(wire).not.toContain(secret);
      }
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
    const missing = await thrown(prestaged.rotate(nextUser('missing'), 'Plain-Error-Secret'));
    expect(utilInspect(missing, { depth: 10 })).not.toContain('Plain-Error-Secret');
  });

  it('admin: another admin user with its password works and is protected; wrong secret and missing permission are target_error', async () => {
    const adminUser = nextUser('admin');
    await redis(['ACL', 'SETUSER', adminUser, 'reset', 'on', `#${sha256('Admin-Pw-1')}`, '~*', '&*', '+@all']);
    const asAdmin = connectorOn({ user: adminUser, adminSecret: 'Admin-Pw-1', allowCleartext: true });
    const user = nextUser();
    await asAdmin.prestaged!.stage(user, 'pw');
    expect((await asAdmin.prestaged!.inspect(user)).exists).toBe(true);
    expect((await thrown(asAdmin.prestaged!.disable(adminUser))).code).toBe('validation');
    expect((await thrown(asAdmin.prestaged!.stage('default', 'pw'))).code).toBe('validation');
    await asAdmin.close();

    const wrong = connectorOn({ user: adminUser, adminSecret: 'Not-The-Admin-Pw', allowCleartext: true });
    const refused = await thrown(wrong.prestaged!.inspect(user));
    expect([refused.code, refused.retryable]).toEqual(['target_error', false]);
    expect(refused.message).toMatch(/WRONGPASS/);
    expect(utilInspect(refused, { depth: 10 })).not.toContain('Not-The-Admin-Pw');

    await redis(['ACL', 'SETUSER', adminUser, '-@all', '+client|list']);
    const weak = connectorOn({ user: adminUser, adminSecret: 'Admin-Pw-1', allowCleartext: true });
    const noperm = await thrown(weak.prestaged!.disable(user));
    expect([noperm.code, noperm.retryable]).toEqual(['target_error', false]);
    expect(noperm.message).toMatch(/NOPERM/);
    await weak.close();
    await wrong.close();
  });

  it('cleartext: an admin password is never sent over plain TCP unless the target says allowCleartext: true', async () => {
    const adminUser = nextUser('admin');
    await redis(['ACL', 'SETUSER', adminUser, 'reset', 'on', `#${sha256('Clear-Admin-Pw')}`, '~*', '&*', '+@all']);
    const proxy = await recordingProxy();
    const refusing = connectorOn({ port: proxy.port, user: adminUser, adminSecret: 'Clear-Admin-Pw' });
    const notAllowing = connectorOn({ port: proxy.port, user: adminUser, adminSecret: 'Clear-Admin-Pw', allowCleartext: false });
    const accepting = connectorOn({ port: proxy.port, user: adminUser, adminSecret: 'Clear-Admin-Pw', allowCleartext: true });
    const user = nextUser();
    try {
      for (const connector of [refusing, notAllowing]) {
        for (const call of [() => connector.prestaged!.stage(user, 'pw'), () => connector.prestaged!.inspect(user), () => connector.ephemeral!.revoke({ grantId: nextGrant(), spec: {} })]) {
          const refused = await thrown(call());
          expect([refused.code, refused.retryable]).toEqual(['target_error', false]);
          expect(refused.message).toMatch(/without TLS.*enable tls on the target, or set allowCleartext: true/);
          expect(utilInspect(refused, { depth: 10 })).not.toContain('Clear-Admin-Pw');
        }
      }
      expect(proxy.wire(), 'refused before anything was sent').toBe('');
      expect(await getUser(user)).toBeNull();

      // Accepted, it really goes in clear: that is the risk allowCleartext takes.
      await accepting.prestaged!.stage(user, 'pw');
      expect(proxy.wire()).toContain('Clear-Admin-Pw');
    } finally {
      await Promise.all([refusing.close(), notAllowing.close(), accepting.close()]);
      await proxy.close();
    }
    // The default user without a password sends none: no setting needed (every other test here).
    expect((await prestaged.inspect(user)).exists).toBe(true);
  });

  it('an unreachable or silent target is a retryable target_unavailable within the timeout', async () => {
    const silent = await tcpServer(() => undefined);
    try {
      for (const port of [await freePort(), silent.port]) {
        const down = connectorOn({ port, timeoutMs: 1000 });
        for (const call of [
          () => down.prestaged!.disable(`${RUN}x`),
          () => down.prestaged!.verify({ username: `${RUN}x`, password: 'pw' }),
          () => down.ephemeral!.issue({ grantId: 'gr_down', spec: { rules: '+@all' }, validUntil: inAnHour() }),
          () => down.ephemeral!.revoke({ grantId: 'gr_down', spec: {} }),
        ]) {
          const started = Date.now();
          const err = await thrown(call());
          expect([err.code, err.retryable]).toEqual(['target_unavailable', true]);
          expect(Date.now() - started).toBeLessThan(2500);
        }
        await down.close();
      }
    } finally {
      await silent.close();
    }
  });

  it('rejects bad settings at construction', () => {
    const make = (settings: Record<string, unknown>, adminSecret?: string) => () => createRedisConnector({ type: 'redis', settings, adminSecret });
    expect(make({ host: HOST, port: 'x' })).toThrow(AppError);
    expect(make({ host: '', port: PORT })).toThrow(/settings/);
    expect(make({ host: HOST, port: PORT, user: 'bad user' }, 'pw')).toThrow(AppError);
    expect(make({ host: HOST, port: PORT, user: 'ops' })).toThrow(/admin secret/);
    expect(make({ host: HOST, port: PORT }, '')).toThrow(/admin secret/);
    expect(make({ host: HOST, port: PORT })).not.toThrow();
    for (const bad of [{ tls: 'yes' }, { tls: { caFile: 'relative.pem' } }, { tls: { verify: 'no' } }, { tls: { cafile: '/x' } }, { allowCleartext: 'yes' }]) {
      expect(make({ host: HOST, port: PORT, ...bad }), JSON.stringify(bad)).toThrow(/redis target settings are invalid/);
    }
  });

  it('tls: an unreadable caFile is refused when the connector is made, naming the setting', () => {
    const make = () => createRedisConnector({ type: 'redis', settings: { host: HOST, port: PORT, tls: { caFile: `/nonexistent/${RUN}/ca.pem` } }, adminSecret: undefined });
    expect(make).toThrow(expect.objectContaining({ code: 'validation', path: 'settings.tls.caFile' }));
    expect(make).toThrow(/tls\.caFile cannot be read \(ENOENT\)/);
  });
});

const privateServer = await requireService('redis-server (/usr/bin/redis-server)', () => redisServerAvailable());

describe.skipIf(privateServer.skip)('redis connector on a server with an ACL file (private redis-server)', () => {
  let server: RedisServer;
  let connector: Connector;
  const aclFile = () => readFileSync(server.aclFile!, 'utf8');

  beforeAll(async () => {
    server = await startRedisServer({ aclFile: 'user default on nopass ~* &* +@all\n' });
    connector = connectorOn({ port: server.port });
  });
  afterAll(async () => {
    await connector?.close();
    await server?.stop();
  });

  it('every change is saved, so reloading the file (as a restart would) brings back no access', async () => {
    const p = connector.prestaged!;
    await p.stage('bgt_file', 'file-secret');
    expect(aclFile()).toMatch(new RegExp(`^user bgt_file off .*#${sha256('file-secret')} ~\\* &\\* \\+@all$`, 'm'));
    await p.enable('bgt_file', inAnHour());
    await p.disable('bgt_file');
    await server.command(['ACL', 'LOAD']);
    expect(await p.inspect('bgt_file')).toMatchObject({ exists: true, canLogin: false });
    await p.rotate('bgt_file', 'file-secret-2');
    await server.command(['ACL', 'LOAD']);
    expect(await p.verify({ username: 'bgt_file', password: 'file-secret' })).toBe('rejected');
    expect(await p.verify({ username: 'bgt_file', password: 'file-secret-2' })).toBe('accepted');

    const grantId = `gr_file${tag}`;
    const credential = await connector.ephemeral!.issue({ grantId, spec: { rules: 'on +@all ~*' }, validUntil: inAnHour() });
    expect(aclFile()).toContain(`user ${credential.username} on`);
    await connector.ephemeral!.revoke({ grantId, spec: {} });
    await server.command(['ACL', 'LOAD']);
    expect(aclFile()).not.toContain(credential.username);
    expect(await login(credential.username, credential['password']!, { port: server.port })).toBe('rejected');
  });
});

const tlsServer = await requireService('redis-server with TLS and openssl (/usr/bin/redis-server, /usr/bin/openssl)', () => redisServerAvailable({ tls: true }));

describe.skipIf(tlsServer.skip)('redis connector over TLS (private redis-server with only a TLS port)', () => {
  const ADMIN = 'bgt_tls_admin';
  const ADMIN_PASSWORD = 'Tls-Admin-Pw-1';
  let server: RedisServer;
  const opened: Connector[] = [];
  /** As the admin user with its password, and no allowCleartext: TLS is what lets the password go. */
  const onTls = (tls: unknown) => {
    const connector = connectorOn({ port: server.port, user: ADMIN, adminSecret: ADMIN_PASSWORD, tls, timeoutMs: 3000 });
    opened.push(connector);
    return connector;
  };

  beforeAll(async () => {
    server = await startRedisServer({ tls: true });
    await server.command(['ACL', 'SETUSER', ADMIN, 'reset', 'on', `#${sha256(ADMIN_PASSWORD)}`, '~*', '&*', '+@all']);
  });
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await server?.stop();
  });

  it('tls: verified against tls.caFile, every operation (and the admin password) goes over TLS', async () => {
    const connector = onTls({ caFile: server.caFile });
    const p = connector.prestaged!;
    const at = { port: server.port, caFile: server.caFile };
    await p.stage('bgt_tls_user', 'tls-secret');
    await p.enable('bgt_tls_user', inAnHour());
    const session = (await login('bgt_tls_user', 'tls-secret', at)) as Exclude<LoginResult, 'rejected'>;
    expect(await session.alive()).toBe(true);
    expect(await p.inspect('bgt_tls_user')).toEqual({ exists: true, canLogin: true, validUntil: undefined, sessions: 1 });
    await p.disable('bgt_tls_user');
    expect(await session.alive()).toBe(false);
    await session.close();
    await p.rotate('bgt_tls_user', 'tls-secret-2');
    expect(await p.verify({ username: 'bgt_tls_user', password: 'tls-secret-2' })).toBe('accepted');

    const grantId = `gr_tls${tag}`;
    const credential = await connector.ephemeral!.issue({ grantId, spec: { rules: 'on ~* +@all' }, validUntil: inAnHour() });
    const jit = (await login(credential.username, credential['password']!, at)) as Exclude<LoginResult, 'rejected'>;
    expect(await jit.alive()).toBe(true);
    await connector.ephemeral!.revoke({ grantId, spec: {} });
    expect(await jit.alive()).toBe(false);
    await jit.close();
  });

  it('tls: a certificate that does not verify is a clear, non-retryable target_error naming what to change', async () => {
    // Signed by a CA other than the one given; by a CA the system does not trust (tls: true).
    for (const tls of [{ caFile: server.wrongCaFile }, true]) {
      const refused = await thrown(onTls(tls).prestaged!.inspect('bgt_tls_user'));
      expect([refused.code, refused.retryable], JSON.stringify(tls)).toEqual(['target_error', false]);
      expect(refused.message).toMatch(/TLS certificate did not verify \([A-Z_]+\); give the CA that signed it in tls\.caFile, or set tls\.verify: false/);
      expect(utilInspect(refused, { depth: 10 })).not.toContain(ADMIN_PASSWORD);
    }
    // The right CA, but a certificate issued for other names than the one expected.
    const misnamed = await thrown(onTls({ caFile: server.caFile, servername: 'cache.example.invalid' }).prestaged!.inspect('bgt_tls_user'));
    expect([misnamed.code, misnamed.retryable]).toEqual(['target_error', false]);
    expect(misnamed.message).toMatch(/did not verify \(ERR_TLS_CERT_ALTNAME_INVALID.*tls\.servername/);
  });

  it('tls: verify: false connects to a server whose certificate nobody vouches for', async () => {
    for (const tls of [{ verify: false }, { caFile: server.wrongCaFile, verify: false }]) {
      expect((await onTls(tls).prestaged!.inspect(ADMIN)).exists, JSON.stringify(tls)).toBe(true);
    }
  });
});
