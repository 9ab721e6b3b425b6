import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { certifyBody, errorResponseSchema as errorBody, grantIdParams, grantViewSchema, invokeBody, revealResponseSchema } from '../../api/index.js';
// issue 11 (H3)
import { grantHistoryQuery, grantHistoryResponseSchema, grantTimelineResponseSchema, resolveBody } from '../../api/index.js';
import { grantHistory, historyInstant } from '../../modules/grants/grant-history.js';
import { grantTimeline } from '../../modules/grants/grant-timeline.js';
import { resolveReview } from '../../modules/grants/resolve-review.js';
import { asGrantId } from '../../domain/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { cancelGrant } from '../../modules/grants/cancel-grant.js';
import { certify } from '../../modules/grants/certify.js';
import { endGrant } from '../../modules/grants/end-grant.js';
import { reveal } from '../../modules/grants/reveal.js';
import { accountName, accountNames } from '../../modules/grants/show-grant.js';
// issue 13 (store reads)
import { showGrantWithContext } from '../../modules/grants/show-grant.js';
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

    // issue 11 (H3): the history of cases, filtered and paged (the answer keeps its `grants`, and gains `nextCursor`).
    app.get('/grants', {
      schema: {
        summary: 'List grants, newest first: the history of cases, filtered, in pages',
        tags: ['grants'],
        querystring: grantHistoryQuery,
        response: { 200: grantHistoryResponseSchema, ...errors },
      },
      handler: async (request) => {
        const { since, until, ...rest } = request.query;
        const now = ctx.clock.now();
        const page = await grantHistory(ctx, actorOf(request), { ...rest, since: historyInstant(since, now), until: historyInstant(until, now) });
        const names = await accountNames(ctx);
        const grants = page.grants.map((g) => grantView(g, names.get(g.accountId)));
        return page.nextCursor === undefined ? { grants } : { grants, nextCursor: page.nextCursor };
      },
    });

    app.get('/grants/:id/timeline', {
      schema: { summary: "A case's audit events, oldest first", tags: ['grants'], params: grantIdParams, response: { 200: grantTimelineResponseSchema, ...errors } },
      handler: async (request) => {
        const events = await grantTimeline(ctx, actorOf(request), asGrantId(request.params.id));
        return { grant: request.params.id, events: events.map((e) => ({ seq: e.seq, at: e.at.toISOString(), actor: e.actor, action: e.action, details: e.details })) };
      },
    });

    app.post('/grants/:id/resolve', {
      schema: {
        summary: 'Resolve a case under review (admin, not the requester) and close it',
        tags: ['grants'],
        params: grantIdParams,
        body: resolveBody,
        response: { 200: grantViewSchema, ...errors },
      },
      handler: async (request) => view(await resolveReview(ctx, actorOf(request), asGrantId(request.params.id), request.body.note)),
    });

    app.get('/grants/:id', {
      schema: { summary: 'Show a grant', tags: ['grants'], params: grantIdParams, response: { 200: grantViewSchema, ...errors } },
      handler: async (request) => {
        // issue 13 (store reads): the grant, its account's name and a stuck step in one read.
        const shown = await showGrantWithContext(ctx, actorOf(request), asGrantId(request.params.id));
        return grantView(shown.grant, shown.accountName, shown.stuck);
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
