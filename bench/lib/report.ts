import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from './stats.js';
import type { Metric } from './metrics.js';

/**
 * One measured figure. Every product figure names the baseline it is compared with; the ratio
 * is always "times the baseline's cost" (time per operation, or per event for throughput), so
 * 1.0 means "as fast as the irreducible work" and bigger means slower, whatever the unit.
 */
export interface Figure {
  /** Stable key, e.g. `invoke.credential`; JSON consumers rely on it. */
  readonly id: string;
  readonly section: string;
  readonly label: string;
  readonly role: 'product' | 'baseline';
  /** Milliseconds per operation (request, append, insert, or whole verify run). */
  readonly latency: Summary;
  /** Operations (events, rows) per second, for throughput figures. */
  readonly ratePerS?: number;
  /**
   * MiB. peakHeapGrowthMb: highest heapUsed over a post-GC start, garbage included (upper
   * bound); liveHeapGrowthMb: what the work holds, measured after a full GC; peakRssMb: peak
   * resident set of the whole bench process so far.
   */
  readonly memory?: { readonly peakHeapGrowthMb?: number; readonly liveHeapGrowthMb?: number; readonly peakRssMb?: number };
  /** Id of the figure this one is compared with. */
  readonly baseline?: string;
  /** Anything else worth keeping in the JSON (not printed). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface Skipped {
  readonly section: string;
  readonly reason: string;
}

export interface BenchResults {
  readonly schema: 'breakglass-bench/1';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly machine: Readonly<Record<string, unknown>>;
  readonly config: Readonly<Record<string, unknown>>;
  // issue 13 (bench): the issue's table, each figure against its same-run baseline (lib/metrics.ts).
  readonly mode: string;
  readonly metrics: readonly Metric[];
  readonly figures: readonly (Figure & { readonly ratio?: number })[];
  readonly skipped: readonly Skipped[];
}

/** Cost of `figure` in units of its baseline's cost (see {@link Figure}). */
export function ratioOf(figure: Figure, all: readonly Figure[]): number | undefined {
  const base = all.find((f) => f.id === figure.baseline);
  if (base === undefined) return undefined;
  if (figure.ratePerS !== undefined && base.ratePerS !== undefined) return base.ratePerS / figure.ratePerS;
  return figure.latency.p50 / base.latency.p50;
}

export function withRatios(figures: readonly Figure[]): (Figure & { ratio?: number })[] {
  return figures.map((figure) => {
    const ratio = ratioOf(figure, figures);
    return ratio === undefined ? figure : { ...figure, ratio };
  });
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value < 1) return value.toFixed(3);
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

const rate = (value: number | undefined) => (value === undefined ? '' : Math.round(value).toLocaleString('en-US'));

function memory(figure: Figure): string {
  const parts: string[] = [];
  if (figure.memory?.peakHeapGrowthMb !== undefined) parts.push(`heap +${figure.memory.peakHeapGrowthMb.toFixed(1)}`);
  if (figure.memory?.liveHeapGrowthMb !== undefined) parts.push(`live +${figure.memory.liveHeapGrowthMb.toFixed(1)}`);
  if (figure.memory?.peakRssMb !== undefined) parts.push(`rss ${figure.memory.peakRssMb.toFixed(0)}`);
  return parts.join(' / ');
}

/** The figures as a Markdown table (readable in a terminal, pasteable into a README). */
export function renderTable(figures: readonly (Figure & { ratio?: number })[]): string {
  const header = ['figure', 'n', 'p50 ms', 'p95 ms', 'p99 ms', 'rate/s', 'memory MiB', 'vs baseline', '× baseline'];
  const rows = figures.map((f) => [
    `${f.role === 'baseline' ? '(base) ' : ''}${f.label}`,
    String(f.latency.n),
    ms(f.latency.p50),
    ms(f.latency.p95),
    ms(f.latency.p99),
    rate(f.ratePerS),
    memory(f),
    f.baseline ?? '',
    f.ratio === undefined ? '' : f.ratio.toFixed(f.ratio < 10 ? 2 : 1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([1, 2, 3, 4, 5, 8]);
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The project root: the nearest ancestor of this file holding tsconfig.bench.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'tsconfig.bench.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (tsconfig.bench.json)');
    dir = parent;
  }
}

/**
 * Writes bench/results/latest.json and a timestamped copy beside it (bench/results/ is
 * gitignored), and returns the path of latest.json.
 */
export function writeResults(results: BenchResults): string {
  const dir = join(projectRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const latest = join(dir, 'latest.json');
  writeFileSync(latest, text);
  writeFileSync(join(dir, `${results.startedAt.replace(/[:.]/g, '-')}.json`), text);
  return latest;
}
