import { readFileSync } from 'node:fs';
import { loadConnectorDrivers } from '../connectors/index.js';
import { AppError } from '../errors/index.js';
import { buildHttpApp, type App } from '../http/http-app.js';
import { createServingGate, type ServingGate } from '../http/serving-gate.js';
import type { TlsMaterial } from '../http/limits.js';
import { defaultRetryPolicy, silentLogger, type Logger, type ModuleContext, type RetryPolicy } from '../modules/context.js';
import { jobHandlers, type JobHandlers } from '../modules/jobs/job-handlers.js';
import { createKeyedMutex } from '../modules/lib/keyed-mutex.js';
import { createExpiryWatch } from '../modules/offline-revocation/expiry-watch.js';
import { createOfflineRevoker, type OfflineRevoker } from '../modules/offline-revocation/offline-revoker.js';
import { alertOutbox } from '../modules/alerts/alert-outbox.js';
import { metricsHook } from '../modules/metrics/metrics-hook.js';
import { createMetrics } from '../modules/metrics/metrics-registry.js';
import { createAlertEscalation } from '../modules/alerts/alert-escalation.js';
import { createAlertRelay, type ChannelSenders } from '../modules/alerts/alert-relay.js';
import { createAlertWatch } from '../modules/alerts/alert-watch.js';
import { scanDrift } from '../modules/drift/drift-scan.js';
import { auditStream } from '../modules/alerts/audit-stream.js';
import { channelSenders } from '../notify/senders.js';
import { openRevocationJournal } from '../journal/revocation-journal.js';
import { createStoreHealth, type StoreHealth } from '../modules/store-health/store-health.js';
import { createVault } from '../modules/vault/vault.js';
import { systemClock, type Clock, type ConnectorFactory, type KeyProvider, type ProbedStore, type SealGate, type SettingsContext, type SealStatus, type Store, type UnsealInputs } from '../ports/index.js';
import { announceServer, assertNoKeyOperation } from '../root-key/data-dir-locks.js';
import { readRootKeyMaterial, type ShamirDescriptor } from '../root-key/descriptor.js';
import { assertKeyMatchesStore, assertMaterialIsCurrent, recoverRootKeyChange } from '../root-key/journal.js';
import { keyProviderFor } from '../root-key/key-providers.js';
import { openAuditLog } from '../root-key/open-audit-log.js';
import { settingKeys } from '../root-key/settings-keys.js';
import { createScheduler, type Scheduler } from '../scheduler/scheduler.js';
import { dataDirPaths, instanceIdentity, isInitialised, secureDataDir } from './data-dir.js';
import { openStore } from './open-store.js';
import { defaultDriftIntervalMs, defaultShutdownTimeoutMs } from './server-env.js';
import { startSealedServer, type Assembled } from './sealed-server.js';
// issue 13 (pool)
import { keepTargetConnectors } from '../modules/targets.js';

export interface ServerOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly databaseUrl?: string | undefined;
  /** Directories whose executables exec targets may run (BREAKGLASS_EXEC_DIRS); none by default. */
  readonly execDirs?: readonly string[];
  /** Directories besides the data directory where SSH targets may keep their KRL (BREAKGLASS_KRL_DIRS); none by default. */
  readonly krlDirs?: readonly string[];
  readonly clock?: Clock;
  readonly retry?: RetryPolicy;
  /** pino options, or false for silence (tests). */
  readonly logger?: boolean | { level: string };
  readonly schedulerPollMs?: number;
  /** Secrets that open the root key's seal at start (passphrase, HSM PIN); unused for keyfile and shamir. */
  readonly unsealInputs?: UnsealInputs;
  /** Where people reach this server (BREAKGLASS_PUBLIC_URL): alerts link to grants there. */
  readonly publicUrl?: string | undefined;
  /** Senders by channel type (tests may put their own); default src/notify's. */
  readonly channelSenders?: ChannelSenders;
  /** Serve HTTPS with this certificate and key (PEM); plain HTTP without. */
  readonly tls?: TlsMaterial | undefined;
  /** How often the store is probed (a stat and a heartbeat write); default 1 s. */
  readonly storeProbeMs?: number;
  /** How often the drift scan runs (BREAKGLASS_DRIFT_INTERVAL); default 5 min, 0 for never. */
  readonly driftIntervalMs?: number;
  /** BREAKGLASS_METRICS_TOKEN: a separate bearer token for Prometheus scrapes of /metrics. */
  readonly metricsToken?: string | undefined;
  // issue 13 (sched)
  /** Jobs the scheduler runs at once (BREAKGLASS_JOB_CONCURRENCY); default 16. */
  readonly jobConcurrency?: number | undefined;
  // issue 13 (per-target limit)
  /** Admin connections, and operations at once, per pooled target (BREAKGLASS_TARGET_CONNECTIONS); default 4. */
  readonly targetConnections?: number | undefined;
}

