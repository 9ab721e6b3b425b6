import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { certifyBody, errorResponseSchema as errorBody, grantIdParams, grantsQuery, grantsResponseSchema, grantViewSchema, invokeBody, revealResponseSchema } from '../../api/index.js';
import { asGrantId } from '../../domain/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { cancelGrant } from '../../modules/grants/cancel-grant.js';
import { certify } from '../../modules/grants/certify.js';
import { endGrant } from '../../modules/grants/end-grant.js';
import { reveal } from '../../modules/grants/reveal.js';
import { accountName, accountNames, listGrants, showGrant, stuckStep } from '../../modules/grants/show-grant.js';
import { invoke } from '../../modules/grants/invoke.js';
import { actorOf } from '../actor.js';
// issue 11 (H2)
import { extendBody, joinBody, joinResponseSchema } from '../../api/index.js';
import { extendGrant } from '../../modules/grants/extend-grant.js';
import { joinGrant } from '../../modules/grants/join-grant.js';
import { grantView } from '../views.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 422: errorBody, 503: errorBody };

/** Routes of a break-glass case: invoke, reveal, end, certify, show, list. */
export const grantRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    const view = async (grant: Parameters<typeof grantView>[0]) => grantView(grant, await accountName(ctx, grant));

    app.post('/grants', {
      schema: { summary: 'Invoke an emergency account', tags: ['grants'], body: invokeBody, response: { 201: grantViewSchema, ...errors } },
      handler: async (request, reply) => {
        const { ttl, ...rest } = request.body;
        const grant = await invoke(ctx, actorOf(request), { ...rest, ttl });
        return reply.status(201).send(await view(grant));
      },
    });

    app.get('/grants', {
      schema: {
        summary: 'List grants',
        tags: ['grants'],
        querystring: grantsQuery,
        response: { 200: grantsResponseSchema, ...errors },
      },
      handler: async (request) => {
        const names = await accountNames(ctx);
        const grants = await listGrants(ctx, actorOf(request), request.query.state ? { state: request.query.state } : {});
        return { grants: grants.map((g) => grantView(g, names.get(g.accountId))) };
      },
    });

    app.get('/grants/:id', {
      schema: { summary: 'Show a grant', tags: ['grants'], params: grantIdParams, response: { 200: grantViewSchema, ...errors } },
      handler: async (request) => {
        const grant = await showGrant(ctx, actorOf(request), asGrantId(request.params.id));
        return grantView(grant, await accountName(ctx, grant), await stuckStep(ctx, grant));
      },
    });

    app.post('/grants/:id/reveal', {
      schema: {
        summary: 'Reveal the credential, once',
        tags: ['grants'],
        params: grantIdParams,
        response: {
          200: revealResponseSchema,
          ...errors,
        },
      },
      handler: async (request, reply) => {
        const credential = await reveal(ctx, actorOf(request), asGrantId(request.params.id));
        // The serializer checks the shape against the union above; connectors promise one of them.
        return reply.send(credential as { username: string; password: string });
      },
    });

    app.post('/grants/:id/end', {
      schema: { summary: 'End a grant early', tags: ['grants'], params: grantIdParams, response: { 200: grantViewSchema, ...errors } },
      handler: async (request) => view(await endGrant(ctx, actorOf(request), asGrantId(request.params.id))),
    });

    app.post('/grants/:id/cancel', {
      schema: { summary: 'Withdraw a request still waiting for its custodians', tags: ['grants'], params: grantIdParams, response: { 200: grantViewSchema, ...errors } },
      handler: async (request) => view(await cancelGrant(ctx, actorOf(request), asGrantId(request.params.id))),
    });

    app.post('/grants/:id/certify', {
      schema: {
        summary: 'Certify a finished case and close it',
        tags: ['grants'],
        params: grantIdParams,
        body: certifyBody,
        response: { 200: grantViewSchema, ...errors },
      },
      handler: async (request) => view(await certify(ctx, actorOf(request), asGrantId(request.params.id), request.body)),
    });

    // issue 11 (H2): bounds while active and repeated use.
    app.post('/grants/:id/extend', {
      schema: {
        summary: 'Extend an active grant, within the policy\'s maxExtensions and maxTotal (the native expiry on the target moves too, verified)',
        tags: ['grants'],
        params: grantIdParams,
        body: extendBody,
        response: { 200: grantViewSchema, ...errors },
      },
      handler: async (request) => view(await extendGrant(ctx, actorOf(request), asGrantId(request.params.id), request.body)),
    });

    app.post('/grants/:id/join', {
      schema: {
        summary: 'Join a live pre-staged case as a co-responder (own audit trail, own one reveal)',
        tags: ['grants'],
        params: grantIdParams,
        body: joinBody,
        response: { 200: joinResponseSchema, ...errors },
      },
      handler: async (request) => {
        const joined = await joinGrant(ctx, actorOf(request), asGrantId(request.params.id), request.body.reason);
        return {
          grant: await view(joined.grant),
          coResponders: joined.coResponders.map((c) => ({ name: c.userName, joinedAt: c.joinedAt.toISOString(), ...(c.revealedAt ? { revealedAt: c.revealedAt.toISOString() } : {}) })),
        };
      },
    });
  };
