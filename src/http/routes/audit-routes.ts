import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { exportAudit, verifyAudit } from '../../modules/audit/audit-access.js';
import { auditVerificationSchema, errorResponseSchema as errorBody } from '../../api/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { actorOf } from '../actor.js';

/** Verification and export of the audit chain. */
export const auditRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.get('/audit/verify', {
      schema: { summary: 'Verify the audit chain end to end', tags: ['audit'], response: { 200: auditVerificationSchema, 401: errorBody, 403: errorBody } },
      handler: async (request) => {
        const result = await verifyAudit(ctx, actorOf(request));
        return result.ok
          ? { ok: true as const, events: result.events, headSeq: result.headSeq, checkpoints: result.checkpoints }
          : { ok: false as const, firstBadSeq: result.firstBadSeq, reason: result.reason, events: result.events };
      },
    });

    app.get('/audit/export', {
      schema: { summary: 'Export the chain as a self-contained JSON Lines bundle', tags: ['audit'], produces: ['application/x-ndjson'] },
      handler: async (request, reply) => {
        const bundle = exportAudit(ctx, actorOf(request));
        return reply.type('application/x-ndjson').send(Readable.from(bundle));
      },
    });
  };
