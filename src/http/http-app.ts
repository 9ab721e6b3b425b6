import helmet from 'helmet';
import fastifyRateLimit from '@fastify/rate-limit';
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
import { recordRateLimited, type RateLimitScope } from '../modules/audit/rate-limited.js';
import { recordRefusal, refusalCodes } from '../modules/audit/refusals.js';
import type { ModuleContext } from '../modules/context.js';
import { authenticate, checkedTokens } from '../modules/identity/identity.js';
import type { SealGate } from '../ports/index.js';
import { sendError } from './error-body.js';
import { errorStatus } from './error-status.js';
import { defaultHttpLimits, jsonNesting, listenerOptions, type ClientLimiter, type HttpLimits, type RateLimit, type TlsMaterial } from './limits.js';
import { alertLinkRoutes, alertRoutes } from './routes/alert-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { driftRoutes } from './routes/drift-routes.js';
import { catalogRoutes } from './routes/catalog-routes.js';
import { custodianRoutes } from './routes/custodian-routes.js';
import { drillRoutes } from './routes/drill-routes.js';
import { grantRoutes } from './routes/grant-routes.js';
// issue 11 (H1)
import { approvalRoutes } from './routes/approval-routes.js';
import { metricsRoutes } from './routes/metrics-routes.js';
import { enrolmentRoutes, identityRoutes } from './routes/identity-routes.js';
import { reportRoutes } from './routes/report-routes.js';
import { sysRoutes } from './routes/sys-routes.js';
// issue 11 (H2)
import { incidentRoutes } from './routes/incident-routes.js';
import type { ServingGate } from './serving-gate.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | undefined;
  }
}

export interface HttpDeps {
  readonly ctx: ModuleContext;
  /** Is the store reachable (and how many alerts are dead)? For /readyz. */
  readonly ready: () => Promise<boolean | Readiness>;
  readonly logger: FastifyServerOptions['logger'];
  readonly version: string;
  /** The root key's seal: `/v1/sys/seal-status` and `/v1/sys/unseal`. */
  readonly seal?: SealGate;
  /** Body sizes, timeouts, rate limits; `defaultHttpLimits` for what is not given. */
  readonly limits?: Partial<HttpLimits>;
  /** Serve HTTPS with this certificate and key. */
  readonly tls?: TlsMaterial | undefined;
  /** The server's door: shutdown and store health (serving-gate.ts); none in unit tests. */
  readonly gate?: ServingGate;
}

export type App = FastifyInstance;

/** What `/readyz` reports beyond "the store answers". */
export interface Readiness {
  readonly ready: boolean;
  /** Alerts that could not be delivered: degraded (200, still serving), not down. */
  readonly deadAlerts?: number;
}


/** The routes that take a large body; every other one takes `bodyLimit` (a few KiB are plenty). */
const largeBodyRoutes = new Set(['/v1/apply']);

/** What every app shares: limits, security headers, the JSON parser, no-store, the error handler. */
async function createApp(options: { logger: FastifyServerOptions['logger']; limits: HttpLimits; tls: TlsMaterial | undefined }) {
  const { limits, tls } = options;
  const base = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimit,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    ...(tls ? { https: { ...listenerOptions(limits), cert: tls.cert, key: tls.key } } : { http: listenerOptions(limits) }),
  }) as unknown as FastifyInstance;
  installErrorHandler(base);
  base.addHook('onRoute', (route) => {
    if (largeBodyRoutes.has(route.url)) route.bodyLimit ??= limits.applyBodyLimit;
  });
  installJsonParser(base, limits.jsonDepth);
  // Answers of the API are about live emergency access (and some carry a credential, a share or a
  // token): no cache, no proxy and no browser may keep one. One hook, keyed on the route.
  base.addHook('onSend', async (request, reply, payload) => {
    if (request.routeOptions.url?.startsWith('/v1/')) reply.header('cache-control', 'no-store');
    return payload;
  });
  // Helmet's defaults (CSP `default-src 'self'`, nosniff, frame-ancestors, HSTS…) fit the API and
  // swagger-ui at /docs, which loads only its own scripts and styles. Upgrading requests to
  // HTTPS only makes sense when the server speaks it.
  // Issue 13: the headers are the same for every request, so helmet runs once, here, and each
  // reply gets its result (@fastify/helmet ran the whole middleware, CSP parse included, per
  // request: about 45 µs of a 270 µs authenticated read).
  const helmetHeaders: Record<string, string> = {};
  helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: tls ? [] : null } } })(
    {} as never,
    { setHeader: (name: string, value: string) => (helmetHeaders[name.toLowerCase()] = value), removeHeader: (name: string) => delete helmetHeaders[name.toLowerCase()] } as never,
    () => undefined,
  );
  base.addHook('onRequest', (_request, reply, done) => {
    reply.headers(helmetHeaders);
    done();
  });
  await base.register(fastifyRateLimit, { global: false });
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  return app;
}

