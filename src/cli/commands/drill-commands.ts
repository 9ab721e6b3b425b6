/** `drill run`: run the real path of a case on one account now, and show the evidence. */
import type { Command } from 'commander';
import { drillProgressSchema, drillResponseSchema, tolerant, type DrillProgress, type DrillView } from '../../api/index.js';
import { formatIssues } from '../../config/catalog-file.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { CliError, ExitWith, exitCodeForError, exitCodes } from '../exit-codes.js';
import { formatTable, type Output } from '../output.js';

export function registerDrillCommands(program: Command, ctx: CommandContext): void {
  const drill = program.command('drill').description('drills: prove the break-glass path works before it is needed');
  example(drill, 'breakglass drill run db-breakglass');
  const run = drill
    .command('run')
    .description(
      'run a drill on an account now: invoke (a grant marked drill, never an incident), log in on the target, end the grant, verify the credential rejected and no session left, rotate, verify the old secret rejected and the new one accepted; exits 0 only when every step passed',
    )
    .argument('<account>', 'the account, as named in the catalog')
    .option('--with-quorum', 'drill the custodian quorum of a dual-control account too: waits until k custodians present their shares (breakglass share submit); without it the drill sets a secret of its own and the quorum is "not drilled"');
  serverOptions(jsonOption(run));
  example(run, 'breakglass drill run db-breakglass', 'breakglass drill run db-breakglass --json | jq -r .result');
  run.action(async (account: string, options: JsonOption & ServerOptions & { withQuorum?: boolean }) => {
    const out = ctx.output(options);
    // The steps run on the server; it tells of each as it ends (JSON Lines), shown on stderr in
    // human mode, with the time taken so far while a step runs on a terminal.
    if (!out.json) out.note(`drilling ${account}: invoke → login → expire → verify-revoked → rotate → verify-rotated …`);
    const ticking = !out.json && (ctx.deps.stderrIsTTY ?? process.stderr.isTTY === true);
    let since = Date.now();
    const ticker = ticking ? setInterval(() => ctx.deps.stderr(`\r\x1b[K  … ${Math.round((Date.now() - since) / 1000)} s`), 1_000) : undefined;
    const say = (line: string) => {
      if (out.json) return;
      ctx.deps.stderr(`${ticking ? '\r\x1b[K' : ''}${line}\n`);
      since = Date.now();
    };
    const body = options.withQuorum === true ? { withQuorum: true } : {};
    let result: DrillView | undefined;
    try {
      // A quorum drill waits for people; the server ends the wait with the quorum window.
      const limitMs = options.withQuorum === true ? 6 * 3_600_000 : 30 * 60_000;
      await ctx.client(options, out).progress(`/v1/accounts/${encodeURIComponent(account)}/drill`, body, limitMs, (line) => {
        const event = progressEvent(line);
        if (event.event === 'step') say(stepLine(event.step, out));
        else if (event.event === 'waiting') say(waitingLine(event));
        else if (event.event === 'result') result = event.report;
        else throw new CliError(exitCodeForError(event.error.code), `the drill broke off: ${event.error.message}`, { hint: 'see `breakglass grants --json` for the drill grant and the server log' });
      });
    } finally {
      if (ticker) {
        clearInterval(ticker);
        ctx.deps.stderr('\r\x1b[K');
      }
    }
    if (result === undefined) throw new CliError(exitCodes.error, 'the server ended the drill\'s answer without a result', { hint: 'see `breakglass audit` for drill.passed or drill.failed' });
    const report = result;
    out.result(report, () => drillText(report, out));
    if (report.result !== 'passed') throw new ExitWith(exitCodes.error);
  });
}

/** One line of progress, or a plain answer (an older server, or no streaming): the report itself. */
function progressEvent(line: unknown): DrillProgress {
  const event = tolerant(drillProgressSchema).safeParse(line);
  if (event.success) return event.data;
  const report = tolerant(drillResponseSchema).safeParse(line);
  if (report.success) return { event: 'result', report: report.data };
  throw new CliError(exitCodes.error, `unexpected answer from the drill: ${formatIssues(event.error).join('; ')}`);
}

function stepLine(step: DrillView['steps'][number], out: Output): string {
  const mark = step.result === 'passed' ? out.style.green('✓') : step.result === 'failed' ? out.style.red('✗') : '–';
  const why = step.detail === undefined ? '' : `  ${step.detail}`;
  return `  ${mark} ${step.name.padEnd(14)} ${step.result === 'skipped' ? 'skipped' : `${step.ms} ms`}${why}`;
}

function waitingLine(w: Extract<DrillProgress, { event: 'waiting' }>): string {
  return `  … waiting for custodians: ${w.presented} of ${w.threshold} shares for grant ${w.grant} (each runs \`breakglass share submit ${w.grant}\`); the window ends at ${w.expiresAt}`;
}

function drillText(result: DrillView, out: Output): string {
  const verdict = result.result === 'passed' ? out.style.green('passed') : out.style.red('FAILED');
  const colour = (r: string) => (r === 'passed' ? out.style.green(r) : r === 'failed' ? out.style.red(r) : r);
  const rows = result.steps.map((s) => [s.name, colour(s.result), `${s.ms} ms`, s.detail ?? '']);
  const grant = result.grant === undefined ? '' : ` (grant ${result.grant})`;
  const quorum =
    result.quorum === 'drilled'
      ? [`custodian quorum drilled: shares presented by ${(result.custodians ?? []).join(', ')}`]
      : result.quorum === 'not drilled'
        ? ['custodian quorum not drilled (dual control): run with --with-quorum to drill it with the custodians']
        : [];
  return [`drill of ${result.account}${grant}: ${verdict}`, ...quorum, '', formatTable(['STEP', 'RESULT', 'TIME', 'WHY'], rows, out.style)].join('\n');
}
