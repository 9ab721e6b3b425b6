import { createHash } from 'node:crypto';
import { canonicalJson } from '../crypto/index.js';
import { AppError, appError } from '../errors/index.js';
import type { AccountRecord, Connector, ConnectorFactory, EphemeralOperations, PrestagedOperations, TargetRecord } from '../ports/index.js';
import type { ModuleContext } from './context.js';
import { aad } from './vault/vault.js';

/**
 * Runs `work` with a connector to the target. Where the server keeps connectors
 * (`keepTargetConnectors`), the target's connector and its pool of admin connections are reused
 * across operations; elsewhere (test beds, the CLI) one is made for the call and closed after.
 * The admin secret is unsealed only when a connector is made.
 */
export async function withConnector<T>(
  ctx: Pick<ModuleContext, 'connectors' | 'vault'>,
  target: TargetRecord,
  work: (connector: Connector) => Promise<T>,
): Promise<T> {
  const kept = keptBy.get(ctx.connectors);
  if (kept !== undefined && POOLED_TYPES.has(target.type)) return kept.use(ctx, target, work);
  const connector = makeConnector(ctx, target);
  try {
    return await work(connector);
  } finally {
    await connector.close();
  }
}

function makeConnector(ctx: Pick<ModuleContext, 'connectors' | 'vault'>, target: TargetRecord, poolMax?: number): Connector {
  const adminSecret =
    target.adminSecretSealed === undefined ? undefined : ctx.vault.open(target.adminSecretSealed, aad.targetAdmin(target.id));
  const timeout = target.settings['timeoutMs'];
  return ctx.connectors({
    name: target.name,
    type: target.type,
    settings: target.settings,
    adminSecret,
    ...(typeof timeout === 'number' ? { timeoutMs: timeout } : {}),
    ...(poolMax === undefined ? {} : { poolMax }),
  });
}

// issue 13 (pool): one connector per target, kept across operations.
/** The connectors a server keeps, one per target; see `keepTargetConnectors`. */
export interface TargetConnectors {
  use<T>(ctx: Pick<ModuleContext, 'connectors' | 'vault'>, target: TargetRecord, work: (connector: Connector) => Promise<T>): Promise<T>;
  /** How many connectors are kept now (for tests and metrics). */
  size(): number;
  /** Closes every kept connector (one still in use when its work ends); later calls make one per call. */
  close(): Promise<void>;
}

interface Kept {
  readonly version: string;
  readonly connector: Connector;
  active: number;
  retired: boolean;
}

/**
 * The types whose connectors keep a pool of admin connections (src/connectors/lib/connection-pool.ts).
 * Only those are worth keeping; the others (exec, ssh, unix, ad, memory) are made for each call
 * as before, so the checks their drivers make at creation (allowed directories, the KRL path)
 * still run for every operation.
 */
const POOLED_TYPES: ReadonlySet<string> = new Set(['postgres', 'mysql', 'redis', 'ldap']);

/** Keyed by the context's connector factory: what every use case's `ctx` carries unchanged. */
const keptBy = new WeakMap<ConnectorFactory, TargetConnectors>();

/**
 * What a target's connector was made from: its name, type, settings (timeout included) and
 * sealed admin secret, hashed. A catalog change or an admin-secret rotation changes it, and the
 * next operation gets a new connector; the old one closes once its work in hand is done.
 */
function versionOf(target: TargetRecord): string {
  const made = { name: target.name, type: target.type, settings: target.settings, adminSecretSealed: target.adminSecretSealed ?? null };
  return createHash('sha256').update(canonicalJson(made)).digest('base64url');
}

/**
 * Makes `withConnector` keep one connector per target for this context (the server's), so the
 * connectors' pools of admin connections are reused. Close it at shutdown.
 *
 * @example const kept = keepTargetConnectors(ctx); … await kept.close();
 */
export function keepTargetConnectors(ctx: Pick<ModuleContext, 'connectors'>, options: { connectionsPerTarget?: number | undefined } = {}): TargetConnectors {
  const poolMax = options.connectionsPerTarget;
  const entries = new Map<string, Kept>();
  const closing = new Set<Promise<void>>();
  let closed = false;

  const finish = (entry: Kept) => {
    const done = entry.connector.close().catch(() => undefined);
    closing.add(done);
    void done.finally(() => closing.delete(done));
  };
  const retire = (entry: Kept) => {
    entry.retired = true;
    if (entry.active === 0) finish(entry);
  };

  const kept: TargetConnectors = {
    async use(useCtx, target, work) {
      if (closed) {
        const connector = makeConnector(useCtx, target);
        try {
          return await work(connector);
        } finally {
          await connector.close();
        }
      }
      const version = versionOf(target);
      let entry = entries.get(target.id);
      if (entry === undefined || entry.version !== version) {
        // Made before the old one is retired: settings that fail to parse leave it in place.
        const connector = makeConnector(useCtx, target, poolMax);
        if (entry !== undefined) retire(entry);
        entry = { version, connector, active: 0, retired: false };
        entries.set(target.id, entry);
      }
      entry.active += 1;
      try {
        return await work(entry.connector);
      } finally {
        entry.active -= 1;
        if (entry.retired && entry.active === 0) finish(entry);
      }
    },
    size: () => entries.size,
    async close() {
      closed = true;
      for (const entry of entries.values()) retire(entry);
      entries.clear();
      await Promise.all([...closing]);
    },
  };
  keptBy.set(ctx.connectors, kept);
  return kept;
}

/** The current pre-staged secret of an account, unsealed in memory. */
export function openAccountSecret(ctx: Pick<ModuleContext, 'vault'>, account: AccountRecord): string {
  if (account.secretSealed === undefined) throw appError.conflict(`account "${account.name}" has no staged secret yet`);
  return ctx.vault.open(account.secretSealed, aad.accountSecret(account.id, account.secretVersion));
}

/** The pre-staged operations of a connector, or a clear error when its type has none. */
export function prestagedOps(connector: Connector, target: TargetRecord): PrestagedOperations {
  if (!connector.prestaged) throw new AppError('target_error', `targets of type ${target.type} do not support pre-staged accounts`);
  return connector.prestaged;
}

/** The ephemeral operations of a connector, or a clear error when its type has none. */
export function ephemeralOps(connector: Connector, target: TargetRecord): EphemeralOperations {
  if (!connector.ephemeral) throw new AppError('target_error', `targets of type ${target.type} do not support ephemeral accounts`);
  return connector.ephemeral;
}
