/**
 * The scenarios: where the kill -9 lands, and the other faults (target down, PostgreSQL store
 * restarted, disk full, read-only and deleted SQLite store). Each is a `drive` over the run's
 * context; the run itself judges the invariants the same way for all of them.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LoopDisk } from '../support/loop-disk.js';
import type { RunContext } from './chaos-run.js';
import { BOUND_MS } from './invariants.js';

export type KillPoint = 'kill-after-invoke' | 'kill-around-expiry' | 'kill-during-revocation' | 'kill-during-rotation';
export type FaultName = 'target-down' | 'store-restarted' | 'disk-full' | 'read-only-store' | 'deleted-store';
export type ScenarioName = KillPoint | FaultName;

export const killPoints: readonly KillPoint[] = ['kill-after-invoke', 'kill-around-expiry', 'kill-during-revocation', 'kill-during-rotation'];
export const faults: readonly FaultName[] = ['target-down', 'store-restarted', 'disk-full', 'read-only-store', 'deleted-store'];

/**
 * Scenarios that need the store fail-closed detection (another part of issue 8) to pass. Their
 * violations are printed but do not fail the suite until it lands; then this list empties.
 */
export const expectedToFailUntilStoreHealth: readonly ScenarioName[] = [];

/** How a scenario changes the run's setup: a PostgreSQL store, or the data dir on a small loop disk. */
export type StoreKind = 'sqlite' | 'postgres' | 'sqlite-loop-disk';
export const storeOf = (name: ScenarioName): StoreKind =>
  name === 'store-restarted' ? 'postgres' : name === 'disk-full' || name === 'read-only-store' ? 'sqlite-loop-disk' : 'sqlite';

/** The faults that act on shared things (the target cluster) and so run one at a time. */
export const runsAlone = (name: ScenarioName): boolean => !name.startsWith('kill-');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const until = (at: number) => sleep(at - Date.now());

/** The pieces a fault acts on besides the run's own: the store's cluster, the loop disk. */
export interface FaultTools {
  readonly storeCluster?: { pause(): Promise<void>; resume(): Promise<void> };
  readonly disk?: LoopDisk;
}

async function waitForRotation(ctx: RunContext): Promise<boolean> {
  const deadline = ctx.expiresAt + 30_000;
  while (Date.now() < deadline) {
    const list = await ctx.node.call(ctx.aliceToken, 'GET', '/v1/grants');
    const state = (list.body.grants as { state: string }[])[0]?.state;
    if (state === 'rotating') return true;
    if (state === 'awaiting-certification') return false;
    await sleep(50);
  }
  return false;
}

const killDrives: Record<KillPoint, (ctx: RunContext) => Promise<void>> = {
  async 'kill-after-invoke'(ctx) {
    const invoking = ctx.invoke().catch(() => undefined);
    await sleep(ctx.rng.between(0, 800));
    await ctx.killAndRestart();
    await invoking;
    await ctx.adoptGrant();
  },
  async 'kill-around-expiry'(ctx) {
    await ctx.openGrant();
    await until(ctx.expiresAt + ctx.rng.between(-1_500, 1_500));
    await ctx.killAndRestart();
  },
  async 'kill-during-revocation'(ctx) {
    // A slow target and many sessions keep revocation busy for a second or more.
    ctx.proxy.setDelay(ctx.rng.between(60, 160));
    await ctx.openGrant(8);
    await until(ctx.expiresAt + ctx.rng.between(0, 2_500));
    await ctx.killAndRestart();
  },
  async 'kill-during-rotation'(ctx) {
    ctx.proxy.setDelay(ctx.rng.between(60, 160));
    await ctx.openGrant();
    if (!(await waitForRotation(ctx))) ctx.note('rotation was over before the kill');
    await sleep(ctx.rng.between(0, 1_200));
    await ctx.killAndRestart();
  },
};

