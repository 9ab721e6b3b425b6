import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  driftAckBody,
  driftAckResponseSchema,
  driftFindingsQuery,
  driftFindingsResponseSchema,
  driftIdParams,
  driftScanResponseSchema,
  errorResponseSchema as errorBody,
  type DriftFindingJson,
} from '../../api/index.js';
import type { ModuleContext } from '../../modules/context.js';
import { acknowledgeDrift, listDriftFindings } from '../../modules/drift/drift-findings.js';
import { scanDriftNow } from '../../modules/drift/drift-scan.js';
import type { DriftFinding } from '../../ports/index.js';
import { actorOf } from '../actor.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

/** The JSON shape of a finding: dates ISO 8601, absent fields omitted. */
export const driftFindingJson = ({ firstSeen, lastSeen, resolvedAt, ackedBy, ackedReason, ...rest }: DriftFinding): DriftFindingJson => ({
  ...rest,
  firstSeen: firstSeen.toISOString(),
  lastSeen: lastSeen.toISOString(),
  ...(resolvedAt === undefined ? {} : { resolvedAt: resolvedAt.toISOString() }),
  ...(ackedBy === undefined ? {} : { ackedBy }),
  ...(ackedReason === undefined ? {} : { ackedReason }),
});

/** Drift detection: scan now, list findings, acknowledge one. */
export const driftRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.post('/drift/scan', {
      schema: {
        summary: 'Inspect every target now and answer the open drift findings (admin)',
        tags: ['drift'],
        response: { 200: driftScanResponseSchema, ...errors },
      },
      handler: async (request) => {
        const result = await scanDriftNow(ctx, actorOf(request));
        return { findings: result.findings.map(driftFindingJson), errors: result.errors };
      },
    });

    app.get('/drift/findings', {
      schema: {
        summary: 'List drift findings: open ones first, then the most recently resolved (admin, auditor)',
        tags: ['drift'],
        querystring: driftFindingsQuery,
        response: { 200: driftFindingsResponseSchema, ...errors },
      },
      handler: async (request) => ({ findings: (await listDriftFindings(ctx, actorOf(request), request.query.limit === undefined ? {} : { limit: request.query.limit })).map(driftFindingJson) }),
    });

    app.post('/drift/findings/:id/ack', {
      schema: {
        summary: 'Acknowledge a drift finding with a reason (admin); it stays open until a scan no longer sees it',
        tags: ['drift'],
        params: driftIdParams,
        body: driftAckBody,
        response: { 200: driftAckResponseSchema, ...errors },
      },
      handler: async (request) => driftFindingJson(await acknowledgeDrift(ctx, actorOf(request), request.params.id, request.body.reason)),
    });
  };
