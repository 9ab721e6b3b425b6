import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ModuleContext } from '../../modules/context.js';
import { runCeremony } from '../../modules/custodians/ceremony.js';
import { kitDocument } from '../../modules/custodians/kit.js';
import { submitShare } from '../../modules/custodians/submit-share.js';
import { accountName } from '../../modules/grants/show-grant.js';
import { actorOf } from '../actor.js';
import { errorBody, grantIdParams, grantViewSchema } from '../schemas.js';
import { grantView } from '../views.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 503: errorBody };
const accountParams = z.object({ name: z.string().min(1).max(64) });

/** Cryptographic dual control: key ceremony, custodians' shares, the offline kit. */
export const custodianRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.post('/accounts/:name/ceremony', {
      schema: {
        summary: 'Key ceremony: a new custodian key; each share is returned once, never stored',
        tags: ['dual control'],
        params: accountParams,
        response: {
          200: z.object({ account: z.string(), kid: z.string(), threshold: z.number(), shares: z.record(z.string(), z.string()), plaintextFor: z.array(z.string()) }),
          ...errors,
        },
      },
      handler: async (request, reply) => reply.header('cache-control', 'no-store').send(await runCeremony(ctx, actorOf(request), request.params.name)),
    });

    app.post('/grants/:id/shares', {
      schema: {
        summary: "A custodian presents their share for a grant awaiting its quorum",
        tags: ['dual control'],
        params: grantIdParams,
        body: z.object({ share: z.string().min(10).max(20_000) }),
        response: { 200: z.object({ grant: grantViewSchema, presented: z.number(), threshold: z.number() }), ...errors },
      },
      handler: async (request) => {
        const receipt = await submitShare(ctx, actorOf(request), request.params.id, request.body.share);
        return { ...receipt, grant: grantView(receipt.grant, await accountName(ctx, receipt.grant)) };
      },
    });

    app.get('/accounts/:name/kit', {
      schema: {
        summary: 'The offline kit of a dual-control account (sealed secret, public key, share fingerprints)',
        tags: ['dual control'],
        params: accountParams,
        response: {
          200: z.object({
            format: z.literal('breakglass-kit'),
            version: z.literal(1),
            account: z.string(),
            username: z.string(),
            target: z.object({ name: z.string(), type: z.string(), host: z.string().optional(), port: z.number().optional() }),
            kid: z.string(),
            publicKey: z.string(),
            threshold: z.number(),
            custodians: z.array(z.object({ name: z.string(), fingerprint: z.string() })),
            kitSerial: z.string(),
            secretVersion: z.number(),
            aad: z.string(),
            sealed: z.string(),
            issuedAt: z.string(),
          }),
          ...errors,
        },
      },
      handler: async (request) => kitDocument(ctx, actorOf(request), request.params.name),
    });
  };