/** How a shutdown ended: everything finished within the bound, or what was still running. */
export interface ShutdownReport {
  readonly drained: boolean;
  /** `METHOD /route` of the requests still running when the bound passed. */
  readonly stillRunning: readonly string[];
}

export interface RunningServer {
  readonly url: string;
  /** The app answering now: the sealed app until a shamir-sealed server is unsealed. */
  readonly app: App;
  /** Throws AppError('sealed') while the server is sealed. */
  readonly ctx: ModuleContext;
  /** Throws AppError('sealed') while the server is sealed. */
  readonly scheduler: Scheduler;
  /** What the server knows about its store (src/modules/store-health). */
  readonly storeHealth: StoreHealth;
  sealStatus(): SealStatus;
  /**
   * Stops at once taking new requests (but `/healthz`) and jobs, lets the requests and the job
   * in hand finish within `timeoutMs`, then closes the app and the store. Past the bound it
   * reports what was still running and leaves the rest to process exit: every state is in the
   * store, and the next instance claims the jobs again.
   */
  shutdown(timeoutMs: number): Promise<ShutdownReport>;
  /** `shutdown` with the default bound. */
  close(): Promise<void>;
}

/** The parts a running server is made of, sealed or not. */
interface Started {
  readonly url: string;
  readonly app: App;
  readonly ctx: ModuleContext;
  readonly scheduler: Scheduler;
  sealStatus(): SealStatus;
  /** Stops the scheduler (after the job in hand) and the timers that write; idempotent. */
  halt(): Promise<void>;
  /** Stops everything and closes the app (not the store). */
  close(): Promise<void>;
}

type Drivers = Awaited<ReturnType<typeof loadConnectorDrivers>>;

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Connectors by target type. Per-target files (the SSH KRL) live in the data directory or a
 * directory the server allows; exec targets may run only executables under the directories
 * the server allows.
 */
function connectorsFor(drivers: Drivers, context: Omit<SettingsContext, 'targetName'>): ConnectorFactory {
  return (target) => {
    const driver = drivers[target.type];
    if (!driver) throw new AppError('target_error', `no connector for target type "${target.type}"`);
    const settings = driver.prepareSettings?.(target.settings, { ...context, targetName: target.name }) ?? target.settings;
    return driver.create({ ...target, settings });
  };
}

/**
 * The composition root: wires store, vault, audit, connectors, scheduler and HTTP, then listens.
 * The root key comes from the data dir's seal: a key file, a passphrase or an HSM open it at
 * start (`unsealInputs`); a `shamir` seal starts the server sealed until operators present
 * enough unseal shares (`POST /v1/sys/unseal`).
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  if (!isInitialised(options.dataDir)) {
    throw new AppError('not_found', `${options.dataDir} is not initialised; run \`breakglass init --data-dir ${options.dataDir}\` first`);
  }
  // Refuses to start on a data dir other users can read (see secureDataDir).
  secureDataDir(options.dataDir);
  const clock = options.clock ?? systemClock;
  // Announce first, then look for a rekey or rotation: see data-dir-locks.ts.
  const withdraw = announceServer(options.dataDir);
  let store: ProbedStore | undefined;
  try {
    assertNoKeyOperation(options.dataDir);
    store = await openStore(options.dataDir, options.databaseUrl);
    secureDataDir(options.dataDir); // journal files the open may have created
    await recoverRootKeyChange(options.dataDir, store);
    const material = readRootKeyMaterial(options.dataDir);
    await assertMaterialIsCurrent(store, material);
    const provider = keyProviderFor(options.dataDir, material);
    const current: { running?: Started } = {};
    const health = createStoreHealth({
      store,
      clock,
      // The log of the app answering now (sealed, then full), once there is one.
      log: () => current.running?.app.log ?? silentLogger,
      ...(options.storeProbeMs === undefined ? {} : { intervalMs: options.storeProbeMs }),
    });
    const gate = createServingGate({ store: () => health.status() });
    const wiring: Wiring = { store: health.store, health, gate, clock };
    const started =
      material.descriptor?.seal === 'shamir' ? await startSealed(options, material.descriptor, wiring) : await startUnsealed(options, provider, wiring);
    current.running = started;
    health.start();
    const shutdown = shutdownOf({ running: started, store, health, gate, withdraw });
    return {
      storeHealth: health,
      shutdown,
      sealStatus: () => started.sealStatus(),
      get url() {
        return started.url;
      },
      get app() {
        return started.app;
      },
      get ctx() {
        return started.ctx;
      },
      get scheduler() {
        return started.scheduler;
      },
      close: async () => void (await shutdown(defaultShutdownTimeoutMs)),
    };
  } catch (error) {
    await store?.close();
    withdraw();
    throw error;
  }
}

/**
 * The bounded shutdown (see `RunningServer.shutdown`). Wall-clock time on purpose: the bound
 * is about this process, not about the grants' clock.
 */
