import { authorize, parseDuration, seesEveryCase, type Actor, type Grant, type GrantId, type GrantState } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { GrantListFilter } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';

/** Issue 11 (H3): what the history of cases can be asked for. */
export interface HistoryFilter {
  readonly account?: string | undefined;
  readonly requester?: string | undefined;
  readonly incident?: string | undefined;
  /** A grant state, or `certification-overdue` (awaiting certification past `certifyWithin`). */
  readonly state?: GrantState | 'certification-overdue' | undefined;
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
  readonly limit?: number | undefined;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
}

export interface HistoryPage {
  readonly grants: readonly Grant[];
  readonly nextCursor?: string;
}

/** Without `limit`, a page is as long as the list answer was before it had pages. */
export const defaultHistoryLimit = 500;

/**
 * Issue 11 (H3): every case ever opened, newest first, in pages. Overseers see every case,
 * anyone else only their own: chosen in SQL with every other filter, before the limit. The
 * cursor is opaque (the last case's `created_at` and id): a keyset, so cases created while one
 * pages through never shift or repeat a page.
 * @example await grantHistory(ctx, actor, { account: 'pg-breakglass', since: sevenDaysAgo, limit: 50 })
 */
export async function grantHistory(ctx: ModuleContext, actor: Actor, filter: HistoryFilter): Promise<HistoryPage> {
  authorize(actor, 'grant.list');
  const limit = filter.limit ?? defaultHistoryLimit;
  const before = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
  const query: GrantListFilter = {
    limit: limit + 1,
    ...(filter.account !== undefined && { accountName: filter.account }),
    ...(filter.requester !== undefined && { requesterName: filter.requester }),
    ...(filter.incident !== undefined && { incident: filter.incident }),
    ...(filter.since !== undefined && { since: filter.since }),
    ...(filter.until !== undefined && { until: filter.until }),
    ...(filter.state === 'certification-overdue'
      ? { states: ['awaiting-certification'], certificationOverdue: true }
      : filter.state !== undefined && { states: [filter.state] }),
    ...(before !== undefined && { before }),
    ...(!seesEveryCase(actor) && { requesterId: actor.id }),
  };
  // issue 13 (store reads): a read, not a write transaction.
  const found = await ctx.store.read((tx) => tx.grants.list(query));
  const grants = found.slice(0, limit);
  const last = grants.at(-1);
  return found.length > limit && last !== undefined ? { grants, nextCursor: encodeCursor(last) } : { grants };
}

function encodeCursor(grant: Grant): string {
  return Buffer.from(JSON.stringify([grant.createdAt.getTime(), grant.id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: GrantId } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string' && /^gr_[A-Za-z0-9_-]{1,64}$/.test(value[1])) {
    return { createdAt: new Date(value[0] as number), id: value[1] as GrantId };
  }
  throw new AppError('validation', 'cursor: not a cursor from a previous page; start again without --cursor', { path: 'cursor' });
}

/** `since`/`until` as the API takes them: an ISO 8601 date-time, or a duration before `now` (`7d`). */
export function historyInstant(text: string | undefined, now: Date): Date | undefined {
  if (text === undefined) return undefined;
  const ago = parseDuration(text);
  return ago === undefined ? new Date(text) : new Date(now.getTime() - ago);
}
