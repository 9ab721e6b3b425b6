import { Cron } from 'croner';
import type { AccountId, Actor, DrillSchedule } from '../../domain/index.js';
import { isAppError } from '../../errors/index.js';
import type { AccountRecord, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { runDrill } from './run-drill.js';

/** The next time a drill schedule fires strictly after `after` (cron in UTC), or undefined if never. */
export function nextDrillAt(schedule: DrillSchedule, after: Date): Date | undefined {
  return new Cron(schedule.schedule, { timezone: 'UTC', paused: true }).nextRun(after) ?? undefined;
}

/**
 * Makes sure an account with a drill schedule has its next drill job (at apply): one durable job
 * per account, so a restart loses no drill. An account whose schedule was removed keeps its
 * job until it fires; the handler then finds no schedule and stops.
 */
export async function scheduleDrill(ctx: Pick<ModuleContext, 'clock'>, tx: StoreTx, account: Pick<AccountRecord, 'id' | 'drill'>): Promise<void> {
  if (!account.drill) return;
  const pending = await tx.jobs.findFor(account.id);
  if (pending.some((job) => job.kind === 'drill')) return;
  const dueAt = nextDrillAt(account.drill, ctx.clock.now());
  if (dueAt) await tx.jobs.schedule({ kind: 'drill', accountId: account.id, dueAt });
}

/**
 * The `drill` job: runs the account's drill as the engine (`system`), then schedules the next.
 * A drill that fails is recorded (`drill.failed`) and is not retried: the next one is the
 * schedule's. A drill that cannot start (dual control) is logged; one due while a case holds the
 * account is skipped (logged), not failed.
 */
export async function runScheduledDrill(ctx: ModuleContext, accountId: AccountId): Promise<void> {
  const { account, busy } = await ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountById(accountId);
    return { account, busy: account?.mode === 'prestaged' && (await tx.grants.holdingAccount(accountId)).length > 0 };
  });
  if (!account?.drill) return;
  if (busy) {
    // A case holds the account: the drill would take nothing from it but fail; the next one runs.
    ctx.log.info({ account: account.name }, 'scheduled drill skipped: a case holds the account');
  } else {
    await runLogged(ctx, account.name);
  }
  await ctx.store.transaction(async (tx) => {
    const current = await tx.catalog.findAccountById(accountId);
    if (!current?.drill) return;
    const dueAt = nextDrillAt(current.drill, ctx.clock.now());
    if (dueAt) await tx.jobs.schedule({ kind: 'drill', accountId, dueAt });
  });
  ctx.wake();
}

async function runLogged(ctx: ModuleContext, accountName: string): Promise<void> {
  const account = { name: accountName };
  try {
    const report = await runDrill(ctx, await engineActor(ctx), account.name, { scheduled: true });
    ctx.log.info({ account: account.name, result: report.result }, 'scheduled drill finished');
  } catch (error) {
    if (!isAppError(error)) throw error;
    ctx.log.warn({ account: account.name, code: error.code, err: error.message }, 'scheduled drill could not run');
  }
}

/**
 * The engine as the requester of a scheduled drill. Grants need a user row, so the reserved name
 * `system` (no catalog user may take it) has one, with no role: a token for it could do nothing.
 * The in-memory actor carries the admin role for `drill.run` only.
 */
async function engineActor(ctx: ModuleContext): Promise<Actor> {
  const user = await ctx.store.transaction(async (tx) => (await tx.users.findByName('system')) ?? tx.users.upsert({ name: 'system', roles: [] }, ctx.clock.now()));
  return { id: user.id, name: user.name, roles: ['admin'] };
}
