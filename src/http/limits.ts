import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * How much one client may ask of the server. A break-glass server must keep answering during
 * an incident: a client that sends a body slowly, holds idle sockets, nests JSON ten thousand
 * levels deep or guesses tokens in a loop must not take that away from the responders.
 */
export interface HttpLimits {
  /** Bytes of a request body: every route but the catalog (shares, certify, unseal, tokens: a few KiB). */
  readonly bodyLimit: number;
  /** Bytes of a catalog (`POST /v1/apply`). */
  readonly applyBodyLimit: number;
  /** Nesting of arrays and objects in a JSON body (a catalog needs 5). */
  readonly jsonDepth: number;
  /** The request line and headers must arrive within this. */
  readonly headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this. */
  readonly requestTimeoutMs: number;
  /**
   * A socket with no traffic at all for this long is closed. Above the longest answer (a target
   * operation is bounded at 60 s), so a reveal is never cut off while the server works on it.
   */
  readonly connectionTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  readonly maxRequestsPerSocket: number;
  /** Failed authentications per client address and window; then 429 until the window ends. */
  readonly authFailures: RateLimit;
  /** Requests to `/v1/sys/*` (no token: the seal) per client address and window. */
  readonly sys: RateLimit;
  // issue 14 (enroll)
  /** `POST /v1/users/enroll` attempts per client address and window (each may cost an argon2id hash). */
  readonly enrolment: RateLimit;
}

/** Answers true (and 429) when a client address is over its limit; a burst is reported once per window. */
export type ClientLimiter = (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>;

export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

export const defaultHttpLimits: HttpLimits = Object.freeze({
  bodyLimit: 64 * 1024,
  applyBodyLimit: 1024 * 1024,
  jsonDepth: 32,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1_000,
  authFailures: { max: 20, windowMs: 60_000 },
  sys: { max: 30, windowMs: 60_000 },
  enrolment: { max: 10, windowMs: 60_000 },
});

/** The certificate and key of an HTTPS listener (PEM). */
export interface TlsMaterial {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** Options of a node HTTP(S) server that enforce the limits (checked every second, not Node's 30 s). */
export function listenerOptions(limits: HttpLimits) {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  };
}

/** A node HTTP or HTTPS server with the limits, for a listener that dispatches by hand (the sealed server). */
export function createListener(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  options: { limits: HttpLimits; tls?: TlsMaterial | undefined },
): Server {
  const base = listenerOptions(options.limits);
  const server = options.tls ? createHttpsServer({ ...base, cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(base, handler);
  server.keepAliveTimeout = options.limits.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = options.limits.maxRequestsPerSocket;
  server.setTimeout(options.limits.connectionTimeoutMs);
  return server;
}

/**
 * How deep arrays and objects nest in a JSON text, counted in one pass without parsing (so a
 * hostile body cannot exhaust the parser's stack or the validator's). Brackets inside strings
 * are skipped.
 */
export function jsonNesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (char === 0x5d || char === 0x7d) depth--;
  }
  return deepest;
}
