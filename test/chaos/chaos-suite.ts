/**
 * Runs a chaos plan: kill -9 iterations side by side (each on its own server, data dir and
 * roles, sharing one target cluster), then the other faults one at a time (target down pauses
 * the shared cluster). Returns the per-scenario rows and the printed table.
 *
 * @example
 *   const report = await runChaos(planFor(process.env), chaosSeed());
 *   console.log(report.table);
 */
import { join } from 'node:path';
import pg from 'pg';
import { createLoopDisk, loopDiskAvailable } from '../support/loop-disk.js';
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { createChaosRng } from './chaos-rng.js';
import { chaosRun, type RunResult, type RunSetup } from './chaos-run.js';
import { formatTable, summarise, type ScenarioRow } from './chaos-table.js';
import { BOUND_MS } from './invariants.js';
import { faults, killPoints, runsAlone, scenarioDrive, storeOf, type FaultTools, type ScenarioName } from './scenarios.js';

export interface ChaosPlan {
  /** kill -9 iterations, spread over the kill points in turn. */
  readonly kills: number;
  /** Runs of each other fault. */
  readonly faultRuns: number;
  /** kill -9 iterations at once. */
  readonly concurrency: number;
}

/** `npm test`: a handful; `CHAOS_FULL=1` (npm run chaos): ≥ 100 kills and a few of each fault. */
export function planFor(env: Record<string, string | undefined>): ChaosPlan {
  const full = env['CHAOS_FULL'] === '1';
  const number = (name: string, fallback: number) => (env[name] === undefined ? fallback : Number(env[name]));
  return { kills: number('CHAOS_KILLS', full ? 100 : 5), faultRuns: number('CHAOS_FAULT_RUNS', full ? 3 : 1), concurrency: number('CHAOS_CONCURRENCY', 2) };
}

export interface ChaosReport {
  readonly rows: ScenarioRow[];
  readonly table: string;
}

/** The shared pieces: the target cluster always, a store cluster when a scenario needs one. */
interface Shared {
  readonly target: PgCluster;
  store?: PgCluster;
}

async function storeDatabase(shared: Shared, label: string): Promise<string> {
  shared.store ??= await startPgCluster();
  const { host, port, adminUser, adminPassword } = shared.store;
  const name = `bgc_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
  const admin = new pg.Client({ host, port, user: adminUser, password: adminPassword, database: 'postgres' });
  await admin.connect();
  await admin.query(`create database "${name}"`).finally(() => admin.end());
  return `postgres://${adminUser}:${encodeURIComponent(adminPassword)}@${host}:${port}/${name}`;
}

async function runOne(shared: Shared, name: ScenarioName, label: string, seed: number): Promise<RunResult> {
  const rng = createChaosRng(seed).fork(label);
  const store = storeOf(name);
  const disk = store === 'sqlite-loop-disk' ? await createLoopDisk(48) : undefined;
  try {
    const setup: RunSetup = {
      cluster: shared.target,
      ...(store === 'postgres' ? { databaseUrl: await storeDatabase(shared, label) } : {}),
      ...(disk ? { dataDir: join(disk.dir, 'data') } : {}),
      // The issue's bound for a target that was down: revoked within 5 s of its return.
      revocationWithinBound: name === 'target-down',
    };
    const tools: FaultTools = { ...(shared.store ? { storeCluster: shared.store } : {}), ...(disk ? { disk } : {}) };
    return await chaosRun(name, label, rng, setup, scenarioDrive(name, tools));
  } finally {
    await disk?.remove();
  }
}

/** Runs `labels` through `work`, `concurrency` at a time. */
async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

export async function runChaos(plan: ChaosPlan, seed: number, target: PgCluster, log: (line: string) => void = console.log): Promise<ChaosReport> {
  const started = Date.now();
  const shared: Shared = { target };
  const results = new Map<ScenarioName, RunResult[]>();
  const record = (result: RunResult) => {
    const list = results.get(result.scenario as ScenarioName) ?? [];
    list.push(result);
    results.set(result.scenario as ScenarioName, list);
    const verdict = result.violations.length === 0 ? 'ok' : `${result.violations.length} violation(s)`;
    log(`chaos ${result.label}: ${verdict} in ${Math.round(result.durationMs / 1000)} s${result.notes.length > 0 ? ` (${result.notes.join('; ')})` : ''}`);
  };
  const kills = Array.from({ length: plan.kills }, (_, i) => ({ name: killPoints[i % killPoints.length]!, label: `k${i + 1}-${killPoints[i % killPoints.length]!}` }));
  const others = faults.flatMap((name) => Array.from({ length: plan.faultRuns }, (_, i) => ({ name, label: `f${i + 1}-${name}` })));
  const diskSkip = loopDiskAvailable() ? undefined : 'needs root, loop devices and mkfs.ext4';
  try {
    log(`chaos: seed ${seed}; ${plan.kills} kill -9 iterations (${plan.concurrency} at a time), ${plan.faultRuns} run(s) of each other fault; bound ${BOUND_MS} ms`);
    await inParallel(kills, plan.concurrency, async ({ name, label }) => record(await runOne(shared, name, label, seed)));
    for (const { name, label } of others) {
      if (!runsAlone(name)) throw new Error(`${name} is not a fault`);
      if (storeOf(name) === 'sqlite-loop-disk' && diskSkip !== undefined) continue;
      record(await runOne(shared, name, label, seed));
    }
  } finally {
    await shared.store?.stop();
  }
  const rows = [...killPoints, ...faults].map((name) =>
    summarise(name, results.get(name) ?? [], storeOf(name) === 'sqlite-loop-disk' ? diskSkip : undefined),
  );
  return { rows, table: formatTable(rows, seed, Date.now() - started) };
}
