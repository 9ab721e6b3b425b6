import { setTimeout as delay } from 'node:timers/promises';
import type { Actor, GrantId } from '../../domain/index.js';
import { isAppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { cancelGrant } from '../grants/cancel-grant.js';
import { loadCase, loadGrant, type Case } from '../grants/grant-store.js';

/** What a drill waiting for its custodians tells its caller: once when it starts, then after each share counted. */
export interface QuorumWait {
  readonly grantId: GrantId;
  readonly presented: number;
  readonly threshold: number;
  /** When the quorum window closes (the grant's own expiry). */
  readonly expiresAt: Date;
}

export interface QuorumWaitOptions {
  readonly onQuorumWait?: ((wait: QuorumWait) => void) | undefined;
  /** Stops waiting (the HTTP client went away): the drill's grant is cancelled. */
  readonly signal?: AbortSignal | undefined;
  /** Waits between looks at the grant; a real timer by default, injectable so tests do not wait. */
  readonly sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
}

/** Why the wait ended without an active grant (the `invoke` step's detail). */
export class QuorumNotReached extends Error {}

/** How often the grant is looked at: custodians take seconds, a look is one small read. */
export const quorumPollMs = 200;

const realSleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

/**
 * Waits until the custodians' shares have released and activated the drill's grant (through
 * `submitShare`, exactly as for an invocation), and returns the active case. The deadline is
 * the grant's own state: the quorum window ends by the normal expire job (`expired`) or a
 * cancel, never by a timer here. An abort cancels the grant the normal way.
 */
export async function awaitQuorum(ctx: ModuleContext, actor: Actor, id: GrantId, threshold: number, options: QuorumWaitOptions): Promise<Case> {
  const sleep = options.sleep ?? realSleep;
  let told: number | undefined;
  for (;;) {
    const { grant, presented } = await ctx.store.transaction(async (tx) => ({ grant: await loadGrant(tx, id), presented: (await tx.pendingShares.list(id)).length }));
    switch (grant.state) {
      case 'active':
        return ctx.store.transaction((tx) => loadCase(tx, id));
      case 'awaiting-quorum':
        // Released meanwhile (the cancel lost): the drill goes on, it takes no more than a case would.
        if (options.signal?.aborted === true && (await stopWaiting(ctx, actor, id))) {
          throw new QuorumNotReached(`stopped waiting for the custodians (the client went away); the drill's grant ${id} was cancelled`);
        }
        if (presented !== told) {
          told = presented;
          options.onQuorumWait?.({ grantId: id, presented, threshold, expiresAt: grant.expiresAt });
        }
        break;
      case 'requested':
        break; // released: the last presenter's call is enabling the account
      case 'expired':
        throw new QuorumNotReached(`the quorum window closed before ${threshold} custodians presented their shares (grant ${id} expired)`);
      case 'cancelled':
        throw new QuorumNotReached(`the drill's grant ${id} was cancelled before ${threshold} custodians presented their shares`);
      default:
        throw new QuorumNotReached(`the drill's grant ${id} is ${grant.state}${grant.failure === undefined ? '' : `: ${grant.failure}`}`);
    }
    await sleep(quorumPollMs, options.signal?.aborted === true ? undefined : options.signal);
  }
}

/** Cancels the waiting grant; false when it was released (or closed) meanwhile. */
async function stopWaiting(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<boolean> {
  try {
    await cancelGrant(ctx, actor, id);
    return true;
  } catch (error) {
    if (!isAppError(error) || error.code !== 'invalid_transition') throw error;
    return false;
  }
}

/** Who presented the shares that released the grant, from its `grant.quorum-reached` event (names only). */
export async function quorumCustodians(ctx: ModuleContext, id: GrantId, fromSeq: number): Promise<string[]> {
  const pageSize = 500;
  for (let from = fromSeq; ; ) {
    const page = await ctx.store.transaction((tx) => tx.audit.events(from, pageSize));
    const reached = page.find((e) => e.subject === id && e.action === 'grant.quorum-reached');
    if (reached) {
      const custodians = reached.details['custodians'];
      return Array.isArray(custodians) ? custodians.filter((c): c is string => typeof c === 'string') : [];
    }
    if (page.length < pageSize) return [];
    from = page[page.length - 1]!.seq + 1;
  }
}
