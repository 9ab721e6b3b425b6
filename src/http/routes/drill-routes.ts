import type { Socket } from 'node:net';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { drillBody, drillParams, drillResponseSchema, errorResponseSchema as errorBody, type DrillProgress, type DrillView } from '../../api/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { runDrill, type DrillOptions, type DrillReport } from '../../modules/drills/run-drill.js';
import { actorOf } from '../actor.js';
import { errorEvent, ndjsonProgress, wantsProgress } from '../ndjson-progress.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

const view = (report: DrillReport): DrillView => ({
  account: report.account,
  result: report.result,
  ...(report.grantId ? { grant: report.grantId } : {}),
  steps: report.steps.map((s) => ({ ...s })),
  ...(report.quorum ? { quorum: report.quorum } : {}),
  ...(report.custodians ? { custodians: [...report.custodians] } : {}),
});

/** Drills: run the real path of a case on one account now, with its evidence. */
export const drillRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.post('/accounts/:name/drill', {
      schema: {
        summary: 'Run a drill on an account now: invoke, log in, end, verify revoked, rotate, verify rotated; 200 with result "failed" when a step failed',
        description:
          'With `Accept: application/x-ndjson` the answer is live progress, one JSON object per line (`step` as each step ends, `waiting` while a quorum drill waits for custodians), ended by one `result` line carrying the report below (or `error`). Refusals before the first step are ordinary error answers.',
        tags: ['drills'],
        params: drillParams,
        body: drillBody.optional(),
        produces: ['application/json', 'application/x-ndjson'],
        response: { 200: drillResponseSchema, ...errors },
      },
      handler: async (request, reply) => {
        const { name } = request.params;
        const actor = actorOf(request);
        const withQuorum = request.body?.withQuorum === true;
        // A drill waiting for custodians stops (its grant cancelled) when the client goes away.
        const gone = new AbortController();
        // Custodians take minutes; the wait is bounded by the quorum window, not by the idle-socket limit.
        // (An injected request, in tests, has a socket without timeouts.)
        if (withQuorum) (request.raw.socket as Partial<Socket> | undefined)?.setTimeout?.(0);
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) gone.abort();
        });
        const drill = (emit?: (event: DrillProgress) => void) => {
          const options: DrillOptions = {
            withQuorum,
            signal: gone.signal,
            onQuorumWait: (w) => {
              request.log.info({ account: name, grant: w.grantId, presented: w.presented, threshold: w.threshold }, 'drill waiting for custodians');
              emit?.({ event: 'waiting', grant: w.grantId, presented: w.presented, threshold: w.threshold, expiresAt: w.expiresAt.toISOString() });
            },
            onStep: (step) => {
              request.log.info({ account: name, step: step.name, result: step.result, ms: step.ms }, 'drill step');
              emit?.({ event: 'step', step: { ...step } });
            },
          };
          return runDrill(ctx, actor, name, options);
        };
        if (!wantsProgress(request.headers.accept)) return view(await drill());
        const body = await ndjsonProgress<DrillReport>((emit) => drill(emit), {
          result: (report) => ({ event: 'result', report: view(report) }) satisfies DrillProgress,
          error: (error) => {
            request.log.error({ account: name, err: errorEvent(error) }, 'drill broke off');
            return { event: 'error', error: errorEvent(error) } satisfies DrillProgress;
          },
        });
        // A stream is piped as it is, outside the JSON response schema (which types `send`).
        const stream: FastifyReply = reply;
        return stream.type('application/x-ndjson').send(body);
      },
    });
  };
