/** Issue 11 (H1): `approve` and `deny` (an approver of the policy), and the escalation behind `invoke --escalate`. */
import type { Command } from 'commander';
import { grantsResponseSchema, grantViewSchema, whoamiResponseSchema, type GrantView } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { CliError, ExitWith, exitCodes } from '../exit-codes.js';
import { grantDetails, grantTable, withNextSteps } from '../grant-format.js';
import type { Output } from '../output.js';

type Options = JsonOption & ServerOptions;

const grantPath = (id: string, action: string) => `/v1/grants/${encodeURIComponent(id)}/${action}`;

function printGrant(out: Output, grant: GrantView, headline: string): void {
  out.result(grant, () => withNextSteps(`${headline}\n\n${grantDetails(grant, out.style)}`, grant));
  if (grant.state === 'failed') {
    out.note(`error: activation failed${grant.failure === undefined ? '' : `: ${grant.failure}`}`);
    throw new ExitWith(exitCodes.error);
  }
}

export function registerApprovalCommands(program: Command, ctx: CommandContext): void {
  registerPending(program, ctx);
  for (const [name, verb, description] of [
    ['approve', 'approve', 'approve a grant awaiting approval (an approver its policy names; never your own); at the k-th approval it goes on to activation'],
    ['deny', 'deny', 'deny a grant awaiting approval: one deny ends it (nothing was enabled)'],
  ] as const) {
    const command = program
      .command(name)
      .description(description)
      .argument('<grant-id>', 'the grant awaiting approval')
      .requiredOption('--note <text>', `why you ${verb} it (goes into the audit trail)`);
    serverOptions(jsonOption(command));
    example(
      command,
      name === 'approve' ? 'breakglass approve gr_01J9ZB6D4N2M --note "confirmed with the on-call lead"' : 'breakglass deny gr_01J9ZB6D4N2M --note "not an outage; use the normal path"',
      `breakglass ${name} gr_01J9ZB6D4N2M --note "..." --json`,
    );
    command.action(async (id: string, options: Options & { note: string }) => {
      const out = ctx.output(options);
      const grant = await ctx.client(options, out).post(grantPath(id, name), grantViewSchema, { note: options.note });
      printGrant(out, grant, `grant ${grant.id} on ${grant.account} is ${out.style.state(grant.state)}`);
    });
  }
}

/** `approvals`: what waits for you to approve or deny. */
function registerPending(program: Command, ctx: CommandContext): void {
  const command = program.command('approvals').description('list the requests waiting for you: grants awaiting approval that their policy lets you approve, oldest first');
  serverOptions(jsonOption(command));
  example(command, 'breakglass approvals', "breakglass approvals --json | jq -r '.grants[].id'");
  command.action(async (options: Options) => {
    const out = ctx.output(options);
    const { grants } = await ctx.client(options, out).get('/v1/approvals', grantsResponseSchema);
    out.result({ grants }, () =>
      grants.length === 0
        ? 'nothing waits for your approval'
        : `${grantTable(grants, out.style)}\n\nnext: breakglass approve ID --note TEXT, or breakglass deny ID --note TEXT (see the reason with: breakglass grant show ID)`,
    );
  });
}

/**
 * `invoke ACCOUNT … --escalate --reason2 TEXT`: takes over the caller's own grant waiting for
 * approval on that account (never opens a second one) and escalates it on the server.
 */
export async function escalateInvocation(ctx: CommandContext, options: Options & { reason2?: string }, account: string): Promise<void> {
  const out = ctx.output(options);
  if (options.reason2 === undefined || options.reason2.trim() === '') {
    throw new CliError(exitCodes.usage, '--escalate needs --reason2 TEXT: a second justification for going past the approvers', {
      hint: 'breakglass invoke ACCOUNT … --escalate --reason2 "approvers unreachable, primary still down"',
    });
  }
  const client = ctx.client(options, out);
  const me = await client.get('/v1/whoami', whoamiResponseSchema);
  const { grants } = await client.get('/v1/grants?state=awaiting-approval', grantsResponseSchema);
  const waiting = grants.find((g) => g.account === account && g.requester === me.user);
  if (waiting === undefined) {
    throw new CliError(exitCodes.notFound, `you have no grant awaiting approval on "${account}"`, {
      hint: `invoke it first (without --escalate); see \`breakglass grants --state awaiting-approval\``,
    });
  }
  const grant = await client.post(grantPath(waiting.id, 'escalate'), grantViewSchema, { reason2: options.reason2 });
  printGrant(out, grant, `grant ${grant.id} on ${grant.account} was escalated and is ${out.style.state(grant.state)} until ${grant.expiresAt}`);
}