/** The default JSON parser (prototype-poisoning checks included) behind a nesting check. */
function installJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNesting(body as string) > maxDepth) {
      done(Object.assign(new Error(`the JSON body nests arrays and objects deeper than ${maxDepth} levels`), { statusCode: 400 }), undefined);
      return;
    }
    void parse(request, body as string, done);
  });
}

type Burst = { scope: RateLimitScope; client: string; max: number; windowMs: number };

function clientLimiter(app: FastifyInstance, limit: RateLimit, scope: RateLimitScope, onBurst: (burst: Burst) => Promise<void>): ClientLimiter {
  const check = app.createRateLimit({ max: limit.max, timeWindow: limit.windowMs, keyGenerator: (request) => request.ip });
  // Client → end of the window already reported: one warning and one audit event per burst.
  const reported = new Map<string, number>();
  return async (request, reply) => {
    const verdict = await check(request);
    if (verdict.isAllowed || !verdict.isExceeded) return false;
    const now = Date.now();
    if ((reported.get(request.ip) ?? 0) <= now) {
      if (reported.size > 10_000) for (const [client, until] of reported) if (until <= now) reported.delete(client);
      reported.set(request.ip, now + verdict.ttl);
      await onBurst({ scope, client: request.ip, max: limit.max, windowMs: limit.windowMs });
    }
    const what = scope === 'authentication' ? 'failed authentications' : scope === 'enrolment' ? 'enrolment attempts' : 'requests';
    await reply
      .status(429)
      .header('retry-after', String(verdict.ttlInSeconds))
      .send(sendError('rate_limited', `too many ${what} from this address; retry in ${verdict.ttlInSeconds}s`));
    return true;
  };
}

const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i;

// issue 13 (authread): methods whose routes only read (RFC 9110 safe methods).
const readOnlyMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Routes whose use cases record their own refusals (`grant.reveal-refused`, `grant.share-refused`). */
const selfRecording = /^POST \/v1\/grants\/:id\/(reveal|shares)$/;