function shutdownOf(parts: { running: Started; store: Store; health: StoreHealth; gate: ServingGate; withdraw: () => void }) {
  let done: Promise<ShutdownReport> | undefined;
  const run = async (timeoutMs: number): Promise<ShutdownReport> => {
    const { running, gate } = parts;
    const deadline = Date.now() + timeoutMs;
    gate.stop();
    parts.health.stop();
    const halted = running.halt();
    const requestsDone = await gate.drained(timeoutMs);
    const jobDone = await within(halted, deadline - Date.now());
    if (!requestsDone || !jobDone) {
      const stillRunning = gate.inFlight();
      running.app.log.warn(
        { requests: stillRunning, job: jobDone ? 'none' : 'still running' },
        `shutdown: ${timeoutMs / 1000}s passed (BREAKGLASS_SHUTDOWN_TIMEOUT) with work still running; exiting anyway: ` +
          'the state is in the store, and the next instance claims the unfinished jobs again',
      );
      parts.withdraw();
      return { drained: false, stillRunning };
    }
    try {
      await running.close();
      await parts.store.close();
    } finally {
      parts.withdraw();
    }
    return { drained: true, stillRunning: [] };
  };
  return (timeoutMs: number) => (done ??= run(timeoutMs));
}

/** Did `work` settle within `ms`? */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  const settled = work.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** What both seals wire the same way: the guarded store, its monitor, the door, the clock. */
interface Wiring {
  readonly store: Store;
  readonly health: StoreHealth;
  readonly gate: ServingGate;
  readonly clock: Clock;
}

/** Seals that open at start: the key file, a passphrase, an HSM. */
async function startUnsealed(options: ServerOptions, provider: KeyProvider, wiring: Wiring): Promise<Started> {
  const { store } = wiring;
  const rootKey = await provider.unseal(options.unsealInputs ?? {});
  await assertKeyMatchesStore(store, rootKey);
  const status: SealStatus = { sealed: false, mode: provider.mode, threshold: null, shares: null, progress: 0 };
  const gate: SealGate = {
    status: () => status,
    unseal: () => Promise.reject(new AppError('conflict', `this server's root key is sealed with ${provider.mode}, not unseal shares; it was unsealed at start`)),
  };
  const parts = await assemble(options, wiring, rootKey, { mode: provider.mode, ...provider.describe }, gate);
  let url: string;
  try {
    url = await parts.app.listen({ port: options.port, host: options.host });
  } catch (error) {
    await parts.stop();
    throw error;
  }
  parts.start();
  return { url, app: parts.app, ctx: parts.ctx, scheduler: parts.scheduler, sealStatus: () => status, halt: () => parts.halt(), close: () => parts.stop() };
}

/** The shamir seal: listen sealed, wire everything once the shares are in. */
async function startSealed(options: ServerOptions, descriptor: ShamirDescriptor, wiring: Wiring): Promise<Started> {
  const sealed = await startSealedServer({
    host: options.host,
    port: options.port,
    logger: options.logger ?? { level: 'info' },
    descriptor,
    clock: wiring.clock,
    tls: options.tls,
    gate: wiring.gate,
    async assemble(rootKey, summary, gate) {
      await assertKeyMatchesStore(wiring.store, rootKey);
      return assemble(options, wiring, rootKey, { ...summary }, gate);
    },
  });
  const unsealed = () => {
    const parts = sealed.assembled();
    if (parts === undefined) throw new AppError('sealed', 'the server is sealed');
    return parts;
  };
  return {
    url: sealed.url,
    get app() {
      return sealed.app();
    },
    get ctx() {
      return unsealed().ctx;
    },
    get scheduler() {
      return unsealed().scheduler;
    },
    sealStatus: () => sealed.session.status(),
    halt: async () => sealed.assembled()?.halt(),
    close: () => sealed.close(),
  };
}

