import type { AccountMode, Grant, GrantId, GrantState } from '../../domain/index.js';
import { ephemeralPrincipal, type AccountSpec, type Store, type StoreTx, type TargetRecord } from '../../ports/index.js';
import type { GrantObserver } from '../grants/grant-observer.js';
import { loadTarget } from '../grants/grant-store.js';

/** A grant whose credential may still work, with what it takes to disable it without the store. */
export interface WatchedGrant {
  readonly grantId: GrantId;
  readonly expiresAt: Date;
  readonly mode: AccountMode;
  readonly principal: string;
  readonly spec: AccountSpec;
  /** The target as it was read, its admin secret still sealed. */
  readonly target: TargetRecord;
}

/** States in which the grant's credential may work on the target. */
const liveStates: readonly GrantState[] = ['active', 'revoking'];

export interface ExpiryWatch {
  /** Keeps the watch current: add to ctx.grantObservers. */
  readonly observer: GrantObserver;
  /** Reads every grant whose credential may work (at start, and when the store is back). */
  load(store: Store): Promise<void>;
  /** Watched grants past their expiry at `now`, soonest first. */
  due(now: Date): WatchedGrant[];
  readonly size: number;
}

/**
 * What the server would have to revoke if its store stopped answering: every grant whose
 * credential may work, kept in memory with its target, so revocation does not depend on reading
 * the store (a PostgreSQL store may be unreachable, not just unwritable). Updated inside each
 * transition's transaction; a transition that rolls back may leave an entry behind, which can
 * only make the watch disable a credential that was already due.
 */
export function createExpiryWatch(): ExpiryWatch {
  const watched = new Map<GrantId, WatchedGrant>();

  async function entry(tx: StoreTx, grant: Grant): Promise<WatchedGrant | undefined> {
    const account = await tx.catalog.findAccountById(grant.accountId);
    if (!account) return undefined;
    return {
      grantId: grant.id,
      expiresAt: grant.expiresAt,
      mode: grant.mode,
      principal: grant.mode === 'prestaged' ? account.principal : ephemeralPrincipal(grant.id),
      spec: account.spec,
      target: await loadTarget(tx, account),
    };
  }

  async function track(tx: StoreTx, grant: Grant): Promise<void> {
    if (!liveStates.includes(grant.state)) {
      watched.delete(grant.id);
      return;
    }
    const found = watched.get(grant.id) ?? (await entry(tx, grant));
    if (found) watched.set(grant.id, { ...found, expiresAt: grant.expiresAt });
  }

  return {
    observer: (tx, change) => track(tx, change.after),
    async load(store) {
      await store.transaction(async (tx) => {
        const live = await tx.grants.list({ states: liveStates });
        watched.clear();
        for (const grant of live) await track(tx, grant);
      });
    },
    due(now) {
      return [...watched.values()].filter((g) => g.expiresAt.getTime() <= now.getTime()).sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
    },
    get size() {
      return watched.size;
    },
  };
}