/** While the store is unusable: /readyz says so and invoke is refused (fail closed). */
async function expectFailClosed(ctx: RunContext, what: string): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  let status = 200;
  while (Date.now() < deadline && status === 200) {
    status = await fetch(`${ctx.node.url}/readyz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0);
    if (status === 200) await sleep(200);
  }
  if (status === 200) ctx.violation(`fail-closed: /readyz still 200 ${BOUND_MS / 1000} s after the store became ${what}`);
  const invoked = await ctx.invoke('pg-probe').catch(() => undefined);
  if (invoked?.status === 201) ctx.violation(`fail-closed: invoke accepted while the store is ${what}`);
}

/** After the fault: ready again within the bound. */
async function expectReadyAgain(ctx: RunContext): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await fetch(`${ctx.node.url}/readyz`).then((r) => r.status, () => 0)) === 200) return;
    await sleep(200);
  }
  ctx.violation('not ready again 15 s after the store came back');
}

/**
 * A store fault around expiry: `on`, check the server fails closed, hold it a while, then
 * `recover` (which may restart the server) and expect it ready again.
 */
async function storeFault(ctx: RunContext, what: string, on: () => void, recover: () => Promise<void>): Promise<void> {
  await ctx.openGrant();
  await until(ctx.expiresAt - ctx.rng.between(0, 1_500));
  const faultEnds = Date.now() + ctx.rng.between(2_000, 5_000);
  on();
  try {
    await expectFailClosed(ctx, what);
    await until(faultEnds);
  } finally {
    await recover();
  }
  ctx.comeback();
  await expectReadyAgain(ctx);
}

/** A file system gone read-only is repaired offline: bounded stop, fsck, mount, start again. */
async function repairAndRestart(ctx: RunContext, disk: LoopDisk): Promise<void> {
  if ((await ctx.node.stop(15_000)) === undefined) ctx.violation('shutdown: still running 15 s after SIGTERM on a read-only store (killed)');
  await disk.repair();
  await ctx.node.restart();
}

export function faultDrive(name: FaultName, tools: FaultTools): (ctx: RunContext) => Promise<void> {
  const disk = () => {
    if (tools.disk === undefined) throw new Error(`${name} needs a loop disk`);
    return tools.disk;
  };
  switch (name) {
    case 'target-down':
      return async (ctx) => {
        await ctx.openGrant();
        await until(ctx.expiresAt - ctx.rng.between(0, 1_500));
        await ctx.cluster.pause();
        await sleep(ctx.rng.between(2_000, 8_000));
        await ctx.cluster.resume();
        ctx.comeback();
      };
    case 'store-restarted':
      return async (ctx) => {
        const store = tools.storeCluster;
        if (store === undefined) throw new Error('store-restarted needs a store cluster');
        await ctx.openGrant();
        await until(ctx.expiresAt + ctx.rng.between(-1_500, 1_500));
        await store.pause();
        await sleep(ctx.rng.between(1_000, 4_000));
        await store.resume();
        ctx.comeback();
      };
    case 'disk-full':
      return (ctx) => storeFault(ctx, 'full', () => disk().fill(), async () => disk().unfill());
    case 'read-only-store':
      return (ctx) => storeFault(ctx, 'read-only', () => disk().breakReadOnly(), () => repairAndRestart(ctx, disk()));
    case 'deleted-store':
      return async (ctx) => {
        await ctx.openGrant();
        await until(ctx.expiresAt - ctx.rng.between(0, 1_500));
        const db = join(ctx.node.dataDir, 'breakglass.db');
        for (const file of [db, `${db}-wal`, `${db}-shm`]) rmSync(file, { force: true });
        ctx.storeGone();
        await expectFailClosed(ctx, 'deleted');
      };
  }
}

export const scenarioDrive = (name: ScenarioName, tools: FaultTools) => (name.startsWith('kill-') ? killDrives[name as KillPoint] : faultDrive(name as FaultName, tools));
