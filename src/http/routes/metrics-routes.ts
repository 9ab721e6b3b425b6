import type { FastifyPluginAsync } from 'fastify';
import { isAppError } from '../../errors/index.js';
import { recordRefusal, refusalCodes } from '../../modules/audit/refusals.js';
import type { ModuleContext } from '../../modules/context.js';
import type { Metrics } from '../../modules/metrics/metrics-registry.js';
import { metricsReaderOf, readMetrics } from '../../modules/metrics/read-metrics.js';
import { sendError } from '../error-body.js';
import type { ClientLimiter } from '../limits.js';

const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * `GET /metrics` in the Prometheus text format, outside /v1 where scrapers look for it. A bearer
 * token is required: BREAKGLASS_METRICS_TOKEN, or a user's token (admin or auditor). Failed
 * attempts count against the same per-client limit as /v1's; a user's refusal is audited.
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
        const { contentType, text } = await readMetrics(ctx, metrics, reader).catch(async (error: unknown) => {
          // A user refused here is on the record like a refusal under /v1 (request.refused, folded per minute).
          if (reader !== 'scrape-token' && isAppError(error) && refusalCodes.has(error.code)) {
            await recordRefusal({ ...ctx, log: app.log }, reader, { what: 'GET /metrics', subject: 'metrics', error }).catch((failure: unknown) => {
              app.log.error({ err: failure instanceof Error ? failure.message : 'unknown' }, 'could not record a refusal');
            });
          }
          throw error;
        });
        return reply.type(contentType).send(text);
      },
    });
  };
