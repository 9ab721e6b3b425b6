import { z } from 'zod';
import { parseDuration } from '../domain/index.js';

export const reportFormats = ['json', 'csv', 'html'] as const;
export type ReportFormat = (typeof reportFormats)[number];

/** `GET /v1/reports/governance?since=90d&format=json|csv|html` */
export const governanceReportQuery = z.object({
  since: z
    .string()
    .default('90d')
    .refine((text) => parseDuration(text) !== undefined, { message: 'a duration such as 30d, 12h or 90m' })
    .describe('how far back: cases created within this duration before now'),
  format: z.enum(reportFormats).default('json'),
});

const durationStats = z.object({ count: z.number(), p50: z.number().nullable(), p99: z.number().nullable(), max: z.number().nullable() });
const caseRef = { id: z.string(), account: z.string(), requester: z.string(), incident: z.string(), reason: z.string() };
const optionalSection = z.union([
  z.object({ configured: z.literal(false), note: z.string() }),
  z.object({ configured: z.literal(true), rows: z.array(z.record(z.string(), z.unknown())) }),
]);

/** The figures of the governance report (`report --format json`); durations in seconds. */
export const governanceReportSchema = z.object({
  generatedAt: z.string(),
  since: z.string(),
  auditHead: z.object({ seq: z.number(), hash: z.string() }),
  checkpoint: z.object({ seq: z.number(), at: z.string(), signaturePrefix: z.string() }).nullable(),
  figures: z.object({
    cases: z.number(),
    byCondition: z.record(z.string(), z.number()),
    byState: z.record(z.string(), z.number()),
    accounts: z.array(
      z.object({
        account: z.string(),
        mode: z.string(),
        cases: z.number(),
        requesters: z.record(z.string(), z.number()),
        conditions: z.record(z.string(), z.number()),
        lastUsedAt: z.string().nullable(),
        rotationsSinceLastUse: z.number().nullable(),
        maxValidAfterEnd: z.number().nullable(),
        overdue: z.number(),
        misuseSuspected: z.number(),
      }),
    ),
    timeToAccess: durationStats,
    timeToRevoke: durationStats,
    privilegeValidAfterEnd: durationStats.extend({ above60s: z.number(), shareAbove60s: z.number().nullable() }),
    certification: z.object({
      certified: z.number(),
      awaiting: z.number(),
      necessary: z.number(),
      scoped: z.number(),
      removed: z.number(),
      latency: durationStats,
    }),
    overdue: z.array(z.object({ ...caseRef, awaitingSince: z.string(), ageDays: z.number() })),
    misuseSuspected: z.array(z.object({ ...caseRef, signals: z.array(z.string()) })),
  }),
  drills: optionalSection,
  drillStatus: optionalSection,
  drift: optionalSection,
  compliance: z.array(
    z.object({ framework: z.string(), control: z.string(), title: z.string(), status: z.enum(['evidence', 'partial', 'gap']), evidence: z.string(), where: z.string() }),
  ),
});
export type GovernanceReportView = z.infer<typeof governanceReportSchema>;
