/** `drill run`: run the real path of a case on one account now, and show the evidence. */
import type { Command } from 'commander';
import { drillResponseSchema, type DrillView } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { ExitWith, exitCodes } from '../exit-codes.js';
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
    // The steps run on the server in one request; say what is under way (stderr, human mode only),
    // with the time it has taken so far on a terminal.
    if (!out.json) out.note(`drilling ${account}: invoke → login → expire → verify-revoked → rotate → verify-rotated …`);
    const ticking = !out.json && (ctx.deps.stderrIsTTY ?? process.stderr.isTTY === true);
    const started = Date.now();
    const ticker = ticking ? setInterval(() => ctx.deps.stderr(`\r\x1b[K  … ${Math.round((Date.now() - started) / 1000)} s`), 1_000) : undefined;
    const body = options.withQuorum === true ? { withQuorum: true } : {};
    let result: DrillView;
    try {
      result = await ctx.client(options, out).post(`/v1/accounts/${encodeURIComponent(account)}/drill`, drillResponseSchema, body);
    } finally {
      if (ticker) {
        clearInterval(ticker);
        ctx.deps.stderr('\r\x1b[K');
      }
    }
    out.result(result, () => drillText(result, out));
    if (result.result !== 'passed') throw new ExitWith(exitCodes.error);
  });
}

function drillText(result: DrillView, out: Output): string {
  const verdict = result.result === 'passed' ? out.style.green('passed') : out.style.red('FAILED');
  const colour = (r: string) => (r === 'passed' ? out.style.green(r) : r === 'failed' ? out.style.red(r) : r);
  const rows = result.steps.map((s) => [s.name, colour(s.result), `${s.ms} ms`, s.detail ?? '']);
  const grant = result.grant === undefined ? '' : ` (grant ${result.grant})`;
  return [`drill of ${result.account}${grant}: ${verdict}`, '', formatTable(['STEP', 'RESULT', 'TIME', 'WHY'], rows, out.style)].join('\n');
}
