import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  errorResponseSchema as errorBody,
  inviteBody,
  inviteParams,
  inviteResponseSchema,
  redeemBody,
  tokenBody,
  tokenIdParams,
  tokenResponseSchema,
  tokensQuery,
  tokensResponseSchema,
  tokenViewSchema,
  whoamiResponseSchema,
  // issue 14 (enroll)
  enrollBody,
  enrollResponseSchema,
} from '../../api/index.js';
import { asTokenId } from '../../domain/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { inviteUser, redeemInvite } from '../../modules/identity/enrolment.js';
// issue 14 (enroll)
import { enrollUser } from '../../modules/signin/enroll.js';
import { createToken } from '../../modules/identity/identity.js';
import { listTokens, revokeToken, whoami } from '../../modules/identity/tokens.js';
import { actorOf } from '../actor.js';
import { issuedTokenView, tokenView } from '../views.js';
// issue 14 (enroll)
import type { ClientLimiter } from '../limits.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/** API tokens, enrolment codes and whoami (behind the bearer token). */
export const identityRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.post('/tokens', {
      schema: {
        summary: 'Create an API token for yourself, or (admin) for a service user; shown once',
        tags: ['identity'],
        body: tokenBody,
        response: { 201: tokenResponseSchema, ...errors },
      },
      handler: async (request, reply) => {
        const { user, ...options } = request.body;
        const issued = await createToken(ctx, actorOf(request), user, options);
        return reply.status(201).header('cache-control', 'no-store').send(issuedTokenView(issued));
      },
    });

    app.get('/tokens', {
      schema: {
        summary: 'List API tokens (never the token): your own, or (admin) everyone\'s or one user\'s',
        tags: ['identity'],
        querystring: tokensQuery,
        response: { 200: tokensResponseSchema, ...errors },
      },
      handler: async (request) => {
        const tokens = await listTokens(ctx, actorOf(request), { user: request.query.user, all: request.query.all === 'true' });
        return { tokens: tokens.map(tokenView) };
      },
    });

    app.delete('/tokens/:id', {
      schema: { summary: 'Revoke an API token at once', tags: ['identity'], params: tokenIdParams, response: { 200: tokenViewSchema, ...errors } },
      handler: async (request) => tokenView(await revokeToken(ctx, actorOf(request), asTokenId(request.params.id))),
    });

    app.post('/users/:name/invite', {
      schema: {
        summary: 'Issue a one-time enrolment code for a user (admin); valid once, for at most 24 h',
        tags: ['identity'],
        params: inviteParams,
        body: inviteBody,
        response: { 201: inviteResponseSchema, ...errors },
      },
      handler: async (request, reply) => {
        const invite = await inviteUser(ctx, actorOf(request), request.params.name, request.body);
        return reply.status(201).header('cache-control', 'no-store').send({ code: invite.code, expiresAt: invite.expiresAt.toISOString() });
      },
    });

    app.get('/whoami', {
      schema: { summary: 'Who this token is: user, roles, token id', tags: ['identity'], response: { 200: whoamiResponseSchema, ...errors } },
      handler: (request) => {
        const me = whoami(actorOf(request));
        return { user: me.user, roles: [...me.roles], tokenId: me.tokenId ?? null };
      },
    });
  };

/**
 * `POST /v1/tokens/redeem`: no bearer token, the enrolment code is the credential. Registered at
 * the root with its full path so the `/v1` authentication hook does not apply.
 */
export const enrolmentRoutes =
  (ctx: ModuleContext, enrolAttempts: ClientLimiter): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    app.post('/v1/tokens/redeem', {
      schema: {
        summary: 'Redeem a one-time enrolment code for a token of your own; shown once',
        tags: ['identity'],
        security: [],
        body: redeemBody,
        response: { 201: tokenResponseSchema, 400: errorBody, 401: errorBody },
      },
      handler: async (request, reply) => {
        const { code, ...options } = request.body;
        return reply.status(201).header('cache-control', 'no-store').send(issuedTokenView(await redeemInvite(ctx, code, options)));
      },
    });

    app.post('/v1/users/enroll', {
      schema: {
        summary: 'Enrol with a one-time invite code: set your password, get a TOTP secret and recovery codes; shown once',
        tags: ['identity'],
        security: [],
        body: enrollBody,
        response: { 201: enrollResponseSchema, 400: errorBody, 401: errorBody, 409: errorBody, 429: errorBody },
      },
      // issue 14 (enroll): each attempt may cost an argon2id hash; every attempt counts (HttpLimits.enrolment).
      onRequest: async (request, reply) => {
        await enrolAttempts(request, reply);
      },
      handler: async (request, reply) => {
        const enrolment = await enrollUser(ctx, request.body);
        return reply.status(201).header('cache-control', 'no-store').send({ ...enrolment, recoveryCodes: [...enrolment.recoveryCodes] });
      },
    });
  };

