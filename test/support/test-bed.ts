/**
 * A fast, deterministic bed for use-case, scheduler and HTTP tests: the real modules, the real
 * store (SQLite in memory, migrated), the real vault and audit chain, the real scheduler and
 * job handlers — with a fake clock and in-memory fake targets. No sleeps, no sockets, no
 * services: time moves only with `clock.advance`, and jobs run only when the test calls
 * `runDue()`. Setup takes milliseconds.
 *
 * @example
 *   const bed = await createTestBed();
 *   await bed.apply(catalog);
 *   const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'db down', incident: 'INC-1', ttl: '15m' });
 *   bed.clock.advance(15 * 60_000);
 *   await bed.runDue();
 *   expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
 *   await bed.close();
 */
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { catalogApplySchema, formatIssues, type CatalogApply } from '../../src/config/catalog-file.js';
import { createMemoryTarget, type MemoryTarget } from '../../src/connectors/memory/memory-target.js';
import { generateSigningKeyPair, type ChainVerification } from '../../src/crypto/index.js';
import type { Actor, GrantId, UserRole } from '../../src/domain/index.js';
import { AppError } from '../../src/errors/index.js';
import { createAuditLog } from '../../src/modules/audit/audit-log.js';
import { alertOutbox } from '../../src/modules/alerts/alert-outbox.js';
import { verifyStoredChain } from '../../src/modules/audit/audit-reader.js';
import { applyCatalog, type ApplyResult } from '../../src/modules/catalog/apply-catalog.js';
import type { Logger, ModuleContext, RetryPolicy } from '../../src/modules/context.js';
import { jobHandlers } from '../../src/modules/jobs/job-handlers.js';
import { createKeyedMutex } from '../../src/modules/lib/keyed-mutex.js';
import { createVault } from '../../src/modules/vault/vault.js';
import type { AuditEventRecord, Clock, ConnectorCapabilities, JobRecord, Store } from '../../src/ports/index.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/scheduler.js';
import { createSqliteStore } from '../../src/store/create-store.js';

/** A clock that moves only when told to. */
export interface FakeClock extends Clock {
  advance(ms: number): Date;
  set(date: Date): void;
}

export function createFakeClock(start: Date = new Date('2030-01-01T00:00:00.000Z')): FakeClock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`the fake clock only moves forward (advance(${ms}))`);
      now += ms;
      return new Date(now);
    },
    set(date) {
      now = date.getTime();
    },
  };
}

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly fields: object;
  readonly message: string;
}

export interface TestBedOptions {
  /** Where the fake clock starts; default 2030-01-01T00:00:00Z. */
  readonly start?: Date;
  /** Backoff of failed jobs (on the fake clock); default 1 s doubling to 60 s, as in production. */
  readonly retry?: RetryPolicy;
  /** Capability flags of every fake target; default all on. */
  readonly capabilities?: Partial<ConnectorCapabilities>;
  /** The scheduler's lease; default its own (a few seconds). */
  readonly leaseMs?: number;
  /** The scheduler's heartbeat (real time); default off, so leases move only with the fake clock. */
  readonly heartbeatMs?: number;
  /** The store (the bed closes it); default a fresh in-memory SQLite. */
  readonly store?: Store;
}

/** The users every bed has; a catalog applied through `apply` declares them too. */
export const bedUsers = {
  admin: ['admin'],
  alice: ['responder'],
  bob: ['incident-owner'],
  carol: ['custodian'],
  dave: ['custodian'],
  erin: ['custodian'],
} as const satisfies Record<string, readonly UserRole[]>;

export type BedActors = { readonly [name in keyof typeof bedUsers]: Actor };

export interface TestBed {
  readonly ctx: ModuleContext;
  readonly clock: FakeClock;
  readonly store: Store;
  /** The real scheduler with the real job handlers; never started (no timers). */
  readonly scheduler: Scheduler;
  /** The fake target of the catalog target named `db` (the usual one). */
  readonly target: MemoryTarget;
  /** The fake target behind a catalog target, by name; every target in a bed's catalog is one. */
  targets(name: string): MemoryTarget;
  readonly actors: BedActors;
  /** What the modules logged (never a secret: tests may check that). */
  readonly logs: LogLine[];
  /** How often a module asked the scheduler to wake up. */
  readonly wakes: () => number;
  /**
   * Runs `scheduler.runDue()` until nothing is due at the fake clock's now (jobs that schedule
   * follow-up jobs due now run too). Returns how many jobs ran; throws after `maxRounds`.
   */
  runDue(maxRounds?: number): Promise<number>;
  /**
   * Validates a catalog (YAML text or object, as `POST /v1/apply` takes it) with the real schema
   * and applies it with the real `applyCatalog`, by `actor` (default admin). The bed's users are
   * added to its `users` unless it declares them itself.
   */
  apply(catalog: string | Record<string, unknown>, actor?: Actor, options?: { dryRun?: boolean }): Promise<ApplyResult>;
  /** The audit chain's actions, in order. */
  audit(): Promise<string[]>;
  auditEvents(): Promise<AuditEventRecord[]>;
  /** Verifies the whole chain against its signed checkpoints. */
  verify(): Promise<ChainVerification>;
  /** The jobs of a grant or account, soonest first. */
  jobs(subject: string): Promise<JobRecord[]>;
  close(): Promise<void>;
}

