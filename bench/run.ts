/**
 * `npm run bench`: the speed and memory figures of Breakglass, each beside a baseline measured
 * in the same run on the same machine. Prints a table and writes bench/results/latest.json.
 * Bounded: fixed sample counts, a time budget per section, loopback only. See bench/README.md.
 *
 * @example
 *   npm run bench                      # everything, under 10 minutes
 *   npm run bench -- --quick           # smaller samples, under 2 minutes
 *   npm run bench -- --only burst,http # some sections: case, audit, batch, alerts, burst, http
 */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { ensureBuildLayout } from './lib/build-layout.js';
import { peakRssMb, serveNodeOptions } from './lib/memory.js';
import { issueMetrics, renderMetrics, type Problems } from './lib/metrics.js';
import { renderTable, withRatios, writeResults, type Figure, type Skipped } from './lib/report.js';
import type { BurstResult } from './burst-expiry.js';
import { deadlineIn } from './lib/stats.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a, i) => a.startsWith('--only=') || args[i - 1] === '--only');
const only = onlyArg === undefined ? undefined : new Set(onlyArg.replace(/^--only=/, '').split(','));
// issue 13 (http): 'http' runs bench 7 alone; the full run measures it in 'burst', on the loaded server.
const sections = ['case', 'audit', 'batch', 'alerts', 'burst', 'http'] as const;
const runs = (section: (typeof sections)[number]) => (only === undefined ? !(quick && section === 'alerts') && section !== 'http' : only.has(section));

const full = {
  case: { accounts: 20, warmup: 3, perRound: 30, pollMs: 10, revocationTimeoutMs: 15_000, budgetMs: 40_000 },
  audit: { events: 5_000, block: 250, verifyRuns: 10, sqliteBudgetMs: 20_000, postgresBudgetMs: 20_000 },
  // issue 13 (bench)
  batch: { batch: 100, batches: 50, budgetMs: 20_000 },
  alerts: { activations: 200, warmup: 10, budgetMs: 30_000 },
  // issue 13 (bench): bursts of expiries on a loaded server (a child process), then reads and its RSS.
  burst: {
    auditEvents: 1_000_000,
    // The last: 1,000 expiring among 100,000 active (issue 13: lag flat from 10,000 to 100,000).
    bursts: [{ n: 100, background: 0 }, { n: 1_000, background: 10_000 }, { n: 1_000, background: 100_000, seedInStore: true }],
    concurrency: 4,
    accounts: 8,
    pollMs: 20,
    settleTimeoutMs: 90_000,
    throughput: { connections: 10, roundSeconds: 5, rounds: 3 },
    budgetMs: 390_000,
    reserveMs: 150_000,
    // issue 13 (rss): the server child runs with the V8 settings the README gives for `serve`.
    serverNodeOptions: process.env['BENCH_SERVER_NODE_OPTIONS'] ?? serveNodeOptions,
  },
  // issue 13 (http): bench 7 on a server of its own with a few grants.
  http: { grants: 3, connections: 10, roundSeconds: 5, rounds: 3 },
};
const quickConfig: typeof full = {
  case: { ...full.case, accounts: 6, warmup: 2, perRound: 8, budgetMs: 25_000 },
  audit: { ...full.audit, events: 1_000, verifyRuns: 3, sqliteBudgetMs: 5_000, postgresBudgetMs: 5_000 },
  batch: { batch: 100, batches: 10, budgetMs: 5_000 },
  alerts: { ...full.alerts, activations: 30, budgetMs: 15_000 },
  burst: {
    ...full.burst,
    auditEvents: 20_000,
    bursts: [{ n: 50, background: 0 }, { n: 100, background: 300 }, { n: 100, background: 3_000, seedInStore: true }],
    settleTimeoutMs: 20_000,
    throughput: { connections: 10, roundSeconds: 2, rounds: 2 },
    budgetMs: 80_000,
    reserveMs: 35_000,
  },
  http: { grants: 3, connections: 10, roundSeconds: 2, rounds: 2 },
};
const config = quick ? quickConfig : full;

const started = performance.now();
const progress = (message: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);

