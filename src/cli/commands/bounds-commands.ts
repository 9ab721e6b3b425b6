/** Issue 11 (H2): bounds while active and repeated use — `extend`, `join`, `incident close`. */
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../../domain/index.js';
import { grantViewSchema, incidentCloseResponseSchema, joinResponseSchema } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { grantDetails } from '../grant-format.js';

type Options = JsonOption & ServerOptions;

const grantPath = (id: string, action: string) => `/v1/grants/${encodeURIComponent(id)}/${action}`;

function parseBy(value: string): string {
  if (parseDuration(value) === undefined) throw new InvalidArgumentError('use a duration such as 10m or 1h.');
  return value;
}

function registerExtend(program: Command, ctx: CommandContext): void {
  const extend = program
    .command('extend')
    .description("extend your active grant, within the policy's maxExtensions and maxTotal; the expiry on the target moves too")
    .argument('<grant-id>', 'the active grant to extend')
    .requiredOption('--by <duration>', 'how much longer, e.g. 15m (at most the policy maxTtl at a time)', parseBy)
    .requiredOption('--reason <text>', 'why more time is needed (goes into the audit trail)');
  serverOptions(jsonOption(extend));
  example(extend, 'breakglass extend gr_01J9ZB6D4N2M --by 15m --reason "restore still running"', 'breakglass extend gr_01J9ZB6D4N2M --by 10m --reason "replica catching up" --json');
  extend.action(async (id: string, options: Options & { by: string; reason: string }) => {
    const out = ctx.output(options);
    const grant = await ctx.client(options, out).post(grantPath(id, 'extend'), grantViewSchema, { by: options.by, reason: options.reason });
    out.result(grant, () => `grant ${grant.id} on ${grant.account} now expires at ${grant.expiresAt} (extension ${grant.extensions ?? 0})\n\n${grantDetails(grant, out.style)}`);
  });
}

function registerJoin(program: Command, ctx: CommandContext): void {
  const join = program
    .command('join')
    .description('join a live case on a pre-staged account as a co-responder: your own audit trail and your own one reveal')
    .argument('<grant-id>', 'the active grant to join (the one `invoke` said the account is in use by)')
    .requiredOption('--reason <text>', 'what you are helping with (goes into the audit trail)');
  serverOptions(jsonOption(join));
  example(join, 'breakglass join gr_01J9ZB6D4N2M --reason "second pair of hands on the restore"', 'breakglass reveal gr_01J9ZB6D4N2M');
  join.action(async (id: string, options: Options & { reason: string }) => {
    const out = ctx.output(options);
    const joined = await ctx.client(options, out).post(grantPath(id, 'join'), joinResponseSchema, { reason: options.reason });
    out.result(joined, () =>
      [
        `you joined grant ${joined.grant.id} on ${joined.grant.account} (until ${joined.grant.expiresAt})`,
        `co-responders: ${joined.coResponders.map((c) => c.name).join(', ')}`,
        '',
        `next: breakglass reveal ${joined.grant.id}   (once; ending the case ends it for everyone)`,
      ].join('\n'),
    );
  });
}

function registerIncident(program: Command, ctx: CommandContext): void {
  const incident = program.command('incident').description('incident-bound grants: close an incident and end its grants');
  example(incident, 'breakglass incident close INC-7');
  const close = incident
    .command('close')
    .description('close an incident: every active grant tied to it ends (and is revoked), requests still waiting are cancelled')
    .argument('<ref>', 'the incident reference, e.g. INC-7');
  serverOptions(jsonOption(close));
  example(close, 'breakglass incident close INC-7', 'BREAKGLASS_TOKEN=$PAGER_TOKEN breakglass incident close INC-7 --json');
  close.action(async (ref: string, options: Options) => {
    const out = ctx.output(options);
    const closed = await ctx.client(options, out).post(`/v1/incidents/${encodeURIComponent(ref)}/close`, incidentCloseResponseSchema);
    out.result(closed, () =>
      [
        `incident ${closed.incident} closed`,
        `ended (being revoked): ${closed.ended.length === 0 ? 'none' : closed.ended.join(', ')}`,
        `cancelled: ${closed.cancelled.length === 0 ? 'none' : closed.cancelled.join(', ')}`,
      ].join('\n'),
    );
  });
}

export function registerBoundsCommands(program: Command, ctx: CommandContext): void {
  registerExtend(program, ctx);
  registerJoin(program, ctx);
  registerIncident(program, ctx);
}
