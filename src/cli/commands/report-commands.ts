/** `report`: the governance report, as JSON figures, CSV (one row per account) or one HTML file. */
import { extname } from 'node:path';
import type { Command } from 'commander';
import { governanceReportSchema, reportFormats, type GovernanceReportView, type ReportFormat } from '../../api/index.js';
import { parseDuration } from '../../domain/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { writePrivateFile } from '../private-file.js';

const renderTimeoutMs = 2 * 60_000;

interface ReportOptions extends JsonOption, ServerOptions {
  readonly since: string;
  readonly format?: string;
  readonly out?: string;
}

/** `--format`, else the extension of `--out` (.html, .csv, .json), else JSON. */
function formatOf(options: ReportOptions): ReportFormat {
  const wanted = options.format ?? (options.out === undefined ? 'json' : extname(options.out).slice(1).toLowerCase() || 'json');
  if (!(reportFormats as readonly string[]).includes(wanted)) {
    throw new CliError(exitCodes.usage, `--format must be one of ${reportFormats.join(', ')} (got "${wanted}")`);
  }
  return wanted as ReportFormat;
}

function summary(report: GovernanceReportView): string {
  const valid = report.figures.privilegeValidAfterEnd;
  const share = valid.shareAbove60s === null ? 'no ended case' : `${(valid.shareAbove60s * 100).toFixed(1)} % of ${valid.count} cases`;
  return [
    `${report.figures.cases} cases since ${report.since}; privilege valid > 60 s after end: ${share}`,
    `certification: ${report.figures.certification.certified} certified, ${report.figures.certification.awaiting} awaiting, ${report.figures.overdue.length} overdue; misuse suspected: ${report.figures.misuseSuspected.length}`,
    `audit chain head: seq ${report.auditHead.seq} ${report.auditHead.hash}`,
  ].join('\n');
}

export function registerReportCommands(program: Command, ctx: CommandContext): void {
  const report = program
    .command('report')
    .description('the governance report: usage per account, time to access and revoke, privilege valid after end, certification, compliance mapping')
    .option('--since <duration>', 'cases created within this duration before now (e.g. 30d, 12h)', '90d')
    .option('--format <format>', `${reportFormats.join(' | ')} (default: from --out's extension, else json)`)
    .option('--out <file>', 'write the report to this file (mode 0600); without it, JSON goes to stdout');
  serverOptions(jsonOption(report));
  example(report, 'breakglass report --since 90d --format html --out governance.html', 'breakglass report --since 30d --format json | jq .figures.privilegeValidAfterEnd');
  report.action(async (options: ReportOptions) => {
    if (parseDuration(options.since) === undefined) throw new CliError(exitCodes.usage, `--since must be a duration such as 30d or 12h (got "${options.since}")`);
    const format = formatOf(options);
    const out = ctx.output(options);
    const client = ctx.client(options, out);
    const path = `/v1/reports/governance?since=${encodeURIComponent(options.since)}&format=${format}`;
    if (options.out === undefined) {
      if (format !== 'json') throw new CliError(exitCodes.usage, `--format ${format} needs --out FILE`);
      // The figures are the result whatever the mode: print them as JSON.
      return ctx.output({ json: true }).result(await client.get(path, governanceReportSchema), () => '');
    }
    const file = options.out;
    if (format === 'json') {
      const figures = await client.get(path, governanceReportSchema);
      await writePrivateFile(file, async (handle) => void (await handle.write(`${JSON.stringify(figures, null, 2)}\n`)));
      return out.result({ file, format, auditHead: figures.auditHead }, () => `wrote ${file} (json)\n${summary(figures)}`);
    }
    const body = await (await client.download(path, renderTimeoutMs)).text();
    await writePrivateFile(file, async (handle) => void (await handle.write(body)));
    out.result({ file, format, bytes: Buffer.byteLength(body) }, () => `wrote ${file} (${format}, ${Buffer.byteLength(body)} bytes)`);
  });
}
