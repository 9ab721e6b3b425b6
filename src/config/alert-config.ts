/**
 * The `channels:` and `routes:` sections of a catalog: where alerts go and which go where.
 * Each channel type's settings come from src/config/channels; secrets are named by environment
 * variable in the file (`secretEnv`) and travel resolved in the apply body (`secret`), to be
 * stored sealed like target passwords.
 */
import { z } from 'zod';
import { auditStreamEvents, channelTypes, parseDuration, routableAlertEvents, severities } from '../domain/index.js';
import { channelSpecs } from './channels/index.js';

const name = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-", starting with a letter or digit');
/** At least a minute (an escalation is a second page, not a retry), at most a week. */
const ackWithin = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, { error: (issue) => `"${String(issue.input)}" is not a duration; use a number and s, m, h or d, e.g. 10m` })
  .refine((text) => { const ms = parseDuration(text) ?? 60_000; return ms >= 60_000 && ms <= 7 * 86_400_000; }, 'must be between 1m and 7d');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name');

const channelCommon = {
  name,
  /** Attempts before a message is dead (default 12: about ten minutes of backoff). */
  maxAttempts: z.number().int().min(1).max(100).optional(),
};

/** Types whose spec says they can carry the audit stream. */
const sinkTypes = channelTypes.filter((type) => channelSpecs[type]?.auditSink === true);
/**
 * Every audit event and signed checkpoint goes to this channel too. Parsed on every type so that
 * a chat or mail channel that says it gets one message naming why (`auditSinkIssue`), not
 * "unknown field".
 */
const auditSinkField = { auditSink: z.boolean({ error: 'must be true or false' }).optional() };

function channelSchema(secretField: Readonly<Record<string, z.ZodType>>) {
  const known = channelTypes.filter((type) => channelSpecs[type] !== undefined);
  const variants = known.map((type) =>
    z.strictObject({ type: z.literal(type), ...channelCommon, ...auditSinkField, ...channelSpecs[type]!.settings, ...secretField }),
  );
  return z.discriminatedUnion('type', variants as unknown as [z.ZodObject, ...z.ZodObject[]], {
    error: `unsupported channel type; supported: ${known.join(', ')}`,
  });
}

export type CatalogChannel = {
  readonly name: string;
  readonly type: (typeof channelTypes)[number];
  readonly maxAttempts?: number | undefined;
  readonly auditSink?: boolean | undefined;
} & Readonly<Record<string, unknown>>;

export const fileChannel = channelSchema({ secretEnv: envName.optional() }) as unknown as z.ZodType<CatalogChannel & { secretEnv?: string | undefined }>;
export const applyChannel = channelSchema({ secret: z.string().min(1, 'must not be empty').optional() }) as unknown as z.ZodType<CatalogChannel & { secret?: string | undefined }>;

export const route = z.strictObject({
  events: z
    .array(
      z.union([z.literal('*'), z.enum(routableAlertEvents as [string, ...string[]])], {
        error: (issue) =>
          typeof issue.input === 'string' && (auditStreamEvents as readonly string[]).includes(issue.input)
            ? `"${issue.input}" is the audit stream, which is not routed; set auditSink: true on a webhook or syslog channel instead`
            : `unknown event; events are ${routableAlertEvents.join(', ')} or "*"`,
      }),
    )
    .min(1, 'list at least one event, or "*"'),
  channels: z.array(name).min(1, 'list at least one channel'),
  accounts: z.array(name).optional(),
  minSeverity: z.enum(severities).optional(),
  /** Not acknowledged within this (`10m`): sent again to `escalateTo`. */
  ackWithin: ackWithin.optional(),
  escalateTo: z.array(name).min(1, 'list at least one channel').optional(),
});
export type CatalogRoute = z.output<typeof route>;

