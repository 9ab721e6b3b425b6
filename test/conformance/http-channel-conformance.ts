/**
 * What every HTTP alert channel (Slack, Teams, PagerDuty, …) must do against a real receiver:
 * a local node:http server on 127.0.0.1 that records each request and answers as told. The
 * channel's test file checks its own message with `startReceiver`, then calls
 * `httpChannelConformance` for the failures every sender must report the same way.
 *
 * @example
 *   httpChannelConformance('slack', { sender: slackSender, channel: (base) => ({ ..., secret: `${base}/services/T/B/x` }) });
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/index.js';
import { DELIVERY_TIMEOUT_MS } from '../../src/notify/http-delivery.js';
import type { AlertPayload, ChannelConnection, ChannelSender } from '../../src/ports/index.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  readonly requests: ReceivedRequest[];
  /** What the next requests get (default 200 "ok"). */
  answer(status: number, body?: string): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let reply = { status: 200, body: 'ok' };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    answer: (status, body = '') => {
      reply = { status, body };
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A break-glass activation as the outbox writes it: every field an alert can carry. */
export const activatedPayload: AlertPayload = {
  event: 'grant.activated',
  id: 'evt-42',
  at: '2025-03-01T02:14:07.000Z',
  severity: 'critical',
  summary: 'Break-glass access to prod-db-admin activated for alice',
  grant: 'grt_01JN3Q8ZK4V7',
  account: 'prod-db-admin',
  target: 'prod-postgres',
  requester: 'alice',
  approvers: ['bob', 'carol'],
  condition: 'outage',
  incident: 'INC-2041',
  reason: 'Primary is down; need to promote the replica',
  expiresAt: '2025-03-01T03:14:07.000Z',
  link: 'https://breakglass.internal/grants/grt_01JN3Q8ZK4V7',
  actor: 'alice',
};

export async function deliveryError(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(() => new Error('expected the delivery to fail'), (failure: unknown) => failure);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

/** The secret and its long pieces (a webhook URL's token path segment, its `sig=` value). */
const secretParts = (secret: string | undefined): string[] =>
  secret === undefined || secret === '' ? [] : [secret, ...secret.split(/[/?&=]/).filter((part) => part.length >= 12 && !part.startsWith('127.0.0.1'))];

export interface HttpChannelSetup {
  readonly sender: ChannelSender;
  /** The channel pointed at `base` (a receiver, or a closed port), with its secret. */
  channel(base: string): ChannelConnection;
  /** Secrets the sender must refuse before sending anything, besides none at all. */
  readonly invalidSecrets?: readonly string[];
}

/** How each answer must be reported: 5xx and rate limits are retried, other refusals are not. */
const answers = [
  { status: 500, code: 'target_unavailable', retryable: true },
  { status: 503, code: 'target_unavailable', retryable: true },
  { status: 429, code: 'target_unavailable', retryable: true },
  { status: 404, code: 'target_error', retryable: false },
  { status: 400, code: 'target_error', retryable: false },
] as const;

export function httpChannelConformance(type: string, setup: HttpChannelSetup): void {
  describe(`${type} channel: delivery failures`, () => {
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(() => receiver.close());

    /** The channel's name and what happened are in the message; no part of the secret (URL or key) is. */
    const expectReported = (error: AppError, channel: ChannelConnection, what: string): void => {
      expect(error.message).toContain(`"${channel.name}"`);
      expect(error.message).toContain(what);
      const told = `${error.message} ${String(error.cause)} ${error.stack}`;
      for (const part of secretParts(channel.secret)) expect(told).not.toContain(part);
      expect(told).not.toContain(activatedPayload.summary);
    };

    // secret-in-errors: the receiver echoes the secret in its answer; the error must not.
    it.each(answers)('a receiver answering $status is a $code naming the channel and the status, never the secret or the body', async ({ status, code, retryable }) => {
      const channel = setup.channel(receiver.base);
      receiver.answer(status, `bad request from ${channel.secret ?? ''}`);
      const error = await deliveryError(setup.sender(channel, activatedPayload));
      expect(error).toMatchObject({ code, retryable });
      expectReported(error, channel, `HTTP ${status}`);
      expect(error.message).not.toContain('bad request from');
    });

    it('an unreachable receiver is a retryable failure well within the delivery timeout', async () => {
      const channel = setup.channel(`http://127.0.0.1:${await closedPort()}`);
      const started = performance.now();
      const error = await deliveryError(setup.sender(channel, activatedPayload));
      expect(performance.now() - started).toBeLessThan(DELIVERY_TIMEOUT_MS);
      expect(error).toMatchObject({ code: 'target_unavailable', retryable: true });
      expectReported(error, channel, 'could not be reached');
    });

    it.each([undefined, ...(setup.invalidSecrets ?? [])])('refuses the secret %j without quoting it or sending anything', async (secret) => {
      const channel = { ...setup.channel(receiver.base), secret };
      receiver.requests.length = 0;
      const error = await deliveryError(setup.sender(channel, activatedPayload));
      expect(error).toMatchObject({ code: 'target_error', retryable: false });
      expectReported(error, channel, 'secretEnv');
      expect(receiver.requests).toHaveLength(0);
    });
  });
}