function commit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  ensureBuildLayout();
  // Imported after the build layout is in place: the server reads package.json when loaded.
  const { caseLatencyBench } = await import('./case-latency.js');
  const { auditBench } = await import('./audit-bench.js');
  const { alertLatencyBench } = await import('./alert-latency.js');
  const { batchAppendBench } = await import('./batch-append.js');
  const { burstExpiryBench } = await import('./burst-expiry.js');
  const startedAt = new Date();
  const loadStart = loadavg();
  const figures: Figure[] = [];
  const skipped: Skipped[] = [];
  const environment: Record<string, unknown> = {};

  const problems: Record<string, string> = {};
  let bursts: readonly BurstResult[] = [];
  // A section that fails is reported as not measured, never a crash of the run (load, a missing binary).
  const section = async (key: (typeof sections)[number], title: string, work: () => Promise<void>) => {
    if (!runs(key)) return;
    progress(title);
    try {
      await work();
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      problems[key] = why;
      skipped.push({ section: title, reason: why });
      progress(`${title}: not measured: ${why}`);
    }
  };

  await section('case', 'benches 1-2: invoke → credential, revocation', async () => {
    const cases = await caseLatencyBench({ ...config.case, deadline: deadlineIn(config.case.budgetMs), progress });
    figures.push(...cases.figures);
    Object.assign(environment, cases.environment);
  });

  await section('audit', 'benches 3-4: audit append and verify', async () => {
    const audit = await auditBench({
      ...config.audit,
      appendDeadline: (store) => deadlineIn(store === 'sqlite' ? config.audit.sqliteBudgetMs : config.audit.postgresBudgetMs),
      progress,
    });
    figures.push(...audit.figures);
    skipped.push(...audit.skipped);
  });

  // issue 13 (bench)
  await section('batch', 'bench 3b: audit appends in batches of 100', async () => {
    figures.push(...(await batchAppendBench({ ...config.batch, deadline: deadlineIn(config.batch.budgetMs), progress })));
  });

  await section('alerts', 'bench 5: activation → webhook receiver', async () => {
    const alerts = await alertLatencyBench({ ...config.alerts, deadline: deadlineIn(config.alerts.budgetMs), progress });
    figures.push(...alerts.figures);
  });

  // issue 13 (bench)
  await section('burst', 'benches 6-8: burst expiry on a loaded server (child process), authenticated reads, server RSS', async () => {
    const burst = await burstExpiryBench({ ...config.burst, deadline: deadlineIn(config.burst.budgetMs), progress });
    figures.push(...burst.figures);
    bursts = burst.bursts;
    Object.assign(problems, burst.problems);
  });

  // issue 13 (http)
  await section('http', 'bench 7 alone: authenticated reads vs the bare route (server child, a few grants)', async () => {
    const { httpReadBench } = await import('./http-throughput.js');
    figures.push(...(await httpReadBench({ ...config.http, progress })));
  });

  const finishedAt = new Date();
  const withRatio = withRatios(figures);
  // issue 13 (http): without the http section, bench 7 is the burst section's (its problems are http's).
  for (const key of sections) if (!runs(key) && !(key === 'http' && runs('burst'))) problems[key] ??= `section "${key}" not run (${only === undefined ? 'not part of --quick' : 'not in --only'})`;
  const metrics = issueMetrics(figures, bursts, problems as Problems);
  const path = writeResults({
    schema: 'breakglass-bench/1',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    mode: quick ? 'quick' : only === undefined ? 'full' : `only ${[...only].join(',')}`,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      totalMemMb: Math.round(totalmem() / 2 ** 20),
      freeMemMbAtEnd: Math.round(freemem() / 2 ** 20),
      loadavgAtStart: loadStart,
      loadavgAtEnd: loadavg(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      peakRssMb: peakRssMb(),
      commit: commit(),
      ...environment,
    },
    config,
    metrics,
    figures: withRatio,
    skipped,
  });

  console.log(`\nBreakglass bench, ${startedAt.toISOString()}, ${cpus().length} CPUs, node ${process.version}, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);
  console.log('ratio = cost per operation (or per event) in units of the baseline\'s; 1.0 = as fast as the baseline\n');
  console.log(renderTable(withRatio));
  console.log(`\nIssue 13 goals (${quick ? 'quick mode: smaller N, see config' : 'full run'}):\n`);
  console.log(renderMetrics(metrics));
  for (const skip of skipped) console.log(`\nSKIPPED ${skip.section}: ${skip.reason}`);
  console.log(`\nwritten to ${path} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

try {
  await main();
} catch (error) {
  console.error('bench failed:', error);
  process.exitCode = 1;
}
// Stop by itself even if a driver left a handle open (pools with idle timers, sockets).
process.exit();
