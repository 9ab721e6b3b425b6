/**
 * The admin side of one Redis target. Operations share a small pool of admin connections
 * (lib/connection-pool.ts): no reconnects, no offline queue, every command bounded by the target's timeout,
 * so a dead or silent server fails the call instead of parking it. Over TLS when the target says
 * so; the admin password is sent in clear only when the target allows it. Shared by both modes.
 */
import { Redis } from 'ioredis';
import type { AccountInspection, SessionsEnded } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { createConnectionPool, DEFAULT_POOL_IDLE_MS, DEFAULT_POOL_MAX, type PoolStats } from '../lib/connection-pool.js';
import { endLiveSessions } from '../lib/end-sessions.js';
import { cleartextRefused, type TlsOptions } from '../lib/transport.js';
import { isNoAclFile, isNoSuchUser, toAppError } from './redis-errors.js';

export interface RedisSettings {
  readonly host: string;
  readonly port: number;
  /** The admin user Breakglass logs in as (`default` unless the catalog names one). */
  readonly user: string;
  /** Node TLS options (lib/transport.ts `tlsOptions`), or undefined for a plain TCP connection. */
  readonly tls: TlsOptions | undefined;
  /** Send the admin password over plain TCP anyway (AUTH has no challenge: it is the password itself). */
  readonly allowCleartext: boolean;
}

/** What ACL GETUSER says about a user, as far as Breakglass cares. */
export interface AclUser {
  readonly flags: readonly string[];
  /** Lowercase hex SHA-256 of each accepted password. */
  readonly passwords: readonly string[];
}

/** One admin connection, for the duration of one operation. */
export interface AdminSession {
  /**
   * Sends one command, each argument separately (no quoting, no string building). Server text in
   * errors is kept with password hashes masked (see toAppError); no command here carries a
   * plaintext secret except the admin AUTH, which never goes through `call`.
   */
  call(args: readonly string[]): Promise<unknown>;
  getUser(user: string): Promise<AclUser | undefined>;
  countSessions(user: string): Promise<number>;
  /** issue 12 (P2): the ids of the clients authenticated as the user (CLIENT LIST). */
  clientIds(user: string): Promise<string[]>;
  /** Kills every client authenticated as the user until CLIENT LIST shows none, or fails retryably. */
  endSessions(user: string): Promise<SessionsEnded>;
  /** ACL SAVE where the server keeps users in an ACL file, so a restart cannot bring back old state. */
  persist(): Promise<void>;
  inspect(user: string): Promise<AccountInspection>;
}