/** The issues of the alert sections: secrets as the type wants them, routes naming known channels and accounts. */
export function alertIssues(doc: Readonly<Record<string, unknown>>, secretKey: 'secretEnv' | 'secret'): { path: PropertyKey[]; message: string }[] {
  const issues: { path: PropertyKey[]; message: string }[] = [];
  const channels = Array.isArray(doc['channels']) ? (doc['channels'] as Record<string, unknown>[]) : [];
  const routes = Array.isArray(doc['routes']) ? (doc['routes'] as Record<string, unknown>[]) : [];
  const accounts = new Set((Array.isArray(doc['accounts']) ? (doc['accounts'] as Record<string, unknown>[]) : []).map((a) => a?.['name']));
  const names = new Set<unknown>();
  channels.forEach((channel, index) => {
    if (typeof channel !== 'object' || channel === null) return;
    if (names.has(channel['name'])) issues.push({ path: ['channels', index, 'name'], message: `duplicate channel "${String(channel['name'])}"` });
    names.add(channel['name']);
    const spec = channelSpecs[channel['type'] as (typeof channelTypes)[number]];
    if (spec?.secret === 'required' && channel[secretKey] === undefined) issues.push({ path: ['channels', index, secretKey], message: `${String(channel['type'])} channels need a secret (${secretKey})` });
    if (spec?.secret === 'none' && channel[secretKey] !== undefined) issues.push({ path: ['channels', index, secretKey], message: `${String(channel['type'])} channels take no secret` });
    const sinkProblem = auditSinkIssue(channel);
    if (sinkProblem !== undefined) issues.push({ path: ['channels', index, 'auditSink'], message: sinkProblem });
  });
  routes.forEach((r, index) => {
    if (typeof r !== 'object' || r === null) return;
    const listed = Array.isArray(r['channels']) ? (r['channels'] as unknown[]) : [];
    listed.forEach((channel, i) => {
      if (typeof channel === 'string' && !names.has(channel)) issues.push({ path: ['routes', index, 'channels', i], message: `unknown channel "${channel}" (declare it under channels:)` });
    });
    issues.push(...escalationIssues(r, index, names));
    const scoped = Array.isArray(r['accounts']) ? (r['accounts'] as unknown[]) : [];
    scoped.forEach((account, i) => {
      if (typeof account === 'string' && !accounts.has(account)) issues.push({ path: ['routes', index, 'accounts', i], message: `unknown account "${account}"` });
    });
  });
  return issues;
}

/** `ackWithin` and `escalateTo` go together, and escalate to declared channels. */
function escalationIssues(r: Readonly<Record<string, unknown>>, index: number, names: ReadonlySet<unknown>): { path: PropertyKey[]; message: string }[] {
  const issues: { path: PropertyKey[]; message: string }[] = [];
  if (r['ackWithin'] !== undefined && r['escalateTo'] === undefined) issues.push({ path: ['routes', index, 'escalateTo'], message: 'ackWithin needs escalateTo: the channels that hear of an alert nobody acknowledged' });
  if (r['escalateTo'] !== undefined && r['ackWithin'] === undefined) issues.push({ path: ['routes', index, 'ackWithin'], message: 'escalateTo needs ackWithin: how long to wait for an acknowledgement, e.g. 10m' });
  const escalateTo = Array.isArray(r['escalateTo']) ? (r['escalateTo'] as unknown[]) : [];
  escalateTo.forEach((channel, i) => {
    if (typeof channel === 'string' && !names.has(channel)) issues.push({ path: ['routes', index, 'escalateTo', i], message: `unknown channel "${channel}" (declare it under channels:)` });
  });
  return issues;
}

/**
 * `auditSink` on a channel whose type cannot carry the audit stream (chat, paging, e-mail: one
 * message per audit event would drown people, and they keep no copy a machine can verify).
 */
function auditSinkIssue(channel: Readonly<Record<string, unknown>>): string | undefined {
  if (channel['auditSink'] !== true) return undefined;
  if (!sinkTypes.includes(channel['type'] as (typeof channelTypes)[number])) {
    return `${String(channel['type'])} channels cannot be an audit sink; the audit stream goes to ${sinkTypes.join(' or ')} channels`;
  }
  // At least once needs a receiver that can say no: a datagram lost is lost without a word.
  if (channel['type'] === 'syslog' && channel['protocol'] === 'udp') return 'a syslog audit sink needs protocol tcp or tls: UDP loses messages without telling';
  return undefined;
}
