import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import { buildSealedHttpApp, type App } from '../http/http-app.js';
import { createListener, defaultHttpLimits, type TlsMaterial } from '../http/limits.js';
import type { ServingGate } from '../http/serving-gate.js';
import type { Logger, ModuleContext } from '../modules/context.js';
import type { Clock, SealGate } from '../ports/index.js';
import type { ShamirDescriptor } from '../root-key/descriptor.js';
import { createUnsealSession, type UnsealSession, type UnsealSummary } from '../root-key/unseal-session.js';
import type { Scheduler } from '../scheduler/scheduler.js';

/** A wired server (store, vault, audit, app, scheduler) that has not started its timers yet. */
export interface Assembled {
  readonly ctx: ModuleContext;
  readonly app: App;
  readonly scheduler: Scheduler;
  /** Starts the scheduler and the checkpoint timer. */
  start(): void;
  /** Stops the scheduler (after the job in hand) and the checkpoint timer; idempotent. */
  halt(): Promise<void>;
  /** Halts and closes the app (not the store). */
  stop(): Promise<void>;
}

export interface SealedServer {
  readonly url: string;
  readonly session: UnsealSession;
  /** The full server once unsealed. */
  assembled(): Assembled | undefined;
  /** The app answering now. */
  app(): App;
  close(): Promise<void>;
}

/**
 * Serves a `shamir`-sealed data directory (Vault-style): one HTTP listener whose requests go
 * to the sealed app (health, seal status, unseal; 503 `sealed` otherwise) until the
 * threshold-th share rebuilds the root key; then `assemble` wires the full server with it and
 * the same listener hands every later request to the full app. Nothing runs while sealed: no
 * scheduler, no revocation, no audit writes (the audit signing key is sealed too).
 */
export async function startSealedServer(options: {
  readonly host: string;
  readonly port: number;
  readonly logger: FastifyServerOptions['logger'];
  readonly descriptor: ShamirDescriptor;
  readonly clock: Clock;
  /** Serve HTTPS with this certificate and key. */
  readonly tls?: TlsMaterial | undefined;
  /** The server's door (shutdown, store health), in front of the sealed app too. */
  readonly gate?: ServingGate;
  readonly assemble: (rootKey: Buffer, summary: UnsealSummary, gate: SealGate) => Promise<Assembled>;
}): Promise<SealedServer> {
  let full: Assembled | undefined;
  // The session needs a logger before the app that owns it exists.
  const sealedApp: { current?: App } = {};
  const log: Logger = {
    info: (fields, message) => sealedApp.current?.log.info(fields, message),
    warn: (fields, message) => sealedApp.current?.log.warn(fields, message),
    error: (fields, message) => sealedApp.current?.log.error(fields, message),
  };
  const session = createUnsealSession({
    descriptor: options.descriptor,
    now: () => options.clock.now(),
    log,
    async onUnsealed(rootKey, summary) {
      const parts = await options.assemble(rootKey, summary, session);
      try {
        await parts.app.ready();
      } catch (error) {
        await parts.stop();
        throw error;
      }
      full = parts;
      dispatch = (request, response) => parts.app.routing(request, response);
      parts.start();
      log.info({ threshold: summary.threshold }, 'unsealed: the server is serving and its scheduler runs');
    },
  });
  const app = await buildSealedHttpApp({ seal: session, logger: options.logger, ...(options.gate && { gate: options.gate }) });
  sealedApp.current = app;
  await app.ready();
  let dispatch = (request: IncomingMessage, response: ServerResponse) => app.routing(request, response);
  // The same limits (timeouts, keep-alive) as a Fastify listener: this one is ours.
  const server = createListener((request, response) => dispatch(request, response), { limits: defaultHttpLimits, tls: options.tls });
  try {
    await listen(server, options.port, options.host);
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.warn({ threshold: options.descriptor.threshold, shares: options.descriptor.shares }, 'the root key is sealed: present unseal shares with `breakglass operator unseal`');
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    session,
    assembled: () => full,
    app: () => full?.app ?? app,
    async close() {
      await closeServer(server);
      if (full) await full.stop();
      await app.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, lets requests in flight finish, drops idle keep-alive connections. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // A client holding a connection open past a grace period is cut off.
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  });
}
