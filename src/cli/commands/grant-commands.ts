/** A break-glass case from the responder's and the incident owner's side. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../domain/index.js';
import { grantViewSchema, revealResponseSchema, type GrantView } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { ExitWith, exitCodes } from '../exit-codes.js';
import { grantDetails, withNextSteps } from '../grant-format.js';
import type { Output } from '../output.js';
// issue 11 (H1)
import { escalateInvocation } from './approval-commands.js';
// issue 11 (H3)
import { misuseOption, registerGrantHistory, registerResolve, showTimeline } from './grant-history-commands.js';

type Options = JsonOption & ServerOptions;

const grantPath = (id: string, action?: string) => `/v1/grants/${encodeURIComponent(id)}${action === undefined ? '' : `/${action}`}`;

function parseTtl(value: string): string {
  if (parseDuration(value) === undefined) throw new InvalidArgumentError('use a duration such as 10s, 15m, 1h or 2d.');
  return value;
}

/** Prints a grant that a command produced; a failed activation exits 1 after printing it. */
function printGrant(out: Output, grant: GrantView, headline: string): void {
  out.result(grant, () => withNextSteps(`${headline}\n\n${grantDetails(grant, out.style)}`, grant));
  if (grant.state === 'failed') {
    out.note(`error: activation failed${grant.failure === undefined ? '' : `: ${grant.failure}`}`);
    throw new ExitWith(exitCodes.error);
  }
}

function registerInvoke(program: Command, ctx: CommandContext): void {
  const invoke = program
    .command('invoke')
    .description('invoke an emergency account: a grant, active at once under a post-hoc policy')
    .argument('<account>', 'the emergency account (see `breakglass accounts`)')
    .requiredOption('--condition <condition>', 'why normal access does not work: outage, lockout, security-incident, …')
    .requiredOption('--reason <text>', 'what you need the access for (goes into the audit trail)')
    .requiredOption('--incident <ref>', 'incident reference, e.g. INC-1234')
    .option('--ttl <duration>', 'how long the grant lasts, e.g. 15m (default: the policy default)', parseTtl)
    // issue 11 (H1)
    .option('--escalate', 'go past approvers who did not answer (after the policy\'s escalate.after): takes over your grant awaiting approval on this account')
    .option('--reason2 <text>', 'with --escalate: a second justification (goes into the audit trail)')
    // issue 11 (H2)
    .option('--override-reason <text>', "admins: invoke although the account's last case is not certified (requireCertifiedPrevious); audited, the grant is marked");
  serverOptions(jsonOption(invoke));
  example(invoke, 'breakglass invoke pg-breakglass --condition outage --reason "primary down, SSO unreachable" --incident INC-42 --ttl 30m');
  example(invoke, 'breakglass invoke pg-breakglass --condition outage --reason "primary down" --incident INC-42 --escalate --reason2 "approvers unreachable for 10 minutes"');
  invoke.action(async (account: string, options: Options & { condition: string; reason: string; incident: string; ttl?: string; escalate?: boolean; reason2?: string; overrideReason?: string }) => {
    // issue 11 (H1)
    if (options.escalate === true) return escalateInvocation(ctx, options, account);
    const out = ctx.output(options);
    const { condition, reason, incident, ttl, overrideReason } = options;
    const body = { account, condition, reason, incident, ...(ttl === undefined ? {} : { ttl }), ...(overrideReason === undefined ? {} : { overrideReason }) };
    const grant = await ctx.client(options, out).post('/v1/grants', grantViewSchema, body);
    printGrant(out, grant, `grant ${grant.id} on ${grant.account} is ${out.style.state(grant.state)} until ${grant.expiresAt}`);
  });
}

function registerReveal(program: Command, ctx: CommandContext): void {
  const reveal = program
    .command('reveal')
    .description('show the credential of your active grant; it can be revealed only once')
    .argument('<grant-id>', 'the grant id printed by `breakglass invoke`');
  serverOptions(jsonOption(reveal));
  example(reveal, 'breakglass reveal gr_01J9ZB6D4N2M', 'breakglass reveal gr_01J9ZB6D4N2M --json > /dev/shm/cred.json');
  reveal.action(async (id: string, options: Options) => {
    const out = ctx.output(options);
    const credential = await ctx.client(options, out).post(grantPath(id, 'reveal'), revealResponseSchema);
    out.result(credential, () =>
      'password' in credential
        ? [`username  ${credential.username}`, `password  ${credential.password}`].join('\n')
        : [
            `username     ${credential.username}`,
            'save the two blocks below as key and key-cert.pub (mode 0600), then: ssh -i key user@host',
            '',
            credential.privateKey.trimEnd(),
            '',
            credential.certificate.trimEnd(),
          ].join('\n'),
    );
    out.note('warning: this is the only time the credential is shown; it stops working when the grant ends.');
  });
}

