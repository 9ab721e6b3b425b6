/** Issue 11 (H3): the history of cases (`grants` with filters and pages), a case's timeline, and resolving a review. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { grantHistoryResponseSchema, grantTimelineResponseSchema, grantViewSchema, historyInstant, historyStates, type GrantView, type TimelineEvent } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { grantDetails, grantTable, withNextSteps } from '../grant-format.js';
import { formatTable, type Style } from '../output.js';

type Options = JsonOption & ServerOptions;

const grantPath = (id: string, action: string) => `/v1/grants/${encodeURIComponent(id)}/${action}`;

function parseInstant(value: string): string {
  if (!historyInstant.safeParse(value).success) throw new InvalidArgumentError('use a duration before now such as 7d or 12h, or an ISO 8601 time such as 2026-11-01T00:00:00Z.');
  return value;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new InvalidArgumentError('use a whole number from 1 to 500.');
  return n;
}

interface HistoryOptions extends Options {
  account?: string;
  requester?: string;
  incident?: string;
  state?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
}

/** `breakglass grants …`: the history of cases, newest first, filtered by the server. */
export function registerGrantHistory(program: Command, ctx: CommandContext): void {
  const grants = program
    .command('grants')
    .description('list cases, newest first: the whole history, filtered, in pages (your own unless you oversee cases)')
    .option('--account <name>', 'only cases of this account')
    .option('--requester <user>', 'only cases this user invoked')
    .option('--incident <ref>', 'only cases of this incident reference')
    .addOption(new Option('--state <state>', 'only cases in this state (certification-overdue: awaiting certification past the deadline)').choices(historyStates))
    .option('--since <when>', 'created at or after: a duration before now (7d, 12h) or an ISO 8601 time', parseInstant)
    .option('--until <when>', 'created before: a duration before now or an ISO 8601 time', parseInstant)
    .option('--limit <n>', 'at most this many per page, 1 to 500 (default 500)', parseLimit)
    .option('--cursor <cursor>', 'the page after this one (nextCursor of a previous --json answer)')
    .option('--all', 'follow the pages to the end (progress on stderr)');
  serverOptions(jsonOption(grants));
  example(
    grants,
    'breakglass grants --state awaiting-certification',
    'breakglass grants --account pg-breakglass --incident INC-42 --since 7d --json',
    "breakglass grants --since 30d --all --json | jq -r '.grants[] | .id'",
  );
  grants.action(async (options: HistoryOptions) => {
    const out = ctx.output(options);
    const client = ctx.client(options, out);
    const query = new URLSearchParams();
    for (const key of ['account', 'requester', 'incident', 'state', 'since', 'until', 'limit', 'cursor'] as const) {
      const value = options[key];
      if (value !== undefined) query.set(key, String(value));
    }
    const page = (cursor: string | undefined) => {
      const q = new URLSearchParams(query);
      if (cursor !== undefined) q.set('cursor', cursor);
      const text = q.toString();
      return client.get(`/v1/grants${text === '' ? '' : `?${text}`}`, grantHistoryResponseSchema);
    };
    let result = await page(options.cursor);
    if (options.all === true) {
      const collected: GrantView[] = [...result.grants];
      let pages = 1;
      while (result.nextCursor !== undefined) {
        out.note(`… ${collected.length} cases (page ${pages}), fetching more`);
        result = await page(result.nextCursor);
        collected.push(...result.grants);
        pages += 1;
      }
      result = { grants: collected };
    }
    const shown = result;
    out.result(shown, () => {
      if (shown.grants.length === 0) return 'no cases match';
      const more = shown.nextCursor === undefined ? '' : `\n\nmore: breakglass grants … --cursor ${shown.nextCursor}   (or --all)`;
      return `${grantTable(shown.grants.map(withOverdueState), out.style)}${more}`;
    });
  });
}

/** In the human table, a case past its certification deadline reads `certification-overdue`. */
function withOverdueState(grant: GrantView): GrantView {
  return grant.certificationOverdue === true ? ({ ...grant, state: 'certification-overdue' } as unknown as GrantView) : grant;
}

/** `grant show ID --timeline`: the case's audit events in order. */
export async function showTimeline(ctx: CommandContext, id: string, options: Options): Promise<void> {
  const out = ctx.output(options);
  const timeline = await ctx.client(options, out).get(grantPath(id, 'timeline'), grantTimelineResponseSchema);
  out.result(timeline, () => (timeline.events.length === 0 ? `no events for ${id}` : timelineTable(timeline.events, out.style)));
}

function timelineTable(events: readonly TimelineEvent[], style: Style): string {
  return formatTable(['TIME', 'ACTOR', 'ACTION', 'DETAILS'], events.map((e) => [e.at, e.actor, e.action, keyDetails(e.details)]), style);
}

/** The details worth a glance (the state change, a note, a reason); the rest is in --json. */
function keyDetails(details: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  if (typeof details['from'] === 'string' && typeof details['to'] === 'string' && details['from'] !== details['to']) parts.push(`${details['from']} → ${details['to']}`);
  for (const key of ['condition', 'incident', 'reason', 'note', 'misuseSuspected', 'error']) {
    const value = details[key];
    if (value !== undefined && (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number')) parts.push(`${key}: ${String(value)}`);
  }
  return parts.join('; ');
}

/** `breakglass grant resolve ID --note TEXT`: an admin (not the requester) closes a case under review. */
export function registerResolve(grant: Command, ctx: CommandContext): void {
  const resolve = grant
    .command('resolve')
    .description('resolve a case under review (certified with misuse suspected) and close it: an admin, never the requester')
    .argument('<grant-id>', 'a grant under review')
    .requiredOption('--note <text>', 'what the review concluded (goes into the audit trail)');
  serverOptions(jsonOption(resolve));
  example(resolve, 'breakglass grant resolve gr_01J9ZB6D4N2M --note "reviewed with the requester: access was needed; scope narrowed in the policy"');
  resolve.action(async (id: string, options: Options & { note: string }) => {
    const out = ctx.output(options);
    const view = await ctx.client(options, out).post(grantPath(id, 'resolve'), grantViewSchema, { note: options.note });
    out.result(view, () => withNextSteps(`grant ${view.id} is ${out.style.state(view.state)}\n\n${grantDetails(view, out.style)}`, view));
  });
}

/** The `--misuse-suspected yes|no` answer of `certify`. */
export const misuseOption = () =>
  new Option('--misuse-suspected <yes|no>', 'do you suspect misuse? yes keeps the case open, under review, until an admin resolves it').choices(['yes', 'no']);