/** Builds the Fastify app: zod-validated routes under /v1, OpenAPI 3.1, one error handler. */
export async function buildHttpApp(deps: HttpDeps): Promise<App> {
  const limits = { ...defaultHttpLimits, ...deps.limits };
  const app = await createApp({ logger: deps.logger, limits, tls: deps.tls });
  deps.gate?.install(app);
  app.decorateRequest('actor', undefined);
  const onBurst = (burst: Burst) =>
    recordRateLimited({ ...deps.ctx, log: app.log }, burst).catch((error: unknown) => {
      app.log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'could not record a rate-limit burst');
    });
  const authFailures = clientLimiter(app, limits.authFailures, 'authentication', onBurst);

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
    const store = deps.gate?.store() ?? { state: 'ok' };
    if (store.state !== 'ok') return reply.status(503).send({ status: 'unavailable', reason: `store-${store.state}`, detail: store.detail });
    const answer = await deps.ready().catch(() => false);
    const { ready, deadAlerts = 0 } = typeof answer === 'boolean' ? { ready: answer } : answer;
    if (!ready) return reply.status(503).send({ status: 'unavailable' });
    // A dead alert is something nobody was told: worth a look, not a reason to stop serving.
    return reply.status(200).send(deadAlerts > 0 ? { status: 'degraded', deadAlerts } : { status: 'ready' });
  });

  if (deps.seal) await app.register(sysRoutes(deps.seal, clientLimiter(app, limits.sys, 'sys', onBurst)));
  await app.register(enrolmentRoutes(deps.ctx, clientLimiter(app, limits.enrolment, 'enrolment', onBurst)));
  // The acknowledgement link in an alert message carries its own capability, not a bearer token.
  await app.register(alertLinkRoutes(deps.ctx));
  // Prometheus looks for /metrics at the root; it takes its own token (or an admin/auditor one).
  if (deps.ctx.metrics) await app.register(metricsRoutes(deps.ctx, deps.ctx.metrics, authFailures));

  await app.register(
    async (v1) => {
      // issue 13 (authread): tokens found live are not read again for 1 s (identity.ts
      // `checkedTokens`). Any request that may write forgets them before it is authenticated
      // and again once its answer is ready (its transaction committed), so a token revoked, a
      // user disabled or a role changed through this instance is read afresh by the next request.
      // Writes to users and tokens come only through /v1 (enrolment only adds tokens).
      const checked = checkedTokens();
      const forgetOnWrite = (method: string) => {
        if (!readOnlyMethods.has(method)) checked.forget();
      };
      v1.addHook('onSend', async (request, _reply, payload) => {
        forgetOnWrite(request.method);
        return payload;
      });
      v1.addHook('onResponse', (request, _reply, done) => {
        forgetOnWrite(request.method);
        done();
      });
      v1.addHook('onRequest', async (request, reply) => {
        forgetOnWrite(request.method);
        // The scheme is case-insensitive (RFC 9110 §11.1).
        const token = bearer.exec(request.headers.authorization ?? '')?.[1];
        const actor = token ? await authenticate(deps.ctx, token, checked) : undefined;
        if (!actor) {
          // Only failures count: a responder with a valid token is never locked out by someone
          // guessing from the same address (a token is 256 random bits; guessing is hopeless anyway).
          if (await authFailures(request, reply)) return reply;
          return reply.status(401).send(sendError('unauthenticated', 'missing or invalid bearer token; set BREAKGLASS_TOKEN'));
        }
        request.actor = actor;
        return undefined;
      });
      // Refusals by a rule are on the record (aggregated per actor, action and reason per minute).
      // Reveal and share submission record their own refusals, in their use cases.
      v1.addHook('onError', async (request, _reply, error) => {
        const what = `${request.method} ${request.routeOptions.url ?? request.url}`;
        if (!request.actor || !isAppError(error) || !refusalCodes.has(error.code) || selfRecording.test(what)) return;
        const params = request.params as { id?: unknown; name?: unknown } | undefined;
        const subject = typeof params?.id === 'string' ? params.id : typeof params?.name === 'string' ? params.name : what;
        await recordRefusal({ ...deps.ctx, log: app.log }, request.actor, { what, subject, error }).catch((failure: unknown) => {
          app.log.error({ err: failure instanceof Error ? failure.message : 'unknown' }, 'could not record a refusal');
        });
      });
      await v1.register(catalogRoutes(deps.ctx));
      await v1.register(grantRoutes(deps.ctx));
      await v1.register(auditRoutes(deps.ctx));
      await v1.register(custodianRoutes(deps.ctx));
      await v1.register(identityRoutes(deps.ctx));
      await v1.register(alertRoutes(deps.ctx));
      await v1.register(reportRoutes(deps.ctx));
      await v1.register(driftRoutes(deps.ctx));
      await v1.register(drillRoutes(deps.ctx));
      // issue 11 (H1)
      await v1.register(approvalRoutes(deps.ctx));
      // issue 11 (H2)
      await v1.register(incidentRoutes(deps.ctx));
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
export async function buildSealedHttpApp(deps: {
  seal: SealGate;
  logger: FastifyServerOptions['logger'];
  limits?: Partial<HttpLimits>;
  gate?: ServingGate;
}): Promise<App> {
  const limits = { ...defaultHttpLimits, ...deps.limits };
  // Sealed, the audit chain cannot be written (its signing key is sealed too): a burst is logged.
  const app = await createApp({ logger: deps.logger, limits, tls: undefined });
  deps.gate?.install(app);
  const onBurst = (burst: Burst) => Promise.resolve(app.log.warn(burst, 'rate limit exceeded'));
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => reply.status(503).send({ status: 'sealed' }));
  await app.register(sysRoutes(deps.seal, clientLimiter(app, limits.sys, 'sys', onBurst)));
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