function registerEnd(program: Command, ctx: CommandContext): void {
  const end = program
    .command('end')
    .description('end a grant early: the credential is revoked on the target (and rotated)')
    .argument('<grant-id>', 'the grant to end');
  serverOptions(jsonOption(end));
  example(end, 'breakglass end gr_01J9ZB6D4N2M');
  end.action(async (id: string, options: Options) => {
    const out = ctx.output(options);
    const grant = await ctx.client(options, out).post(grantPath(id, 'end'), grantViewSchema);
    printGrant(out, grant, `grant ${grant.id} is ${out.style.state(grant.state)}`);
  });
}

function registerCancel(program: Command, ctx: CommandContext): void {
  const cancel = program
    .command('cancel')
    .description('withdraw a request still waiting for its custodians (nothing was enabled yet)')
    .argument('<grant-id>', 'the grant to cancel');
  serverOptions(jsonOption(cancel));
  example(cancel, 'breakglass cancel gr_01J9ZB6D4N2M');
  cancel.action(async (id: string, options: Options) => {
    const out = ctx.output(options);
    const grant = await ctx.client(options, out).post(grantPath(id, 'cancel'), grantViewSchema);
    printGrant(out, grant, `grant ${grant.id} is ${out.style.state(grant.state)}`);
  });
}

const yesNo = (name: string, question: string) =>
  new Option(`--${name} <yes|no>`, question).choices(['yes', 'no']).makeOptionMandatory();

function registerCertify(program: Command, ctx: CommandContext): void {
  const certify = program
    .command('certify')
    .description('certify a finished case (incident owner, not the requester) and close it')
    .argument('<grant-id>', 'a grant awaiting certification')
    .addOption(yesNo('necessary', 'was the emergency access necessary?'))
    .addOption(yesNo('scoped', 'was it used only within its purpose?'))
    .addOption(yesNo('removed', 'is the access fully removed (revoked, rotated)?'))
    .requiredOption('--note <text>', 'what the review found')
    // issue 11 (H3)
    .addOption(misuseOption());
  serverOptions(jsonOption(certify));
  example(
    certify,
    'breakglass certify gr_01J9ZB6D4N2M --necessary yes --scoped yes --removed yes --note "INC-42 postmortem"',
    'breakglass certify gr_01J9ZB6D4N2M --necessary yes --scoped no --removed yes --misuse-suspected yes --note "queries outside the incident"',
  );
  certify.action(async (id: string, options: Options & { necessary: string; scoped: string; removed: string; note: string; misuseSuspected?: string }) => {
    const out = ctx.output(options);
    const body = {
      necessary: options.necessary === 'yes',
      scoped: options.scoped === 'yes',
      removed: options.removed === 'yes',
      note: options.note,
      // issue 11 (H3)
      ...(options.misuseSuspected === undefined ? {} : { misuseSuspected: options.misuseSuspected === 'yes' }),
    };
    const grant = await ctx.client(options, out).post(grantPath(id, 'certify'), grantViewSchema, body);
    printGrant(out, grant, `grant ${grant.id} is ${out.style.state(grant.state)}`);
  });
}

function registerLists(program: Command, ctx: CommandContext): void {
  // issue 11 (H3): `grants` is the history query (filters, pages).
  registerGrantHistory(program, ctx);

  const grant = program.command('grant').description('one grant');
  example(grant, 'breakglass grant show gr_01J9ZB6D4N2M');
  const show = grant.command('show').description('show a grant and what happens next').argument('<grant-id>', 'the grant to show');
  // issue 11 (H3)
  show.option('--timeline', "print the case's audit events in order instead (time, actor, action, key details)");
  serverOptions(jsonOption(show));
  example(show, 'breakglass grant show gr_01J9ZB6D4N2M', 'breakglass grant show gr_01J9ZB6D4N2M --json | jq -r .state', 'breakglass grant show gr_01J9ZB6D4N2M --timeline');
  show.action(async (id: string, options: Options & { timeline?: boolean }) => {
    // issue 11 (H3)
    if (options.timeline === true) return showTimeline(ctx, id, options);
    const out = ctx.output(options);
    const view = await ctx.client(options, out).get(grantPath(id), grantViewSchema);
    out.result(view, () => withNextSteps(grantDetails(view, out.style), view));
  });
  // issue 11 (H3)
  registerResolve(grant, ctx);
}

export function registerGrantCommands(program: Command, ctx: CommandContext): void {
  registerInvoke(program, ctx);
  registerReveal(program, ctx);
  registerEnd(program, ctx);
  registerCancel(program, ctx);
  registerCertify(program, ctx);
  registerLists(program, ctx);
}
