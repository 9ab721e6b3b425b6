import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponseSchema as errorBody, incidentCloseResponseSchema, incidentParams } from '../../api/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { closeIncident } from '../../modules/incidents/close-incident.js';
import { actorOf } from '../actor.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 422: errorBody, 503: errorBody };

/** Issue 11 (H2): incident-bound grants. The one route an `incident-system` token may call. */
export const incidentRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    app.post('/incidents/:ref/close', {
      schema: {
        summary: 'Close an incident: end every active grant tied to it (revocation follows) and cancel its waiting requests',
        tags: ['incidents'],
        params: incidentParams,
        response: { 200: incidentCloseResponseSchema, ...errors },
      },
      handler: async (request) => {
        const closed = await closeIncident(ctx, actorOf(request), request.params.ref);
        return { incident: closed.incident, ended: closed.ended.map((g) => g.id), cancelled: closed.cancelled.map((g) => g.id) };
      },
    });
  };
