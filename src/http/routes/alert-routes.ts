import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { alertIdParams, alertRetryResponseSchema, alertsQuery, alertsResponseSchema, channelParams, channelTestResponseSchema, errorResponseSchema as errorBody, type AlertViewJson } from '../../api/index.js';
import { listAlerts, retryAlert, testChannel, type AlertView } from '../../modules/alerts/alerts-admin.js';
import type { ModuleContext } from '../../modules/context.js';
import { actorOf } from '../actor.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/** The JSON shape of an alert: dates ISO 8601, absent fields omitted. */
const alertJson = ({ createdAt, sentAt, ...rest }: AlertView): AlertViewJson => ({
  ...rest,
  createdAt: createdAt.toISOString(),
  ...(sentAt === undefined ? {} : { sentAt: sentAt.toISOString() }),
});

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
