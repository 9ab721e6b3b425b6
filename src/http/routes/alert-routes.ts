import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  ackLinkQuery,
  alertAckBody,
  alertAckResponseSchema,
  alertIdParams,
  alertRetryResponseSchema,
  alertsQuery,
  alertsResponseSchema,
  channelParams,
  channelTestResponseSchema,
  errorResponseSchema as errorBody,
  type AlertAckJson,
  type AlertViewJson,
} from '../../api/index.js';
import { AppError } from '../../errors/index.js';
import type { AckLink } from '../../modules/alerts/alert-ack-link.js';
import { acknowledgeAlert, acknowledgeByLink, inspectAckLink, type AckResult } from '../../modules/alerts/alert-ack.js';
import { listAlerts, retryAlert, testChannel, type AlertView } from '../../modules/alerts/alerts-admin.js';
import type { ModuleContext } from '../../modules/context.js';
import { actorOf } from '../actor.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/** The JSON shape of an alert: dates ISO 8601, absent fields omitted. */
const alertJson = ({ createdAt, sentAt, acked, ...rest }: AlertView): AlertViewJson => ({
  ...rest,
  createdAt: createdAt.toISOString(),
  ...(sentAt === undefined ? {} : { sentAt: sentAt.toISOString() }),
  ...(acked === undefined ? {} : { acked: { ...acked, at: acked.at.toISOString() } }),
});

const ackJson = ({ ackedAt, note, ...rest }: AckResult): AlertAckJson => ({ ...rest, ackedAt: ackedAt.toISOString(), ...(note === undefined ? {} : { note }) });

/** The alert outbox and the channels: list, retry a dead alert, test a channel. */
export const alertRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.get('/alerts', {
      schema: {
        summary: 'List alerts, newest first: what was sent to which channel, what is still pending, what is dead',
        tags: ['alerts'],
        querystring: alertsQuery,
        response: { 200: alertsResponseSchema, ...errors },
      },
      handler: async (request) => ({ alerts: (await listAlerts(ctx, actorOf(request), request.query)).map(alertJson) }),
    });

    app.post('/alerts/:id/retry', {
      schema: {
        summary: 'Send a dead alert again: back to pending, attempts reset (409 unless it is dead)',
        tags: ['alerts'],
        params: alertIdParams,
        response: { 200: alertRetryResponseSchema, ...errors },
      },
      handler: async (request) => alertJson(await retryAlert(ctx, actorOf(request), request.params.id)),
    });

    app.post('/alerts/:id/ack', {
      schema: {
        summary: "Acknowledge an alert's event (every channel it went to): its escalation stops. Again: answers the first acknowledgement",
        tags: ['alerts'],
        params: alertIdParams,
        body: alertAckBody,
        response: { 200: alertAckResponseSchema, ...errors },
      },
      handler: async (request) => ackJson(await acknowledgeAlert(ctx, actorOf(request), request.params.id, request.body.note)),
    });

    app.post('/channels/:name/test', {
      schema: {
        summary: "Send a test message through a channel and report the receiver's answer (a failed delivery is ok: false, not an error)",
        tags: ['alerts'],
        params: channelParams,
        response: { 200: channelTestResponseSchema, ...errors },
      },
      handler: async (request) => testChannel(ctx, actorOf(request), request.params.name),
    });
  };

/** The link's parameters, or one 400 that does not say which is wrong. */
function linkOf(query: unknown): { link: AckLink; signature: string } {
  const parsed = ackLinkQuery.safeParse(query);
  if (!parsed.success) throw new AppError('validation', 'not an acknowledgement link');
  const { e, c, x, s } = parsed.data;
  return { link: { eventId: e, channel: c, expires: Number(x) }, signature: s };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.codePointAt(0)};`);
const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
const acknowledged = (by: string, at: Date) => `<p>Acknowledged by ${escapeHtml(by)} at ${escapeHtml(at.toISOString())}.</p>`;

/**
 * The signed acknowledgement link of a message, outside the bearer-token routes (the link is the
 * capability). GET shows what it acknowledges and a button; only the POST of that button
 * acknowledges, so a mail scanner or chat preview fetching the link acknowledges nothing.
 * The form posts `text/plain` with an empty body, which the server parses without a form parser.
 */
export const alertLinkRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (app) => {
    const schema = (summary: string) => ({ summary, tags: ['alerts'], security: [], response: { 400: errorBody, 404: errorBody } });

    app.get('/v1/alerts/ack', {
      schema: schema('The page of a signed acknowledgement link (from an alert message): what it acknowledges, and the button that does (no token; 404 when altered or expired)'),
      handler: async (request, reply) => {
        const { link, signature } = linkOf(request.query);
        const { ack } = await inspectAckLink(ctx, link, signature);
        const title = `Alert ${link.eventId}`;
        const body =
          ack === undefined
            ? `<p>Sent to channel ${escapeHtml(link.channel)}. Acknowledging it stops its escalation.</p><form method="post" enctype="text/plain"><button type="submit">Acknowledge</button></form>`
            : acknowledged(ack.ackedBy, ack.ackedAt);
        return reply.type('text/html; charset=utf-8').send(page(title, body));
      },
    });

    app.post('/v1/alerts/ack', {
      schema: schema('Acknowledge through a signed link (from an alert message), as link:<channel>; no token (404 when altered or expired)'),
      handler: async (request, reply) => {
        const { link, signature } = linkOf(request.query);
        const ack = await acknowledgeByLink(ctx, link, signature);
        return reply.type('text/html; charset=utf-8').send(page(`Alert ${link.eventId}`, acknowledged(ack.ackedBy, ack.ackedAt)));
      },
    });
  };
