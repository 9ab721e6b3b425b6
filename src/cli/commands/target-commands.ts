/** `target check`: can Breakglass reach a target, and prove rotations on it? */
import type { Command } from 'commander';
import { targetCheckResponseSchema } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { ExitWith, exitCodes } from '../exit-codes.js';
import { formatTable } from '../output.js';

export function registerTargetCommands(program: Command, ctx: CommandContext): void {
  const target = program.command('target').description('targets of the catalog');
  example(target, 'breakglass target check prod-pg');
  const check = target
    .command('check')
    .description('reach a target with its stored admin secret and check, for every pre-staged account on it, that it rejects a wrong password (else no rotation can be proven); exits 1 when not')
    .argument('<name>', 'the target, as named in the catalog');
  serverOptions(jsonOption(check));
  example(check, 'breakglass target check prod-pg', 'breakglass target check prod-pg --json');
  check.action(async (name: string, options: JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const result = await ctx.client(options, out).post(`/v1/targets/${encodeURIComponent(name)}/check`, targetCheckResponseSchema);
    out.result(result, () => {
      if (!result.reachable) return `${out.style.red('unreachable')}: ${result.error ?? ''}`;
      if (result.accounts.length === 0) return `target ${result.target} is reachable; it has no pre-staged accounts`;
      const rows = result.accounts.map((a) => [a.account, a.principal, a.verifiable ? out.style.green('verifiable') : out.style.red('unverifiable'), a.error ?? '']);
      return [`target ${result.target} is reachable`, '', formatTable(['ACCOUNT', 'LOGIN', 'ROTATION', 'WHY'], rows, out.style)].join('\n');
    });
    if (!result.reachable || result.accounts.some((a) => !a.verifiable)) throw new ExitWith(exitCodes.error);
  });
}
