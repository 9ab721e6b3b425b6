import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connectorDrivers } from '../connectors/index.js';
import { loadKeyFile, publicKeyFromPrivate } from '../crypto/index.js';
import { AppError } from '../errors/index.js';
import { buildHttpApp, type App } from '../http/http-app.js';
import { createAuditLog } from '../modules/audit/audit-log.js';
import { defaultRetryPolicy, silentLogger, type Logger, type ModuleContext, type RetryPolicy } from '../modules/context.js';
import { createQuorumPool } from '../modules/custodians/quorum-pool.js';
import { jobHandlers } from '../modules/jobs/job-handlers.js';
import { aad, createVault, type Vault } from '../modules/vault/vault.js';
import { systemClock, type Clock, type ConnectorFactory, type Store } from '../ports/index.js';
import { createScheduler, type Scheduler } from '../scheduler/scheduler.js';
import { dataDirPaths, isInitialised } from './data-dir.js';
import { openStore } from './open-store.js';
import { settingKeys } from './settings-keys.js';

export interface ServerOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly databaseUrl?: string | undefined;
  /** Directories whose executables exec targets may run (BREAKGLASS_EXEC_DIRS); none by default. */
  readonly execDirs?: readonly string[];
  readonly clock?: Clock;
  readonly retry?: RetryPolicy;
  /** pino options, or false for silence (tests). */
  readonly logger?: boolean | { level: string };
  readonly schedulerPollMs?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly app: App;
  readonly ctx: ModuleContext;
  readonly scheduler: Scheduler;
  close(): Promise<void>;
}

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Connectors by target type. Per-target files (the SSH KRL) default to the data directory;
 * exec targets may run only executables under the directories the server allows.
 */
function connectorsFor(dataDir: string, execDirs: readonly string[]): ConnectorFactory {
  return (target) => {
    const driver = connectorDrivers[target.type];
    if (!driver) throw new AppError('target_error', `no connector for target type "${target.type}"`);
    if (target.type === 'exec') checkExecAllowed(target.settings['command'], execDirs);
    if (target.type === 'ssh' && typeof target.settings['krlPath'] === 'string' && !target.settings['krlPath'].endsWith('.krl')) {
      throw new AppError('target_error', 'ssh krlPath must name a .krl file');
    }
    if (target.type === 'ssh' && target.settings['krlPath'] === undefined) {
      const krlPath = join(dataDir, 'ssh', `${target.name ?? 'default'}.krl`);
      mkdirSync(dirname(krlPath), { recursive: true, mode: 0o700 });
      return driver.create({ ...target, settings: { ...target.settings, krlPath } });
    }
    return driver.create(target);
  };
}

/** The composition root: wires store, vault, audit, connectors, scheduler and HTTP, then listens. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  if (!isInitialised(options.dataDir)) {
    throw new AppError('not_found', `${options.dataDir} is not initialised; run \`breakglass init --data-dir ${options.dataDir}\` first`);
  }
  const clock = options.clock ?? systemClock;
  const vault = createVault(loadKeyFile(dataDirPaths(options.dataDir).rootKey));
  const store = await openStore(options.dataDir, options.databaseUrl);
  try {
    return await wire(options, store, vault, clock);
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function wire(options: ServerOptions, store: Store, vault: Vault, clock: Clock): Promise<RunningServer> {
  const audit = await loadAuditLog(store, vault, clock);
  // The logger and the scheduler exist only once the app does; the context reaches them late.
  let log: Logger = silentLogger;
  const schedulerRef: { current?: Scheduler } = {};
  const ctx: ModuleContext = {
    store,
    clock,
    vault,
    audit,
    connectors: connectorsFor(options.dataDir, options.execDirs ?? []),
    drivers: (type) => connectorDrivers[type],
    retry: options.retry ?? defaultRetryPolicy,
    log: { info: (f, m) => log.info(f, m), warn: (f, m) => log.warn(f, m), error: (f, m) => log.error(f, m) },
    wake: () => schedulerRef.current?.wake(),
    quorum: createQuorumPool(),
  };
  const app = await buildHttpApp({
    ctx,
    ready: () => store.transaction(async (tx) => (await tx.settings.get(settingKeys.auditPublicKey)) !== undefined),
    logger: options.logger ?? { level: 'info' },
    version,
  });
  log = app.log;
  const running = createScheduler({
    store,
    clock,
    handlers: jobHandlers(ctx),
    retry: ctx.retry,
    log,
    ...(options.schedulerPollMs === undefined ? {} : { pollMs: options.schedulerPollMs }),
  });
  schedulerRef.current = running;
  // Checkpoints are signed at least every second of activity, also when activity stops.
  const checkpointTimer = setInterval(() => {
    store.transaction((tx) => audit.checkpoint(tx)).catch((error: unknown) => {
      log.error({ err: error instanceof Error ? error.message : 'unknown' }, 'audit checkpoint failed');
    });
  }, 1_000);
  const address = await app.listen({ port: options.port, host: options.host });
  running.start();
  return {
    url: address,
    app,
    ctx,
    scheduler: running,
    async close() {
      clearInterval(checkpointTimer);
      await running.stop();
      await app.close();
      await store.transaction((tx) => audit.checkpoint(tx)).catch(() => false);
      await store.close();
    },
  };
}

function checkExecAllowed(command: unknown, execDirs: readonly string[]): void {
  const real = typeof command === 'string' && existsSync(command) ? realpathSync(command) : undefined;
  const allowed = real !== undefined && execDirs.some((dir) => existsSync(dir) && real.startsWith(`${realpathSync(dir)}/`));
  if (!allowed) {
    throw new AppError('target_error', `exec target command is not under a directory the server allows; list its directory in BREAKGLASS_EXEC_DIRS`);
  }
}

async function loadAuditLog(store: Store, vault: Vault, clock: Clock) {
  const { publicKeyPem, sealed } = await store.transaction(async (tx) => ({
    publicKeyPem: await tx.settings.get(settingKeys.auditPublicKey),
    sealed: await tx.settings.get(settingKeys.auditPrivateKeySealed),
  }));
  if (!publicKeyPem || !sealed) throw new AppError('integrity', 'the audit signing key is missing from the store; was this database initialised?');
  const privateKeyPem = vault.open(sealed, aad.auditSigningKey());
  // The stored public key must be the half of our sealed private key: someone with write access
  // to the database but not the root key could otherwise re-sign a rewritten chain.
  if (publicKeyFromPrivate(privateKeyPem) !== publicKeyPem) {
    throw new AppError('integrity', 'the audit public key in the store does not match the sealed signing key; the store was tampered with');
  }
  return createAuditLog({ clock, publicKeyPem, privateKeyPem });
}