export async function createTestBed(options: TestBedOptions = {}): Promise<TestBed> {
  const clock = createFakeClock(options.start);
  const store = options.store ?? (await createSqliteStore(':memory:'));
  try {
    return await assemble(options, clock, store);
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function assemble(options: TestBedOptions, clock: FakeClock, store: Store): Promise<TestBed> {
  const rootKey = randomBytes(32);
  const keys = generateSigningKeyPair();
  const audit = createAuditLog({ clock, privateKeyPem: keys.privateKeyPem, publicKeyPem: keys.publicKeyPem });
  const vault = createVault(rootKey);
  // Alerts are written with the events that raise them, as on the server (catalogs without routes send none).
  audit.onAppend(alertOutbox({ clock, settings: { publicUrl: 'https://breakglass.test' }, vault }).onAudit);
  const fakes = new Map<string, MemoryTarget>();
  const targets = (name: string) => {
    const found = fakes.get(name) ?? createMemoryTarget({ name, clock, ...(options.capabilities ? { capabilities: options.capabilities } : {}) });
    fakes.set(name, found);
    return found;
  };
  const logs: LogLine[] = [];
  const log: Logger = {
    info: (fields, message) => void logs.push({ level: 'info', fields, message }),
    warn: (fields, message) => void logs.push({ level: 'warn', fields, message }),
    error: (fields, message) => void logs.push({ level: 'error', fields, message }),
  };
  let wakes = 0;
  const ctx: ModuleContext = {
    store,
    clock,
    vault,
    audit,
    // Whatever type a catalog target declares, the bed serves it with the fake of that name.
    connectors: (target) => targets(target.name ?? 'db').connector(),
    drivers: () => undefined,
    log,
    wake: () => void (wakes += 1),
    retry: options.retry ?? { baseMs: 1_000, maxMs: 60_000 },
    accountLocks: createKeyedMutex(),
    grantObservers: [],
  };
  const scheduler = createScheduler({
    store,
    clock,
    handlers: jobHandlers(ctx),
    retry: ctx.retry,
    log,
    heartbeatMs: options.heartbeatMs ?? 0,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
  });
  const actors = await createActors(store, clock);
  const events = () => store.transaction((tx) => tx.audit.events(1, 100_000));

  return {
    ctx,
    clock,
    store,
    scheduler,
    target: targets('db'),
    targets,
    actors,
    logs,
    wakes: () => wakes,
    async runDue(maxRounds = 200) {
      let total = 0;
      for (let round = 0; round < maxRounds; round++) {
        const ran = await scheduler.runDue();
        if (ran === 0) return total;
        total += ran;
      }
      throw new Error(`jobs were still due after ${maxRounds} rounds of runDue(): a job that keeps rescheduling itself for now?`);
    },
    apply: async (catalog, actor = actors.admin, options = {}) => applyCatalog(ctx, actor, validCatalog(catalog), options),
    audit: async () => (await events()).map((event) => event.action),
    auditEvents: events,
    verify: () => verifyStoredChain(store, audit.publicKeyPem),
    jobs: (subject) => store.transaction((tx) => tx.jobs.findFor(subject as GrantId)),
    async close() {
      rootKey.fill(0);
      await store.close();
    },
  };
}

async function createActors(store: Store, clock: Clock): Promise<BedActors> {
  return store.transaction(async (tx) => {
    const entries: [string, Actor][] = [];
    for (const [name, roles] of Object.entries(bedUsers)) {
      const user = await tx.users.upsert({ name, roles }, clock.now());
      entries.push([name, { id: user.id, name: user.name, roles: user.roles }]);
    }
    return Object.fromEntries(entries) as unknown as BedActors;
  });
}

/** The catalog as `POST /v1/apply` would accept it, with the bed's users declared. */
function validCatalog(catalog: string | Record<string, unknown>): CatalogApply {
  const doc: unknown = typeof catalog === 'string' ? parseYaml(catalog) : catalog;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new AppError('validation', 'a catalog is a mapping');
  const declared = Array.isArray((doc as { users?: unknown }).users) ? ((doc as { users: { name?: unknown }[] }).users) : [];
  const names = new Set(declared.map((user) => user.name));
  const users = [...declared, ...Object.entries(bedUsers).filter(([name]) => !names.has(name)).map(([name, roles]) => ({ name, roles: [...roles] }))];
  const parsed = catalogApplySchema.safeParse({ ...doc, users });
  if (!parsed.success) throw new AppError('validation', formatIssues(parsed.error).join('\n'));
  return parsed.data;
}

/**
 * A catalog for the usual case: target `db` (served by the fake target; its declared type only
 * satisfies the schema, nothing is executed), a post-hoc policy `p0` (15m by default, 1h at
 * most, incidents `INC-<n>`), a pre-staged account `db-breakglass` (principal `bg_admin`) and
 * an ephemeral account `db-ephemeral`.
 */
export const bedCatalog = `
targets:
  - name: db
    type: exec
    command: /dev/null/memory-target
policies:
  - name: p0
    conditions: [outage, lockout, security-incident]
    incidentPattern: '^INC-[0-9]+$'
    approval: { mode: post-hoc }
    defaultTtl: 15m
    maxTtl: 1h
accounts:
  - { name: db-breakglass, target: db, mode: prestaged, user: bg_admin, policy: p0 }
  - { name: db-ephemeral, target: db, mode: ephemeral, policy: p0 }
`;

/** A dual-control account on target `db` (2 of carol, dave, erin), to append under `bedCatalog`'s accounts. */
export const bedVaultAccount = `  - name: db-vault
    target: db
    mode: prestaged
    user: bg_vault
    policy: p0
    approval: { mode: custodians, threshold: 2 }
    custodians: [carol, dave, erin]
`;

/**
 * The refusal a call ends in: the AppError it rejected with (fails the test if it resolved).
 * @example expect((await refusal(invoke(bed.ctx, bob, input))).code).toBe('forbidden');
 */
export async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error('expected the call to be refused');
  return error as AppError;
}
