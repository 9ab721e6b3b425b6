import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { accountsResponseSchema, applyQuery, applyResponseSchema, refuseControlCharactersDeep, targetCheckResponseSchema, targetParams, errorResponseSchema as errorBody, sshCaQuery, sshCaResponseSchema } from '../../api/index.js';
import { catalogApplySchema } from '../../config/catalog-file.js';
import { applyCatalog } from '../../modules/catalog/apply-catalog.js';
import { checkTarget } from '../../modules/catalog/check-target.js';
import { listAccounts } from '../../modules/catalog/list-accounts.js';
import { sshCaPublicKey } from '../../modules/catalog/ssh-ca.js';
import type { ModuleContext } from '../../modules/context.js';
import { actorOf } from '../actor.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/** Catalog: declared targets, policies, accounts, users. */
export const catalogRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.post('/apply', {
      schema: {
        summary: 'Make the catalog match the file (targets, policies, accounts, users); all or nothing; ?dryRun=true answers the plan only',
        tags: ['catalog'],
        body: refuseControlCharactersDeep(catalogApplySchema),
        querystring: applyQuery,
        response: { 200: applyResponseSchema, ...errors },
      },
      handler: async (request) => applyCatalog(ctx, actorOf(request), request.body, { dryRun: request.query.dryRun === 'true' }),
    });

    app.get('/accounts', {
      schema: { summary: 'List declared emergency accounts', tags: ['catalog'], response: { 200: accountsResponseSchema, ...errors } },
      handler: async (request) => ({ accounts: await listAccounts(ctx, actorOf(request)) }),
    });

    app.post('/targets/:name/check', {
      schema: {
        summary: 'Probe a target: reachable with its admin secret, and does it reject a wrong password for each pre-staged account (so rotations can be proven)?',
        tags: ['catalog'],
        params: targetParams,
        response: { 200: targetCheckResponseSchema, ...errors },
      },
      handler: async (request) => checkTarget(ctx, actorOf(request), request.params.name),
    });

    app.get('/ssh/ca', {
      schema: {
        summary: "The public key of an SSH target's certificate authority (for sshd TrustedUserCAKeys)",
        tags: ['catalog'],
        querystring: sshCaQuery,
        response: { 200: sshCaResponseSchema, ...errors },
      },
      handler: async (request) => sshCaPublicKey(ctx, actorOf(request), request.query.target),
    });
  };
