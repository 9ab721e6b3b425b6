/**
 * The report's charts, rendered on the server as SVG strings by Apache ECharts (SSR, no DOM, no
 * animation), so the HTML file draws them with no script at all.
 */
import type * as EChartsModule from 'echarts/types/dist/echarts';
import type { EChartsOption } from 'echarts/types/dist/echarts';

/**
 * ECharts' package types do not resolve under NodeNext (its index.d.ts re-exports an
 * extensionless path), so the module is typed from its dist types and loaded on first use —
 * which also keeps it out of processes that never render HTML.
 */
type ECharts = typeof EChartsModule;
let loaded: Promise<ECharts> | undefined;
export const loadCharts = (): Promise<ECharts> => (loaded ??= import('echarts') as unknown as Promise<ECharts>);
import type { DurationStats, GovernanceFigures } from './governance-figures.js';

async function svg(option: EChartsOption, width = 640, height = 300): Promise<string> {
  const { init } = await loadCharts();
  const chart = init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: 'sans-serif' }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** Cases per account, stacked by condition: break-glass use should be rare. */
export function usageChart(figures: GovernanceFigures): Promise<string> {
  const accounts = figures.accounts.map((row) => row.account);
  const conditions = Object.keys(figures.byCondition).sort();
  return svg({
    title: { text: 'Cases per account, by condition', left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0, data: conditions },
    grid: { left: 48, right: 16, top: 40, bottom: 56 },
    xAxis: { type: 'category', data: accounts },
    yAxis: { type: 'value', minInterval: 1, name: 'cases' },
    series: conditions.map((condition) => ({
      name: condition,
      type: 'bar',
      stack: 'cases',
      barMaxWidth: 64,
      data: figures.accounts.map((row) => row.conditions[condition] ?? 0),
    })),
  });
}

const statSeries = (name: string, stats: DurationStats, per = 1) => ({
  name,
  type: 'bar' as const,
  data: [stats.p50, stats.p99, stats.max].map((s) => Math.round(((s ?? 0) / per) * 100) / 100),
  label: { show: true, position: 'top' as const },
});

/**
 * p50 / p99 / max of the access and revocation durations, in seconds. Certification latency
 * (hours to days) has its own chart: on one axis it would flatten these to nothing.
 */
export function durationsChart(figures: GovernanceFigures): Promise<string> {
  return svg({
    title: { text: 'Access and revocation (seconds): p50, p99, max', left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0 },
    grid: { left: 56, right: 16, top: 40, bottom: 56 },
    xAxis: { type: 'category', data: ['p50', 'p99', 'max'] },
    yAxis: { type: 'value', name: 'seconds' },
    series: [
      statSeries('time to access', figures.timeToAccess),
      statSeries('time to revoke', figures.timeToRevoke),
      statSeries('privilege valid after end', figures.privilegeValidAfterEnd),
    ],
  });
}

/** p50 / p99 / max of certification latency (case end → certified), in hours. */
export function certificationLatencyChart(figures: GovernanceFigures): Promise<string> {
  return svg({
    title: { text: 'Certification latency (hours): p50, p99, max', left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0 },
    grid: { left: 56, right: 16, top: 40, bottom: 56 },
    xAxis: { type: 'category', data: ['p50', 'p99', 'max'] },
    yAxis: { type: 'value', name: 'hours' },
    series: [statSeries('certification latency', figures.certification.latency, 3600)],
  });
}

/** Certified cases by answer, and cases still awaiting certification. */
export function certificationChart(figures: GovernanceFigures): Promise<string> {
  const c = figures.certification;
  return svg({
    title: { text: 'Certification', left: 'center', textStyle: { fontSize: 14 } },
    grid: { left: 140, right: 40, top: 40, bottom: 24 },
    xAxis: { type: 'value', minInterval: 1, name: 'cases' },
    yAxis: { type: 'category', inverse: true, data: ['awaiting', 'certified', 'necessary', 'scoped', 'removed'] },
    series: [{ type: 'bar', data: [c.awaiting, c.certified, c.necessary, c.scoped, c.removed], label: { show: true, position: 'right' } }],
  });
}
