/**
 * A private, throw-away redis-server for integration tests, on 127.0.0.1 and a free port, never a
 * system service. Optionally TLS only (no plain port): a CA, a server certificate for 127.0.0.1
 * and localhost signed by it, and an unrelated CA that signed nothing, all made with `openssl`
 * for this server. Optionally an ACL file. Killed and deleted on stop() and on process exit
 * (private-process.ts), so a crashed suite leaves no server behind.
 *
 * @example
 *   const check = await requireService('redis-server and openssl', () => redisServerAvailable({ tls: true }));
 *   let server: RedisServer;
 *   beforeAll(async () => { server = await startRedisServer({ tls: true }); });
 *   afterAll(async () => { await server?.stop(); });
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { hasExecutable } from './integration.js';
import { startPrivateProcess } from './private-process.js';
import { makeTestCertificates, opensslAvailable } from './test-certs.js';

const HOST = '127.0.0.1';
const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServerOptions {
  /** Serve TLS only, with certificates made for this server (default false). */
  readonly tls?: boolean;
  /** Keep users in an ACL file with these first contents (`--aclfile`). */
  readonly aclFile?: string;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** With `tls`: the PEM of the CA that signed the server's certificate. */
  readonly caFile: string | undefined;
  /** With `tls`: the PEM of a CA that signed nothing the server has. */
  readonly wrongCaFile: string | undefined;
  /** With `aclFile`: the file's path. */
  readonly aclFile: string | undefined;
  /** One command as `default` on a short connection (over TLS, trusting `caFile`, when the server has it). */
  command(args: readonly string[]): Promise<unknown>;
  /** Kills the server and deletes its directory. */
  stop(): Promise<void>;
}

/** Can this machine run a private redis-server (with TLS: and make certificates for it)? */
export function redisServerAvailable(options: RedisServerOptions = {}): boolean {
  return hasExecutable(REDIS_SERVER) && (options.tls !== true || opensslAvailable());
}

function serverArgs(dir: string, port: number, options: RedisServerOptions): string[] {
  const args = ['--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, 'redis.log')];
  if (options.aclFile !== undefined) args.push('--aclfile', join(dir, 'users.acl'));
  if (options.tls !== true) return ['--port', String(port), ...args];
  const file = (name: string) => join(dir, name);
  return ['--port', '0', '--tls-port', String(port), '--tls-cert-file', file('server.pem'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.pem'), '--tls-auth-clients', 'no', ...args];
}

/** One command as `default` on a short connection to 127.0.0.1, over TLS trusting `ca` when given. */
export async function redisCommand(port: number, args: readonly string[], ca?: Buffer): Promise<unknown> {
  const client = new Redis({
    host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000,
    ...(ca === undefined ? {} : { tls: { ca, rejectUnauthorized: true } }),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0] ?? '', ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

/** Starts a private redis-server; see the module comment. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const tls = options.tls === true;
  let ca: Buffer | undefined;
  const proc = await startPrivateProcess({
    name: 'redis-server',
    tempPrefix: 'bg-redis-',
    async prepare(dir) {
      if (tls) {
        makeTestCertificates(dir);
        ca = readFileSync(join(dir, 'ca.pem'));
      }
      if (options.aclFile !== undefined) writeFileSync(join(dir, 'users.acl'), options.aclFile);
    },
    spawn: (dir, port) => spawn(REDIS_SERVER, serverArgs(dir, port, options), { stdio: 'ignore' }),
    // Ready means it answers a command (over TLS if it has it), not just that the port is open.
    ready: async (port) => (await redisCommand(port, ['PING'], ca).catch(() => undefined)) === 'PONG',
  });
  const file = (name: string, present: boolean) => (present ? join(proc.dir, name) : undefined);
  return {
    host: HOST,
    port: proc.port,
    caFile: file('ca.pem', tls),
    wrongCaFile: file('other-ca.pem', tls),
    aclFile: file('users.acl', options.aclFile !== undefined),
    command: (args) => redisCommand(proc.port, args, ca),
    stop: proc.stop,
  };
}
