/**
 * `npm run bench`: the speed and memory figures of Breakglass, each beside a baseline measured
 * in the same run on the same machine. Prints a table and writes bench/results/latest.json.
 * Bounded: fixed sample counts, a time budget per section, loopback only. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { ensureBuildLayout } from './lib/build-layout.js';
import { peakRssMb } from './lib/memory.js';
import { renderTable, withRatios, writeResults, type Figure, type Skipped } from './lib/report.js';
import { deadlineIn } from './lib/stats.js';

const config = {
  case: { accounts: 20, warmup: 3, perRound: 30, pollMs: 10, revocationTimeoutMs: 15_000, budgetMs: 50_000 },
  audit: { events: 5_000, block: 250, verifyRuns: 10, sqliteBudgetMs: 25_000, postgresBudgetMs: 25_000 },
  alerts: { activations: 200, warmup: 10, budgetMs: 90_000 },
} as const;

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
  const startedAt = new Date();
  const loadStart = loadavg();
  const figures: Figure[] = [];
  const skipped: Skipped[] = [];
  const environment: Record<string, unknown> = {};

  progress('benches 1-2: invoke → credential, revocation');
  const cases = await caseLatencyBench({ ...config.case, deadline: deadlineIn(config.case.budgetMs), progress });
  figures.push(...cases.figures);
  Object.assign(environment, cases.environment);

  progress('benches 3-4: audit append and verify');
  const audit = await auditBench({
    ...config.audit,
    appendDeadline: (store) => deadlineIn(store === 'sqlite' ? config.audit.sqliteBudgetMs : config.audit.postgresBudgetMs),
    progress,
  });
  figures.push(...audit.figures);
  skipped.push(...audit.skipped);

  progress('bench 5: activation → webhook receiver');
  const alerts = await alertLatencyBench({ ...config.alerts, deadline: deadlineIn(config.alerts.budgetMs), progress });
  figures.push(...alerts.figures);

  const finishedAt = new Date();
  const withRatio = withRatios(figures);
  const path = writeResults({
    schema: 'breakglass-bench/1',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
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
    figures: withRatio,
    skipped,
  });

  console.log(`\nBreakglass bench, ${startedAt.toISOString()}, ${cpus().length} CPUs, node ${process.version}, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);
  console.log('ratio = cost per operation (or per event) in units of the baseline\'s; 1.0 = as fast as the baseline\n');
  console.log(renderTable(withRatio));
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