export interface RedisAdmin {
  readonly settings: RedisSettings;
  run<T>(op: string, user: string, fn: (session: AdminSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** issue 13 (pool): the admin connections open, idle and waited for. */
  poolStats(): PoolStats;
}

export function createRedisAdmin(settings: RedisSettings, adminSecret: string | undefined, timeoutMs: number, poolMax = DEFAULT_POOL_MAX): RedisAdmin {
  async function connect(): Promise<Redis> {
    if (adminSecret !== undefined && settings.tls === undefined && !settings.allowCleartext) {
      // Refused before a socket is opened: nothing reaches the network, not even the user name.
      throw cleartextRefused('redis', 'would receive the admin password as is (AUTH sends it unhashed)', 'Give the server a tls-port');
    }
    const client = new Redis({
      host: settings.host,
      port: settings.port,
      ...(settings.tls === undefined ? {} : { tls: { ...settings.tls } }),
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      reconnectOnError: () => false,
      enableOfflineQueue: false,
      // The ready check (INFO) needs a permission the admin may lack and waits out LOADING on
      // its own clock; a LOADING reply to our first command is classified as retryable instead.
      enableReadyCheck: false,
      autoResubscribe: false,
      disableClientInfo: true,
    });
    let lastError: unknown;
    // Without a listener ioredis reports errors on the console; the cause is kept for the throw.
    client.on('error', (err: unknown) => (lastError = err));
    try {
      await client.connect();
      // AUTH is sent by hand and awaited: with the driver's own AUTH the first command could
      // reach the server before the refusal and run as `default`.
      if (adminSecret !== undefined) await client.call('AUTH', settings.user, adminSecret);
    } catch (err) {
      client.disconnect();
      // A failed connect rejects with a bare "Connection is closed."; the reason came as an event.
      throw Object.assign(new ConnectFailed(), { reason: lastError ?? err });
    }
    return client;
  }

  // issue 13 (pool): the admin connections, reused across operations. No reconnects: a client
  // whose connection closed stays closed (`status` 'end') and the pool replaces it.
  const pool = createConnectionPool<Redis>({
    max: poolMax,
    idleMs: DEFAULT_POOL_IDLE_MS,
    open: connect,
    // Disconnect, not QUIT: nothing is left to flush and a dead server must not hold us up.
    close: (client) => Promise.resolve(client.disconnect()),
    alive: usable,
    // A server-side kill can reach us as "Stream isn't writeable" while `status` still says
    // ready (the close event not yet handled): the socket's own state decides then.
    lost: (err, client) => err instanceof AppError && err.retryable && !usable(client),
    busy: (waited) => new AppError('target_unavailable', `redis target: all ${poolMax} admin connections stayed busy for ${waited} ms`, { retryable: true }),
    closed: () => new AppError('target_unavailable', 'redis target: the connector was closed (its settings changed, or the server is stopping)', { retryable: true }),
  });

  const admin: RedisAdmin = {
    settings,

    async run(op, user, fn) {
      try {
        return await pool.use((client) => fn(adminSession(client, op, user)), timeoutMs);
      } catch (err) {
        throw toAppError(err instanceof ConnectFailed ? err.reason : err, op, user, err instanceof ConnectFailed);
      }
    },

    close: () => pool.close(),
    poolStats: () => pool.stats(),
  };
  return admin;
}

/** A connect or AUTH that failed: `reason` is classified with the op and user of the call. */
class ConnectFailed extends Error {
  reason: unknown;
}

function adminSession(client: Redis, op: string, user: string): AdminSession {
  const raw = (args: readonly string[]) => client.call(args[0] ?? '', ...args.slice(1));
  const call = async (args: readonly string[]) => {
    try {
      return await raw(args);
    } catch (err) {
      throw toAppError(err, op, user, false);
    }
  };
  const clientsOf = async (name: string) => sessionIds(String(await call(['CLIENT', 'LIST'])), name);

  const session: AdminSession = {
    call,

    async getUser(name) {
      return parseAclUser(await call(['ACL', 'GETUSER', name]), op, user);
    },

    async countSessions(name) {
      return (await clientsOf(name)).length;
    },

    clientIds: clientsOf,

    async endSessions(name) {
      return await endLiveSessions({
        // The ids seen before each kill (issue 12, P2): the evidence counts each client once, and
        // the loop ends on a round that finds none left.
        round: async () => {
          const seen = await clientsOf(name);
          if (seen.length === 0) return seen;
          try {
            // One command that also catches a client authenticating while we look.
            await raw(['CLIENT', 'KILL', 'USER', name]);
          } catch (err) {
            if (!isNoSuchUser(err)) throw toAppError(err, op, user, false);
            // The user is gone (ACL DELUSER): nobody can authenticate as it any more, so
            // whatever CLIENT LIST still shows can be killed by id without a race.
            for (const id of await clientsOf(name)) await call(['CLIENT', 'KILL', 'ID', id]).catch(() => undefined);
          }
          return seen;
        },
        stillAlive: (live) => `redis ${op} of user ${JSON.stringify(user)}: ${live} client(s) still connected after CLIENT KILL`,
      });
    },

    async persist() {
      try {
        await raw(['ACL', 'SAVE']);
      } catch (err) {
        // Users live only in memory (or in redis.conf, which ACL SAVE cannot write): nothing to do.
        if (!isNoAclFile(err)) throw toAppError(err, `${op} (ACL SAVE)`, user, false);
      }
    },

    async inspect(name) {
      const found = await session.getUser(name);
      const sessions = await session.countSessions(name);
      if (found === undefined) return { exists: false, canLogin: false, validUntil: undefined, sessions };
      const on = found.flags.includes('on');
      // `on` without any password (and without nopass) still refuses every AUTH.
      const canLogin = on && (found.flags.includes('nopass') || found.passwords.length > 0);
      return { exists: true, canLogin, validUntil: undefined, sessions };
    },
  };
  return session;
}

/**
 * The ids of CLIENT LIST entries authenticated as `name`. Lines are space-separated `key=value`
 * fields and Redis refuses whitespace in user names, so an exact `user=<name>` field is exact.
 */
export function sessionIds(clientList: string, name: string): string[] {
  const ids: string[] = [];
  for (const line of clientList.split('\n')) {
    const fields = line.trim().split(' ');
    if (!fields.includes(`user=${name}`)) continue;
    const id = fields.find((f) => f.startsWith('id='))?.slice(3);
    if (id !== undefined && /^\d+$/.test(id)) ids.push(id);
  }
  return ids;
}

/** ACL GETUSER replies with alternating field names and values, or nil for no such user. */
export function parseAclUser(reply: unknown, op: string, user: string): AclUser | undefined {
  if (reply === null) return undefined;
  if (!Array.isArray(reply)) {
    throw new AppError('target_error', `redis ${op} of user ${JSON.stringify(user)}: unexpected ACL GETUSER reply`);
  }
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  return { flags: strings(fields.get('flags')), passwords: strings(fields.get('passwords')) };
}

/** Can this admin connection take a command now (ready, and its socket still writable)? */
function usable(client: Redis): boolean {
  return (client.status === 'ready' || client.status === 'connect') && (client.stream as { writable?: boolean } | undefined)?.writable !== false;
}
