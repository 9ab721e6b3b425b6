/** `drift scan`, `drift list` and `drift ack`: what the targets show that no live case explains. */
import type { Command } from 'commander';
import { driftAckResponseSchema, driftFindingsResponseSchema, driftScanResponseSchema, type DriftFindingJson } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { formatTable, inert, type Style } from '../output.js';

type Options = JsonOption & ServerOptions;

function findingTable(findings: readonly DriftFindingJson[], style: Style): string {
  const rows = findings.map((f) => [
    f.id,
    inert(f.account),
    f.resolvedAt === undefined ? style.red(inert(f.kind)) : style.green(`${inert(f.kind)} (resolved ${f.resolvedAt})`),
    f.firstSeen,
    f.lastSeen,
    f.ackedBy === undefined ? '' : `${inert(f.ackedBy)}: ${inert(f.ackedReason ?? '')}`,
    inert(f.detail),
  ]);
  return formatTable(['ID', 'ACCOUNT', 'KIND', 'FIRST SEEN', 'LAST SEEN', 'ACKED', 'DETAIL'], rows, style);
}

function registerScan(drift: Command, ctx: CommandContext): void {
  const scan = drift
    .command('scan')
    .description('inspect every target now (pre-staged accounts, and the ephemeral credentials of ended cases) and print the open findings; accounts with autoRemediate: true are fixed and verified');
  serverOptions(jsonOption(scan));
  example(scan, 'breakglass drift scan', "breakglass drift scan --json | jq -r '.findings[] | \"\\(.account) \\(.kind)\"'");
  scan.action(async (_options: Options, command: Command) => {
    const options = command.optsWithGlobals<Options>();
    const out = ctx.output(options);
    const result = await ctx.client(options, out).post('/v1/drift/scan', driftScanResponseSchema, {});
    out.result(result, () => {
      const found = result.findings.length === 0 ? out.style.green('no drift: every target is as Breakglass left it') : findingTable(result.findings, out.style);
      const skipped = result.errors.map((e) => `${out.style.yellow('not inspected')}: ${inert(e.account)}: ${inert(e.error)}`);
      return [found, ...skipped].join('\n');
    });
  });
}

function registerList(drift: Command, ctx: CommandContext): void {
  const list = drift.command('list').description('list drift findings: open ones first, then the most recently resolved (admins and auditors)').option('--limit <n>', 'at most this many (default 200)');
  serverOptions(jsonOption(list));
  example(list, 'breakglass drift list', 'breakglass drift list --json --limit 50');
  list.action(async (_options: Options, command: Command) => {
    const options = command.optsWithGlobals<Options & { limit?: string }>();
    const out = ctx.output(options);
    const query = options.limit === undefined ? '' : `?limit=${encodeURIComponent(options.limit)}`;
    const result = await ctx.client(options, out).get(`/v1/drift/findings${query}`, driftFindingsResponseSchema);
    out.result(result, () => (result.findings.length === 0 ? 'no drift findings' : findingTable(result.findings, out.style)));
  });
}

function registerAck(drift: Command, ctx: CommandContext): void {
  const ack = drift
    .command('ack')
    .description('acknowledge a drift finding with a reason (admins; audited as drift.acknowledged); it stays open until a scan no longer sees it')
    .argument('<id>', 'the finding (drf_…), from `breakglass drift list`')
    .requiredOption('--reason <text>', 'why it is known or acceptable; kept in the audit chain');
  serverOptions(jsonOption(ack));
  example(ack, 'breakglass drift ack drf_3f2b9c1e-8d4a-4e55-9a7b-2c6d1e0f4a11 --reason "DBA test window, CHG-12"');
  ack.action(async (id: string, _options: Options, command: Command) => {
    const options = command.optsWithGlobals<Options & { reason: string }>();
    const out = ctx.output(options);
    const finding = await ctx.client(options, out).post(`/v1/drift/findings/${encodeURIComponent(id)}/ack`, driftAckResponseSchema, { reason: options.reason });
    out.result(finding, () => `${inert(finding.id)} (${inert(finding.kind)} on ${inert(finding.account)}) ${out.style.green('acknowledged')} by ${inert(finding.ackedBy ?? '')}`);
  });
}

export function registerDriftCommands(program: Command, ctx: CommandContext): void {
  const drift = program.command('drift').description('drift detection: what the targets show that no live case explains');
  example(drift, 'breakglass drift scan', 'breakglass drift list');
  registerScan(drift, ctx);
  registerList(drift, ctx);
  registerAck(drift, ctx);
}
