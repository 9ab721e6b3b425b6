/** `ssh ca`: the public key of a Breakglass SSH certificate authority, for sshd's TrustedUserCAKeys. */
import type { Command } from 'commander';
import { sshCaResponseSchema } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';

export function registerSshCommands(program: Command, ctx: CommandContext): void {
  const ssh = program.command('ssh').description('SSH certificate authority');
  example(ssh, 'breakglass ssh ca > /etc/ssh/breakglass_ca.pub');
  const ca = ssh
    .command('ca')
    .description('print the public key of the SSH CA of a target (put it in sshd TrustedUserCAKeys)')
    .argument('[target]', 'the ssh target (default: the only one)');
  serverOptions(jsonOption(ca));
  example(ca, 'breakglass ssh ca', 'breakglass ssh ca hosts >> /etc/ssh/breakglass_ca.pub');
  ca.action(async (target: string | undefined, options: JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const query = target === undefined ? '' : `?target=${encodeURIComponent(target)}`;
    const result = await ctx.client(options, out).get(`/v1/ssh/ca${query}`, sshCaResponseSchema);
    out.result(result, () => result.caPublicKey);
  });
}
