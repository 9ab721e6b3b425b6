/**
 * The Redis connector against the real Redis on 127.0.0.1:6379: the shared conformance suite,
 * then what only Redis has (`off` does not end sessions, AUTH cannot tell disabled from wrong,
 * `#<hash>` passwords, ACL DELUSER disconnects, rules in the spec). Every user made here starts
 * with this run's `bgt_…` prefix (or is a grant's `bg_…` user) and is deleted afterwards; the
 * `default` user is never touched. The ACL-file test runs a private redis-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect as utilInspect } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, redisDriver } from '../../src/connectors/redis/redis-connector.js';
import { AppError } from '../../src/errors/index.js';
import type { AccountSpec, Connector, EphemeralOperations, PrestagedOperations } from '../../src/ports/index.js';
import { connectorConformance, type LoginResult } from '../conformance/connector-conformance.js';
import { hasExecutable, probeTcp, requireService } from '../support/integration.js';

const HOST = '127.0.0.1';
const PORT = 6379;
const REDIS_SERVER = '/usr/bin/redis-server';
const check = await requireService(`Redis on ${HOST}:${PORT}`, () => probeTcp(HOST, PORT));

const tag = Math.random().toString(36).slice(2, 8);
const RUN = `bgt_rc${tag}_`;
const runStart = Date.now();
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const inAnHour = () => new Date(Date.now() + 3_600_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
/** Empty, NUL, whitespace of any kind, control and invisible characters, too long, the admin. */
const REJECTED_NAMES = ['', 'bgt_nul\0byte', 'bgt_with space', 'bgt_tab\tx', 'bgt_new\nline', 'bgt_cr\rx', 'bgt_ctl\u0001', 'bgt_nbsp\u00a0x', 'bgt_zw\u200bx', 'bgt_'.padEnd(129, 'x'), 'bgt_\uD800', 'default'];

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

function connectorOn(extra: { port?: number; timeoutMs?: number; user?: string; adminSecret?: string } = {}): Connector {
  const { port, timeoutMs, user, adminSecret } = extra;
  return createRedisConnector({
    type: 'redis',
    settings: { host: HOST, port: port ?? PORT, ...(user === undefined ? {} : { user }) },
    adminSecret,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

/** A plain client the way a responder would use one; WRONGPASS is a refusal, anything else throws. */
async function login(username: string, password: string, port = PORT): Promise<LoginResult> {
  const client = new Redis({ host: HOST, port, username, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
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

/** Admin commands outside the connector, on a short-lived connection. */
async function redis(args: string[], port = PORT): Promise<unknown> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

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

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, HOST, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
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

  it('stage resets whatever it finds: on, nopass, extra passwords, other rules, live sessions', async () => {
    for (const [setup, password] of [[['nopass'], 'anything'], [['>extra-1', '>extra-2'], 'extra-2']] as const) {
      const user = nextUser();
      await redis(['ACL', 'SETUSER', user, 'on', ...setup, '~*', '+@all']);
      const session = (await login(user, password)) as Exclude<LoginResult, 'rejected'>;
      expect(await session.alive()).toBe(true);
      await prestaged.stage(user, 'staged', { user, rules: '~app:* +get' });
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
    const asAdmin = connectorOn({ user: adminUser, adminSecret: 'Admin-Pw-1' });
    const user = nextUser();
    await asAdmin.prestaged!.stage(user, 'pw');
    expect((await asAdmin.prestaged!.inspect(user)).exists).toBe(true);
    expect((await thrown(asAdmin.prestaged!.disable(adminUser))).code).toBe('validation');
    expect((await thrown(asAdmin.prestaged!.stage('default', 'pw'))).code).toBe('validation');
    await asAdmin.close();

    const wrong = connectorOn({ user: adminUser, adminSecret: 'Not-The-Admin-Pw' });
    const refused = await thrown(wrong.prestaged!.inspect(user));
    expect([refused.code, refused.retryable]).toEqual(['target_error', false]);
    expect(refused.message).toMatch(/WRONGPASS/);
    expect(utilInspect(refused, { depth: 10 })).not.toContain('Not-The-Admin-Pw');

    await redis(['ACL', 'SETUSER', adminUser, '-@all', '+client|list']);
    const weak = connectorOn({ user: adminUser, adminSecret: 'Admin-Pw-1' });
    const noperm = await thrown(weak.prestaged!.disable(user));
    expect([noperm.code, noperm.retryable]).toEqual(['target_error', false]);
    expect(noperm.message).toMatch(/NOPERM/);
    await weak.close();
    await wrong.close();
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
  });
});

const server = await requireService(`redis-server binary (${REDIS_SERVER})`, () => check.skip || hasExecutable(REDIS_SERVER));

describe.skipIf(check.skip || server.skip)('redis connector on a server with an ACL file (private redis-server)', () => {
  let dir: string;
  let proc: ChildProcess;
  let port: number;
  let connector: Connector;
  const aclFile = () => readFileSync(join(dir, 'users.acl'), 'utf8');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bg-redis-'));
    writeFileSync(join(dir, 'users.acl'), 'user default on nopass ~* &* +@all\n');
    port = await freePort();
    proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', HOST, '--dir', dir, '--aclfile', join(dir, 'users.acl'), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await probeTcp(HOST, port, 200)); i++) await sleep(50);
    connector = connectorOn({ port });
  });
  afterAll(async () => {
    await connector?.close();
    proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('every change is saved, so reloading the file (as a restart would) brings back no access', async () => {
    const p = connector.prestaged!;
    await p.stage('bgt_file', 'file-secret');
    expect(aclFile()).toMatch(new RegExp(`^user bgt_file off .*#${sha256('file-secret')} ~\\* &\\* \\+@all$`, 'm'));
    await p.enable('bgt_file', inAnHour());
    await p.disable('bgt_file');
    await redis(['ACL', 'LOAD'], port);
    expect(await p.inspect('bgt_file')).toMatchObject({ exists: true, canLogin: false });
    await p.rotate('bgt_file', 'file-secret-2');
    await redis(['ACL', 'LOAD'], port);
    expect(await p.verify({ username: 'bgt_file', password: 'file-secret' })).toBe('rejected');
    expect(await p.verify({ username: 'bgt_file', password: 'file-secret-2' })).toBe('accepted');

    const grantId = `gr_file${tag}`;
    const credential = await connector.ephemeral!.issue({ grantId, spec: { rules: 'on +@all ~*' }, validUntil: inAnHour() });
    expect(aclFile()).toContain(`user ${credential.username} on`);
    await connector.ephemeral!.revoke({ grantId, spec: {} });
    await redis(['ACL', 'LOAD'], port);
    expect(aclFile()).not.toContain(credential.username);
    expect(await login(credential.username, credential['password']!, port)).toBe('rejected');
  });
});
