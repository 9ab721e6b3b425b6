import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Actor } from '../domain/index.js';
import { isAppError } from '../errors/index.js';
import type { ModuleContext } from '../modules/context.js';
import { authenticate } from '../modules/identity/identity.js';
import type { SealGate } from '../ports/index.js';
import { errorStatus } from './error-status.js';
import { auditRoutes } from './routes/audit-routes.js';
import { catalogRoutes } from './routes/catalog-routes.js';
import { custodianRoutes } from './routes/custodian-routes.js';
import { grantRoutes } from './routes/grant-routes.js';
import { enrolmentRoutes, identityRoutes } from './routes/identity-routes.js';
import { sysRoutes } from './routes/sys-routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | undefined;
  }
}

export interface HttpDeps {
  readonly ctx: ModuleContext;
  /** Is the store reachable? For /readyz. */
  readonly ready: () => Promise<boolean>;
  readonly logger: FastifyServerOptions['logger'];
  readonly version: string;
  /** The root key's seal: `/v1/sys/seal-status` and `/v1/sys/unseal`. */
  readonly seal?: SealGate;
}

export type App = FastifyInstance;

const sendError = (code: string, message: string, path?: string) => ({ error: { code, message, ...(path ? { path } : {}) } });

function createApp(logger: FastifyServerOptions['logger']) {
  const base = Fastify({ logger: logger ?? false, bodyLimit: 1_048_576 });
  installErrorHandler(base);
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  return app;
}

/** Builds the Fastify app: zod-validated routes under /v1, OpenAPI 3.1, one error handler. */
export async function buildHttpApp(deps: HttpDeps): Promise<App> {
  const app = createApp(deps.logger);
  app.decorateRequest('actor', undefined);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Breakglass API', version: deps.version, description: 'Governed emergency privileged access.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  app.setNotFoundHandler((request, reply) => reply.status(404).send(sendError('not_found', `no route ${request.method} ${request.url}`)));

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const ok = await deps.ready().catch(() => false);
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable' });
  });

  if (deps.seal) await app.register(sysRoutes(deps.seal));
  await app.register(enrolmentRoutes(deps.ctx));

  await app.register(
    async (v1) => {
      v1.addHook('onRequest', async (request, reply) => {
        const header = request.headers.authorization ?? '';
        const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
        const actor = token ? await authenticate(deps.ctx, token) : undefined;
        if (!actor) {
          return reply.status(401).send(sendError('unauthenticated', 'missing or invalid bearer token; set BREAKGLASS_TOKEN'));
        }
        request.actor = actor;
        return undefined;
      });
      await v1.register(catalogRoutes(deps.ctx));
      await v1.register(grantRoutes(deps.ctx));
      await v1.register(auditRoutes(deps.ctx));
      await v1.register(custodianRoutes(deps.ctx));
      await v1.register(identityRoutes(deps.ctx));
    },
    { prefix: '/v1' },
  );
  return app;
}

/**
 * The app of a server whose root key is sealed (shamir): liveness, readiness (503), the seal
 * status and unseal routes, and a 503 `sealed` error for everything else, until the
 * threshold-th share arrives and the full app takes over.
 */
export async function buildSealedHttpApp(deps: { seal: SealGate; logger: FastifyServerOptions['logger'] }): Promise<App> {
  const app = createApp(deps.logger);
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => reply.status(503).send({ status: 'sealed' }));
  await app.register(sysRoutes(deps.seal));
  app.setNotFoundHandler((_request, reply) =>
    reply.status(503).send(sendError('sealed', 'the server is sealed: present unseal shares with `breakglass operator unseal` (see `breakglass operator seal-status`)')),
  );
  return app;
}

/** One error handler for every app: validation → 400 with paths, AppError → its status, else 500. */
function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      // The library's item type does not resolve under type-aware lint; its shape is stable.
      const items = error.validation as readonly { instancePath: string; message?: string }[];
      const context = (error as { validationContext?: string }).validationContext ?? 'request';
      const issues = items.map((v) => {
        // Paths read like the catalog file's: accounts[0].policy; the body is implied.
        const segments = v.instancePath.split('/').filter(Boolean);
        const path = segments.reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
        const where = context === 'body' ? path || 'body' : [context, path].filter(Boolean).join('.');
        return { where, message: `${where}: ${v.message ?? 'invalid'}` };
      });
      return reply.status(400).send(sendError('validation', issues.map((i) => i.message).join('; '), issues[0]?.where));
    }
    if (isAppError(error)) {
      const status = errorStatus[error.code];
      // Fail-closed refusals (audit_failed, crypto, integrity) must leave a trace for operators;
      // the message is secret-free by contract, the cause is not logged.
      if (status >= 500) request.log.error({ code: error.code, err: error.message }, 'request failed');
      return reply.status(status).send(sendError(error.code, error.message, error.path));
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send(sendError(status === 404 ? 'not_found' : 'validation', (error as Error).message));
    }
    request.log.error({ err: { name: (error as Error).name, code: (error as { code?: unknown }).code } }, 'unhandled error');
    return reply.status(500).send(sendError('internal', 'internal error; see the server log'));
  });
}
