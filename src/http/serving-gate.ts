import type { FastifyInstance, FastifyRequest } from 'fastify';
import { storeUnavailable, type StoreHealthStatus } from '../modules/store-health/store-health.js';
import { sendError } from './error-body.js';

/**
 * The door in front of every app (full and sealed) of one server: what it lets in while the
 * server stops, and while its store is not usable; and which requests are still running.
 */
export interface ServingGate {
  /** From now on every new request but `/healthz` gets 503 with `Connection: close`; `/readyz` says `stopping`. */
  stop(): void;
  readonly stopping: boolean;
  /** The store's condition now (`ok` when nothing watches it). */
  store(): StoreHealthStatus;
  /** Resolves true once no request is in flight, false when `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean>;
  /** The requests still running (`METHOD /route`), for the log of a shutdown that ran out of time. */
  inFlight(): string[];
  /** Puts the gate in front of an app's routes. */
  install(app: FastifyInstance): void;
}

/** Methods that change nothing: allowed while the store is only unwritable or unreachable. */
const reading = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses, up front and with `store_unavailable`, every request that could hand out or change
 * access while the store cannot be trusted with the write that would record it: every `/v1`
 * request but reads while it is unwritable or unreachable, every `/v1` request once it is lost
 * (a read there would answer from a file that no longer exists). `/v1/sys` (the seal) is not
 * the store's.
 */
function refusedByStore(status: StoreHealthStatus, method: string, path: string): boolean {
  if (status.state === 'ok' || !path.startsWith('/v1/') || path.startsWith('/v1/sys/')) return false;
  return status.state === 'lost' || !reading.has(method);
}

export function createServingGate(options: { store?: () => StoreHealthStatus } = {}): ServingGate {
  const storeStatus = options.store ?? (() => ({ state: 'ok' }) as const);
  let stopping = false;
  const running = new Map<FastifyRequest, string>();
  const waiters: (() => void)[] = [];
  const finished = (request: FastifyRequest) => {
    running.delete(request);
    if (running.size === 0) for (const wake of waiters.splice(0)) wake();
  };
  return {
    stop: () => void (stopping = true),
    get stopping() {
      return stopping;
    },
    store: storeStatus,
    drained: (timeoutMs) =>
      new Promise((resolve) => {
        if (running.size === 0) return resolve(true);
        const timer = setTimeout(() => resolve(false), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      }),
    inFlight: () => [...running.values()],
    install(app) {
      app.addHook('onRequest', async (request, reply) => {
        const path = request.url.split('?', 1)[0] ?? '';
        if (path === '/healthz') return undefined;
        if (stopping) {
          void reply.header('connection', 'close').status(503);
          return path === '/readyz'
            ? reply.send({ status: 'stopping' })
            : reply.send(sendError('stopping', 'the server is shutting down; retry on another instance, or on this one once it is back'));
        }
        running.set(request, `${request.method} ${request.routeOptions.url ?? path}`);
        // 'close' fires once the answer is sent or the connection is gone, whichever comes first.
        reply.raw.once('close', () => finished(request));
        const status = storeStatus();
        if (status.state !== 'ok' && refusedByStore(status, request.method, path)) throw storeUnavailable(status);
        return undefined;
      });
    },
  };
}
