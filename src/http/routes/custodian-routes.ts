import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { accountParams, ceremonyResponseSchema, errorResponseSchema as errorBody, grantIdParams, kitDocumentSchema, shareBody, shareReceiptSchema } from '../../api/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { runCeremony } from '../../modules/custodians/ceremony.js';
import { kitDocument } from '../../modules/custodians/kit.js';
import { submitShare } from '../../modules/custodians/submit-share.js';
import { accountName } from '../../modules/grants/show-grant.js';
import { actorOf } from '../actor.js';
import { grantView } from '../views.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 503: errorBody };

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
        response: { 200: ceremonyResponseSchema, ...errors },
      },
      handler: async (request, reply) => reply.send(await runCeremony(ctx, actorOf(request), request.params.name)),
    });

    app.post('/grants/:id/shares', {
      schema: {
        summary: "A custodian presents their share for a grant awaiting its quorum",
        tags: ['dual control'],
        params: grantIdParams,
        body: shareBody,
        response: { 200: shareReceiptSchema, ...errors },
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
        response: { 200: kitDocumentSchema, ...errors },
      },
      handler: async (request) => kitDocument(ctx, actorOf(request), request.params.name),
    });
  };
