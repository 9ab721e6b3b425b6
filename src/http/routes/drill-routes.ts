import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { drillBody, drillParams, drillResponseSchema, errorResponseSchema as errorBody } from '../../api/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { runDrill } from '../../modules/drills/run-drill.js';
import { actorOf } from '../actor.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/** Drills: run the real path of a case on one account now, with its evidence. */
export const drillRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.post('/accounts/:name/drill', {
      schema: {
        summary: 'Run a drill on an account now: invoke, log in, end, verify revoked, rotate, verify rotated; 200 with result "failed" when a step failed',
        tags: ['drills'],
        params: drillParams,
        body: drillBody.optional(),
        response: { 200: drillResponseSchema, ...errors },
      },
      handler: async (request, reply) => {
        const { name } = request.params;
        // A drill waiting for custodians stops (its grant cancelled) when the client goes away.
        const gone = new AbortController();
        // Custodians take minutes; the wait is bounded by the quorum window, not by the idle-socket limit.
        if (request.body?.withQuorum === true) request.raw.socket.setTimeout(0);
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) gone.abort();
        });
        const report = await runDrill(ctx, actorOf(request), name, {
          withQuorum: request.body?.withQuorum === true,
          signal: gone.signal,
          onQuorumWait: (w) => ctx.log.info({ account: name, grant: w.grantId, presented: w.presented, threshold: w.threshold }, 'drill waiting for custodians'),
          onStep: (step) => ctx.log.info({ account: name, step: step.name, result: step.result, ms: step.ms }, 'drill step'),
        });
        const quorum = { ...(report.quorum ? { quorum: report.quorum } : {}), ...(report.custodians ? { custodians: [...report.custodians] } : {}) };
        return { account: report.account, result: report.result, ...(report.grantId ? { grant: report.grantId } : {}), steps: report.steps.map((s) => ({ ...s })), ...quorum };
      },
    });
  };
