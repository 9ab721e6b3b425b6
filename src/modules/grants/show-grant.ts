import { authorize, seesEveryCase, type Actor, type Grant, type GrantId, type GrantState } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { JobRecord, StoreReadTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';

/** One case, for someone allowed to see it; anyone else is told it does not exist. */
export async function showGrant(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<Grant> {
  // issue 13 (store reads): a read, not a write transaction.
  return ctx.store.read((tx) => readableGrant(tx, actor, id));
}

// issue 13 (store reads)
/** A case as `GET /v1/grants/{id}` shows it: the grant, its account's name and a stuck step. */
export interface GrantShown {
  readonly grant: Grant;
  readonly accountName: string | undefined;
  readonly stuck: StuckStep | undefined;
}

// issue 13 (store reads)
/**
 * `showGrant`, the account name and the stuck step in one read (one snapshot, no write lock),
 * instead of one write transaction each.
 */
export async function showGrantWithContext(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<GrantShown> {
  return ctx.store.read(async (tx) => {
    const grant = await readableGrant(tx, actor, id);
    const account = await tx.catalog.findAccountById(grant.accountId);
    return { grant, accountName: account?.name, stuck: failingStep(await tx.jobs.findFor(grant.id)) };
  });
}

/** The grant, if `actor` may read it; not found otherwise (and when it does not exist). */
async function readableGrant(tx: StoreReadTx, actor: Actor, id: GrantId): Promise<Grant> {
  const grant = await tx.grants.findById(id);
  if (!grant) throw appError.notFound(`grant ${id}`);
  // issue 11 (H2): a co-responder who joined the case sees it too.
  const joined = grant.requesterId === actor.id ? undefined : await tx.coResponders.find(id, actor.id);
  authorize(actor, 'grant.read', { grant: { ...grant, coResponderIds: joined ? [joined.userId] : [] } });
  return grant;
}

/** A step of a case that the scheduler keeps retrying, and why: what `grant show` tells a stuck case. */
export interface StuckStep {
  readonly step: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly nextAttemptAt: Date;
}

/** Why a case has not moved on, if a step of it failed and is being retried. */
export async function stuckStep(ctx: ModuleContext, grant: Grant): Promise<StuckStep | undefined> {
  return failingStep(await ctx.store.read((tx) => tx.jobs.findFor(grant.id)));
}

function failingStep(jobs: readonly JobRecord[]): StuckStep | undefined {
  const failing = jobs.find((job) => job.attempts > 0 && job.lastError !== undefined);
  return failing && { step: failing.kind, attempts: failing.attempts, lastError: failing.lastError!, nextAttemptAt: failing.dueAt };
}

/**
 * The newest cases (500 at most): every case for overseers, one's own for everyone else. One's
 * own are chosen in SQL before the limit, so other people's cases cannot push them out.
 */
export async function listGrants(ctx: ModuleContext, actor: Actor, filter: { state?: GrantState }): Promise<Grant[]> {
  authorize(actor, 'grant.list');
  return ctx.store.read((tx) =>
    tx.grants.list({
      limit: 500,
      ...(filter.state && { states: [filter.state] }),
      ...(!seesEveryCase(actor) && { requesterId: actor.id }),
    }),
  );
}

/** The account name for one grant's view: one row, not the whole catalog. */
export async function accountName(ctx: ModuleContext, grant: Grant): Promise<string | undefined> {
  return (await ctx.store.read((tx) => tx.catalog.findAccountById(grant.accountId)))?.name;
}

/** Account names for views; one lookup for many grants. */
export async function accountNames(ctx: ModuleContext): Promise<Map<string, string>> {
  const accounts = await ctx.store.read((tx) => tx.catalog.listAccounts());
  return new Map(accounts.map((a) => [a.id, a.name]));
}