/**
 * Everything that needs the root key: the vault, the audit log (its signing key is sealed), the
 * app and the scheduler. Records the unseal in the audit chain first; if that fails, nothing starts.
 */
async function assemble(
  options: ServerOptions,
  wiring: Wiring,
  rootKey: Buffer,
  unsealDetails: Readonly<Record<string, unknown>>,
  seal: SealGate,
): Promise<Assembled> {
  // The guarded store: once the store is lost, no transaction starts (store-health.ts).
  const { store, clock } = wiring;
  const drivers = await loadConnectorDrivers();
  const vault = createVault(rootKey);
  const audit = await openAuditLog(store, vault, clock);
  // The audit stream (every event and checkpoint to the catalog's audit sinks) from the first event of this run.
  const stream = auditStream({ clock });
  audit.onAppend(stream.onAudit);
  audit.onCheckpoint(stream.onCheckpoint);
  // Alerts are written with the audit event that raises them (the outbox) — the unseal below included.
  audit.onAppend(alertOutbox({ clock, settings: { publicUrl: options.publicUrl }, vault }).onAudit);
  // Event metrics (time to access, revocation lag) are observed as their events are appended.
  const metrics = createMetrics({ scrapeToken: options.metricsToken });
  audit.onAppend(metricsHook(metrics));
  await store.transaction((tx) => audit.append(tx, { actor: 'system', action: 'root-key.unsealed', subject: 'root-key', details: unsealDetails }));
  // The logger and the scheduler exist only once the app does; the context reaches them late.
  let log: Logger = silentLogger;
  const schedulerRef: { current?: Scheduler } = {};
  // What to revoke, and where to keep the evidence, if the store stops taking writes.
  const watch = createExpiryWatch();
  const journal = openRevocationJournal(dataDirPaths(options.dataDir).revocationJournal);
  // One set of senders for the relay and for `channel test`, so a test goes out as alerts do.
  const senders = options.channelSenders ?? channelSenders;
  const ctx: ModuleContext = {
    store,
    clock,
    vault,
    audit,
    connectors: connectorsFor(drivers, { dataDir: options.dataDir, execDirs: options.execDirs ?? [], krlDirs: options.krlDirs ?? [] }),
    drivers: (type) => drivers[type],
    retry: options.retry ?? defaultRetryPolicy,
    log: { info: (f, m) => log.info(f, m), warn: (f, m) => log.warn(f, m), error: (f, m) => log.error(f, m) },
    wake: () => schedulerRef.current?.wake(),
    accountLocks: createKeyedMutex(),
    grantObservers: [watch.observer],
    channelSenders: senders,
    metrics,
  };
  // issue 13 (pool): one connector (and its pool of admin connections) per target, closed at stop.
  const targetConnectors = keepTargetConnectors(ctx, { connectionsPerTarget: options.targetConnections });
  const offline = createOfflineRevoker({ ctx, watch, journal, storeUsable: () => wiring.health.status().state === 'ok' });
  // The relay delivers what the outbox holds.
  const relay = createAlertRelay(ctx, senders, { instanceId: instanceIdentity(options.dataDir) });
  // The time-driven alerts (expiring, overdue): raised from the clock, once per occurrence across instances.
  const alertWatch = createAlertWatch(ctx, { settings: { publicUrl: options.publicUrl } });
  // Alerts nobody acknowledged within their route's ackWithin, sent again to escalateTo (once).
  const escalation = createAlertEscalation(ctx, { settings: { publicUrl: options.publicUrl } });
  const app = await buildHttpApp({
    ctx,
    // Ready once initialised; dead alerts make it degraded (still serving), not down.
    ready: () =>
      store.transaction(async (tx) => {
        if ((await tx.settings.get(settingKeys.auditPublicKey)) === undefined) return false;
        return { ready: true, deadAlerts: await tx.outbox.countDead() };
      }),
    logger: options.logger ?? { level: 'info' },
    version,
    seal,
    tls: options.tls,
    gate: wiring.gate,
  });
  log = app.log;
  const scheduler = createScheduler({
    store,
    clock,
    handlers: journalFirst(jobHandlers(ctx), offline),
    retry: ctx.retry,
    log,
    instanceId: instanceIdentity(options.dataDir),
    ...(options.schedulerPollMs === undefined ? {} : { pollMs: options.schedulerPollMs }),
    // issue 13 (sched)
    ...(options.jobConcurrency === undefined ? {} : { concurrency: options.jobConcurrency }),
  });
  schedulerRef.current = scheduler;
  let checkpointTimer: NodeJS.Timeout | undefined;
  let offlineTimer: NodeJS.Timeout | undefined;
  let offlineRound: Promise<void> = Promise.resolve();
  let relayTimer: NodeJS.Timeout | undefined;
  let relayRound: Promise<unknown> = Promise.resolve();
  let watchTimer: NodeJS.Timeout | undefined;
  let watchRound: Promise<unknown> = Promise.resolve();
  let driftTimer: NodeJS.Timeout | undefined;
  let driftRound: Promise<unknown> | undefined;
  let unlisten: (() => void) | undefined;
  let halted: Promise<void> | undefined;
  const halt = () =>
    (halted ??= (async () => {
      clearInterval(checkpointTimer);
      clearInterval(relayTimer);
      clearInterval(watchTimer);
      clearInterval(driftTimer);
      await relayRound;
      await watchRound;
      await driftRound;
      unlisten?.();
      await scheduler.stop();
    })());
  await watch.load(store);
  return {
    ctx,
    app,
    scheduler,
    start() {
      // Checkpoints are signed at least every second of activity, also when activity stops.
      checkpointTimer = setInterval(() => {
        if (wiring.health.status().state !== 'ok') return; // the monitor has said why, once
        store.transaction((tx) => audit.checkpoint(tx)).catch((error: unknown) => {
          log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'audit checkpoint failed');
        });
      }, 1_000);
      // PostgreSQL: a job a peer schedules or puts back wakes this scheduler at once (the poll stays as the fallback).
      unlisten = store.onJobsChanged?.(() => scheduler.wake());
      scheduler.start();
      // The outbox relay: a round at a time, while the store is usable.
      relayTimer = setInterval(() => {
        if (wiring.health.status().state !== 'ok') return;
        relayRound = relayRound
          .then(() => relay.tick())
          .catch((error: unknown) => log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'alert relay round failed'));
      }, 250);
      // The alert watch and the escalations: a round a second, while the store is usable (a round missed is caught up by the next).
      watchTimer = setInterval(() => {
        if (wiring.health.status().state !== 'ok') return;
        watchRound = watchRound
          .then(() => alertWatch.tick())
          .then(() => escalation.tick())
          .catch((error: unknown) => log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'alert watch round failed'));
      }, 1_000);
      // Drift detection (modules/drift): a scan per interval while the store is usable; a round still running skips the tick.
      const driftMs = options.driftIntervalMs ?? defaultDriftIntervalMs;
      if (driftMs > 0) {
        driftTimer = setInterval(() => {
          if (wiring.health.status().state !== 'ok' || driftRound !== undefined) return;
          driftRound = scanDrift(ctx)
            .catch((error: unknown) => log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'drift scan failed'))
            .finally(() => (driftRound = undefined));
        }, driftMs);
      }
      // Revocation that does not wait for the store (modules/offline-revocation); one round at a time.
      offlineTimer = setInterval(() => {
        offlineRound = offlineRound
          .then(() => offline.tick())
          .catch((error: unknown) => log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'offline revocation round failed'));
      }, 500);
      // A lost store is terminal: nothing runs on it any more; /healthz and /readyz still answer.
      wiring.health.onLost(() => {
        halt().catch((error: unknown) => log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'stopping the scheduler failed'));
      });
    },
    halt,
    async stop() {
      await halt();
      clearInterval(offlineTimer);
      await offlineRound;
      journal.close();
      await app.close();
      // issue 13 (pool)
      await targetConnectors.close();
      await store.transaction((tx) => audit.checkpoint(tx)).catch(() => false);
    },
  };
}

/**
 * The revocation job writes the offline journal onto the chain before it records anything: the
 * target was disabled first without the store, and the chain says so in that order.
 */
function journalFirst(handlers: JobHandlers, offline: OfflineRevoker): JobHandlers {
  return {
    ...handlers,
    revoke: async (grantId, lease) => {
      await offline.flushJournal();
      await handlers.revoke(grantId, lease);
    },
    // issue 13 (sched): the expire job revokes in the same step, so it flushes the journal first too.
    expire: async (grantId, lease) => {
      await offline.flushJournal();
      await handlers.expire(grantId, lease);
    },
  };
}
