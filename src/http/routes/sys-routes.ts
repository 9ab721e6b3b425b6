import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponseSchema as errorBody, sealStatusSchema, unsealBody } from '../../api/index.js';
import type { SealGate } from '../../ports/index.js';
import type { ClientLimiter } from '../limits.js';

/**
 * `/v1/sys/…`: the seal of the root key. No bearer token: a sealed server cannot check one (the
 * users' tokens are in the store, usable only once unsealed), and the answers hold no secret.
 * Registered at the root with full paths so the `/v1` authentication hook does not apply.
 */
export const sysRoutes =
  (gate: SealGate, limit: ClientLimiter): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    // No token to check: each client address gets a bounded number of tries per window.
    app.addHook('onRequest', async (request, reply) => ((await limit(request, reply)) ? reply : undefined));

    app.get('/v1/sys/seal-status', {
      schema: { summary: 'Is the root key sealed, and how many unseal shares are in', tags: ['sys'], security: [], response: { 200: sealStatusSchema } },
      handler: () => gate.status(),
    });

    app.post('/v1/sys/unseal', {
      schema: {
        summary: 'Present one unseal share (shamir seal); the threshold-th valid share unseals the server',
        tags: ['sys'],
        security: [],
        body: unsealBody,
        response: { 200: sealStatusSchema, 400: errorBody, 409: errorBody, 500: errorBody, 503: errorBody },
      },
      handler: (request) => gate.unseal(request.body.share),
    });
  };
