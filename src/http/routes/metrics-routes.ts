import type { FastifyPluginAsync } from 'fastify';
import type { ModuleContext } from '../../modules/context.js';
import type { Metrics } from '../../modules/metrics/metrics-registry.js';
import { metricsReaderOf, readMetrics } from '../../modules/metrics/read-metrics.js';
import { sendError } from '../error-body.js';
import type { ClientLimiter } from '../limits.js';

const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * `GET /metrics` in the Prometheus text format, outside /v1 where scrapers look for it. A bearer
 * token is required: BREAKGLASS_METRICS_TOKEN, or a user's token (admin or auditor). Failed
 * attempts count against the same per-client limit as /v1's.
 */
export const metricsRoutes =
  (ctx: ModuleContext, metrics: Metrics, authFailures: ClientLimiter): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (app) => {
    app.get('/metrics', {
      schema: { summary: 'Prometheus metrics (text format 0.0.4)', tags: ['metrics'], produces: ['text/plain'] },
      handler: async (request, reply) => {
        const token = bearer.exec(request.headers.authorization ?? '')?.[1];
        const reader = token === undefined ? undefined : await metricsReaderOf(ctx, metrics, token);
        if (reader === undefined) {
          if (await authFailures(request, reply)) return reply;
          return reply.status(401).send(sendError('unauthenticated', 'missing or invalid bearer token; use BREAKGLASS_METRICS_TOKEN or an admin or auditor token'));
        }
        const { contentType, text } = await readMetrics(ctx, metrics, reader);
        return reply.type(contentType).send(text);
      },
    });
  };
