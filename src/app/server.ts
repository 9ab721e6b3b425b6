import { readFileSync } from 'node:fs';
import { loadConnectorDrivers } from '../connectors/index.js';
import { AppError } from '../errors/index.js';
import { buildHttpApp, type App } from '../http/http-app.js';
import type { TlsMaterial } from '../http/limits.js';
import { defaultRetryPolicy, silentLogger, type Logger, type ModuleContext, type RetryPolicy } from '../modules/context.js';
import { jobHandlers } from '../modules/jobs/job-handlers.js';
import { createKeyedMutex } from '../modules/lib/keyed-mutex.js';
import { createVault } from '../modules/vault/vault.js';
import { systemClock, type Clock, type ConnectorFactory, type KeyProvider, type SealGate, type SettingsContext, type SealStatus, type Store, type UnsealInputs } from '../ports/index.js';
import { announceServer, assertNoKeyOperation } from '../root-key/data-dir-locks.js';
import { readRootKeyMaterial, type ShamirDescriptor } from '../root-key/descriptor.js';
import { assertKeyMatchesStore, assertMaterialIsCurrent, recoverRootKeyChange } from '../root-key/journal.js';
import { keyProviderFor } from '../root-key/key-providers.js';
import { openAuditLog } from '../root-key/open-audit-log.js';
import { settingKeys } from '../root-key/settings-keys.js';
import { createScheduler, type Scheduler } from '../scheduler/scheduler.js';
import { instanceIdentity, isInitialised, secureDataDir } from './data-dir.js';
import { openStore } from './open-store.js';
import { startSealedServer, type Assembled } from './sealed-server.js';

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
  /** Serve HTTPS with this certificate and key (PEM); plain HTTP without. */
  readonly tls?: TlsMaterial | undefined;
}

export interface RunningServer {
  readonly url: string;
  /** The app answering now: the sealed app until a shamir-sealed server is unsealed. */
  readonly app: App;
  /** Throws AppError('sealed') while the server is sealed. */
  readonly ctx: ModuleContext;
  /** Throws AppError('sealed') while the server is sealed. */
  readonly scheduler: Scheduler;
  sealStatus(): SealStatus;
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
  let store: Store | undefined;
  try {
    assertNoKeyOperation(options.dataDir);
    store = await openStore(options.dataDir, options.databaseUrl);
    secureDataDir(options.dataDir); // journal files the open may have created
    await recoverRootKeyChange(options.dataDir, store);
    const material = readRootKeyMaterial(options.dataDir);
    await assertMaterialIsCurrent(store, material);
    const provider = keyProviderFor(options.dataDir, material);
    const running =
      material.descriptor?.seal === 'shamir'
        ? await startSealed(options, store, material.descriptor, clock)
        : await startUnsealed(options, store, provider, clock);
    const opened = store;
    return {
      sealStatus: () => running.sealStatus(),
      get url() {
        return running.url;
      },
      get app() {
        return running.app;
      },
      get ctx() {
        return running.ctx;
      },
      get scheduler() {
        return running.scheduler;
      },
      async close() {
        try {
          await running.close();
          await opened.close();
        } finally {
          withdraw();
        }
      },
    };
  } catch (error) {
    await store?.close();
    withdraw();
    throw error;
  }
}

/** Seals that open at start: the key file, a passphrase, an HSM. */
async function startUnsealed(options: ServerOptions, store: Store, provider: KeyProvider, clock: Clock): Promise<RunningServer> {
  const rootKey = await provider.unseal(options.unsealInputs ?? {});
  await assertKeyMatchesStore(store, rootKey);
  const status: SealStatus = { sealed: false, mode: provider.mode, threshold: null, shares: null, progress: 0 };
  const gate: SealGate = {
    status: () => status,
    unseal: () => Promise.reject(new AppError('conflict', `this server's root key is sealed with ${provider.mode}, not unseal shares; it was unsealed at start`)),
  };
  const parts = await assemble(options, store, rootKey, clock, { mode: provider.mode, ...provider.describe }, gate);
  let url: string;
  try {
    url = await parts.app.listen({ port: options.port, host: options.host });
  } catch (error) {
    await parts.stop();
    throw error;
  }
  parts.start();
  return { url, app: parts.app, ctx: parts.ctx, scheduler: parts.scheduler, sealStatus: () => status, close: () => parts.stop() };
}

/** The shamir seal: listen sealed, wire everything once the shares are in. */
async function startSealed(options: ServerOptions, store: Store, descriptor: ShamirDescriptor, clock: Clock): Promise<RunningServer> {
  const sealed = await startSealedServer({
    host: options.host,
    port: options.port,
    logger: options.logger ?? { level: 'info' },
    descriptor,
    clock,
    tls: options.tls,
    async assemble(rootKey, summary, gate) {
      await assertKeyMatchesStore(store, rootKey);
      return assemble(options, store, rootKey, clock, { ...summary }, gate);
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
    close: () => sealed.close(),
  };
}

/**
 * Everything that needs the root key: the vault, the audit log (its signing key is sealed), the
 * app and the scheduler. Records the unseal in the audit chain first; if that fails, nothing starts.
 */
async function assemble(
  options: ServerOptions,
  store: Store,
  rootKey: Buffer,
  clock: Clock,
  unsealDetails: Readonly<Record<string, unknown>>,
  seal: SealGate,
): Promise<Assembled> {
  const drivers = await loadConnectorDrivers();
  const vault = createVault(rootKey);
  const audit = await openAuditLog(store, vault, clock);
  await store.transaction((tx) => audit.append(tx, { actor: 'system', action: 'root-key.unsealed', subject: 'root-key', details: unsealDetails }));
  // The logger and the scheduler exist only once the app does; the context reaches them late.
  let log: Logger = silentLogger;
  const schedulerRef: { current?: Scheduler } = {};
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
    grantObservers: [],
  };
  const app = await buildHttpApp({
    ctx,
    ready: () => store.transaction(async (tx) => (await tx.settings.get(settingKeys.auditPublicKey)) !== undefined),
    logger: options.logger ?? { level: 'info' },
    version,
    seal,
    tls: options.tls,
  });
  log = app.log;
  const scheduler = createScheduler({
    store,
    clock,
    handlers: jobHandlers(ctx),
    retry: ctx.retry,
    log,
    instanceId: instanceIdentity(options.dataDir),
    ...(options.schedulerPollMs === undefined ? {} : { pollMs: options.schedulerPollMs }),
  });
  schedulerRef.current = scheduler;
  let checkpointTimer: NodeJS.Timeout | undefined;
  let unlisten: (() => void) | undefined;
  return {
    ctx,
    app,
    scheduler,
    start() {
      // Checkpoints are signed at least every second of activity, also when activity stops.
      checkpointTimer = setInterval(() => {
        store.transaction((tx) => audit.checkpoint(tx)).catch((error: unknown) => {
          log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'audit checkpoint failed');
        });
      }, 1_000);
      // PostgreSQL: a job a peer schedules or puts back wakes this scheduler at once (the poll stays as the fallback).
      unlisten = store.onJobsChanged?.(() => scheduler.wake());
      scheduler.start();
    },
    async stop() {
      clearInterval(checkpointTimer);
      unlisten?.();
      await scheduler.stop();
      await app.close();
      await store.transaction((tx) => audit.checkpoint(tx)).catch(() => false);
    },
  };
}
