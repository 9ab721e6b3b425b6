/**
 * The CLI's client of the HTTP API. Every failure becomes a `CliError` with the exit code
 * that names it: the server's error code first, then the HTTP status, and `unreachable` when
 * no answer came at all. The token is sent only as a header and never appears in a message.
 */
import { readFileSync } from 'node:fs';
import type { Agent } from 'undici';
import type { z } from 'zod';
import { formatIssues } from '../config/catalog-file.js';
import { errorResponseSchema, tolerant } from '../api/index.js';
import { CliError, exitCodeForError, exitCodeForStatus, exitCodes } from './exit-codes.js';

export const hints = {
  unauthenticated: 'set BREAKGLASS_TOKEN to your token (`breakglass token redeem CODE` with the code an admin gave you via `breakglass user invite`)',
  unreachable: 'is the server running? start it with `breakglass serve` or `npm start`, or set BREAKGLASS_ADDR',
} as const;

export interface ApiClientOptions {
  readonly addr: string;
  readonly token: string | undefined;
  readonly fetch: typeof fetch;
  /** Per request, including reading the body. */
  readonly timeoutMs?: number;
}

export interface ApiClient {
  readonly addr: string;
  get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>>;
  post<S extends z.ZodType>(path: string, schema: S, body?: unknown): Promise<z.output<S>>;
  delete<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>>;
  /** A successful response whose body is read by the caller (JSON Lines export). */
  download(path: string, timeoutMs: number): Promise<Response>;
  /**
   * A POST that answers with live progress (JSON Lines): `onEvent` gets each line, parsed, as it
   * arrives. A server that answers one plain JSON object instead gives that object once.
   */
  progress(path: string, body: unknown, timeoutMs: number, onEvent: (event: unknown) => void): Promise<void>;
}

/** Checks `--addr` / BREAKGLASS_ADDR before anything is sent. */
export function parseAddr(addr: string): string {
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new CliError(exitCodes.usage, `server address "${addr}" is not a URL such as http://127.0.0.1:8420`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(exitCodes.usage, `server address "${addr}" must start with http:// or https://`);
  }
  return url.href.replace(/\/+$/, '');
}

const loopback = new Set(['localhost', '127.0.0.1', '[::1]']);

/** True when a token would travel in clear text beyond this machine. */
export function sendsTokenInClear(addr: string): boolean {
  const url = new URL(addr);
  return url.protocol === 'http:' && !loopback.has(url.hostname);
}

/**
 * A fetch that trusts exactly the certificate authorities in `caFile` (PEM; BREAKGLASS_CA_FILE),
 * as `curl --cacert` does: for a server whose certificate comes from a private CA or is
 * self-signed. Undici is loaded only when it is used.
 */
export function fetchTrusting(caFile: string): typeof fetch {
  let ca: Buffer;
  try {
    ca = readFileSync(caFile);
  } catch (error) {
    throw new CliError(exitCodes.usage, `BREAKGLASS_CA_FILE ${caFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: error });
  }
  let agent: Agent | undefined;
  return async (input, init) => {
    const undici = await import('undici');
    agent ??= new undici.Agent({ connect: { ca } });
    const url = input instanceof Request ? input.url : input;
    return undici.fetch(url, { ...init, dispatcher: agent });
  };
}

/** Undici puts the reason (ECONNREFUSED, ENOTFOUND, …) in `cause`, sometimes nested. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[]; message?: unknown } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (typeof code === 'string') return code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

async function errorFromResponse(response: Response): Promise<CliError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = tolerant(errorResponseSchema).safeParse(body);
  if (!parsed.success) {
    return new CliError(exitCodeForStatus(response.status), `the server answered ${response.status} ${response.statusText}`.trimEnd());
  }
  const { code, message, path } = parsed.data.error;
  const exitCode = code === 'internal' ? exitCodeForStatus(response.status) : exitCodeForError(code);
  const full = path !== undefined && !message.startsWith(path) ? `${path}: ${message}` : message;
  const hint = response.status === 401 || code === 'unauthenticated' ? hints.unauthenticated : undefined;
  return new CliError(exitCode, full, hint === undefined ? {} : { hint });
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const addr = parseAddr(options.addr);
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function send(method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, limitMs: number, accept = 'application/json'): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await options.fetch(`${addr}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(limitMs),
      });
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new CliError(exitCodes.error, `no answer from ${addr} within ${Math.round(limitMs / 1000)}s`, { cause: error });
      }
      throw new CliError(exitCodes.unreachable, `cannot reach the server at ${addr} (${networkReason(error)})`, {
        hint: hints.unreachable,
        cause: error,
      });
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  async function call<S extends z.ZodType>(method: 'GET' | 'POST' | 'DELETE', path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    const response = await send(method, path, body, timeoutMs);
    let json: unknown;
    try {
      json = await response.json();
    } catch (error) {
      throw new CliError(exitCodes.error, `unexpected answer from ${method} ${path}: not JSON`, { cause: error });
    }
    // A newer server may add fields; a missing or mistyped one is an unexpected answer.
    const parsed = tolerant(schema).safeParse(json);
    if (!parsed.success) {
      throw new CliError(exitCodes.error, `unexpected answer from ${method} ${path}: ${formatIssues(parsed.error).join('; ')}`);
    }
    return parsed.data;
  }

  async function progress(path: string, body: unknown, limitMs: number, onEvent: (event: unknown) => void): Promise<void> {
    const response = await send('POST', path, body, limitMs, 'application/x-ndjson, application/json;q=0.5');
    const unexpected = (why: string, cause?: unknown) => new CliError(exitCodes.error, `unexpected answer from POST ${path}: ${why}`, { cause });
    const parse = (text: string): unknown => {
      try {
        return JSON.parse(text);
      } catch (error) {
        throw unexpected('not JSON', error);
      }
    };
    if (!(response.headers.get('content-type') ?? '').startsWith('application/x-ndjson') || response.body === null) {
      onEvent(parse(await response.text()));
      return;
    }
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, end).trim();
          pending = pending.slice(end + 1);
          if (line !== '') onEvent(parse(line));
        }
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (error instanceof Error && error.name === 'TimeoutError') throw new CliError(exitCodes.error, `no end of answer from ${addr} within ${Math.round(limitMs / 1000)}s`, { cause: error });
      throw new CliError(exitCodes.unreachable, `the connection to ${addr} broke before the answer ended (${networkReason(error)})`, { hint: hints.unreachable, cause: error });
    }
    if (pending.trim() !== '') onEvent(parse(pending.trim()));
  }

  return {
    addr,
    progress,
    get: (path, schema) => call('GET', path, schema),
    post: (path, schema, body) => call('POST', path, schema, body),
    delete: (path, schema) => call('DELETE', path, schema),
    download: (path, limitMs) => send('GET', path, undefined, limitMs),
  };
}
