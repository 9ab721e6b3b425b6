import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponseSchema as errorBody, governanceReportQuery, governanceReportSchema } from '../../api/index.js';
import { parseDuration } from '../../domain/duration.js';
import type { ModuleContext } from '../../modules/context.js';
import { governanceReport } from '../../modules/report/governance-report.js';
import { reportCsv } from '../../modules/report/report-csv.js';
import { reportHtml } from '../../modules/report/report-html.js';
import { actorOf } from '../actor.js';

/** The governance report: JSON figures, CSV (one row per account) or one self-contained HTML file. */
export const reportRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();

    app.get('/reports/governance', {
      schema: {
        summary: 'The governance report: usage, time to access and revoke, privilege valid after end, certification, compliance mapping',
        tags: ['reports'],
        querystring: governanceReportQuery,
        produces: ['application/json', 'text/csv', 'text/html'],
        response: { 200: z.union([governanceReportSchema, z.string().describe('format=csv (text/csv) or format=html (text/html)')]), 400: errorBody, 401: errorBody, 403: errorBody },
      },
      handler: async (request, reply) => {
        // The query schema refused anything parseDuration does not read.
        const since = new Date(ctx.clock.now().getTime() - (parseDuration(request.query.since) ?? 0));
        const report = await governanceReport(ctx, actorOf(request), { since });
        if (request.query.format === 'csv') return reply.type('text/csv; charset=utf-8').serializer(String).send(reportCsv(report));
        if (request.query.format === 'html') return reply.type('text/html; charset=utf-8').serializer(String).send(await reportHtml(report));
        // The figures are readonly in the module; the schema hands back its own (mutable) copy.
        return governanceReportSchema.parse(report);
      },
    });
  };
