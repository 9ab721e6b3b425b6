/** `alerts`, `alerts retry`, `ack` and `channel test`: what was announced where, who has seen it, and whether a channel works. */
import { Option, type Command } from 'commander';
import { alertAckResponseSchema, alertRetryResponseSchema, alertsResponseSchema, channelTestResponseSchema, type AlertViewJson } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { ExitWith, exitCodes } from '../exit-codes.js';
import { formatTable, inert, type Style } from '../output.js';

type Options = JsonOption & ServerOptions;

const alertStates = ['pending', 'sent', 'dead'] as const;

const stateColour = (state: string, style: Style) => (state === 'dead' ? style.red(state) : state === 'pending' ? style.yellow(state) : style.green(state));

function alertTable(alerts: readonly AlertViewJson[], style: Style): string {
  const rows = alerts.map((a) => [a.id, a.event, a.channel, stateColour(a.state, style), String(a.attempts), a.acked === undefined ? '' : `${a.acked.by} ${a.acked.at}`, a.lastError ?? '']);
  const table = formatTable(['ID', 'EVENT', 'CHANNEL', 'STATE', 'ATTEMPTS', 'ACKED', 'LAST ERROR'], rows, style);
  const dead = alerts.filter((a) => a.state === 'dead').length;
  if (dead === 0) return table;
  return `${table}\n\n${style.red(`${dead} dead`)}: nobody was told. Fix the channel (check it with \`breakglass channel test NAME\`), then \`breakglass alerts retry ID\`.`;
}

function registerList(program: Command, ctx: CommandContext): Command {
  const alerts = program
    .command('alerts')
    .description('list alerts, newest first: what was sent to which channel, what is still pending, what is dead (could not be delivered)')
    .addOption(new Option('--state <state>', 'only alerts in this state').choices(alertStates));
  serverOptions(jsonOption(alerts));
  example(alerts, 'breakglass alerts --state dead', "breakglass alerts --json | jq -r '.alerts[] | select(.state == \"dead\") | .id'");
  alerts.action(async (options: Options & { state?: string }) => {
    const out = ctx.output(options);
    const query = options.state === undefined ? '' : `?state=${encodeURIComponent(options.state)}`;
    const result = await ctx.client(options, out).get(`/v1/alerts${query}`, alertsResponseSchema);
    out.result(result, () => (result.alerts.length === 0 ? `no alerts${options.state === undefined ? '' : ` in state ${options.state}`}` : alertTable(result.alerts, out.style)));
  });
  return alerts;
}

function registerRetry(alerts: Command, ctx: CommandContext): void {
  const retry = alerts
    .command('retry')
    .description('send a dead alert again: back to pending with its attempts reset, delivered by the relay in order')
    .argument('<id>', 'the alert (alr_…), from `breakglass alerts --state dead`');
  serverOptions(jsonOption(retry));
  example(retry, 'breakglass alerts retry alr_3f2b9c1e-8d4a-4e55-9a7b-2c6d1e0f4a11');
  retry.action(async (id: string, _options: Options, command: Command) => {
    // Commander gives `--json`, `--addr`, `--token` after `retry ID` to `alerts`, which has them
    // too (options are not positional in this program): read them from both.
    const options = command.optsWithGlobals<Options>();
    const out = ctx.output(options);
    const alert = await ctx.client(options, out).post(`/v1/alerts/${encodeURIComponent(id)}/retry`, alertRetryResponseSchema);
    out.result(alert, () => `alert ${inert(alert.id)} (${inert(alert.event)} to ${inert(alert.channel)}) is ${stateColour(alert.state, out.style)} again; see it go with \`breakglass alerts\``);
  });
}

function registerAck(program: Command, ctx: CommandContext): void {
  const ack = program
    .command('ack')
    .description("acknowledge an alert: its event (every channel it went to) is marked seen, by you, and its escalation stops; acknowledging again changes nothing")
    .argument('<alert-id>', 'the alert (alr_…), from `breakglass alerts`')
    .option('--note <text>', 'what you are doing about it; kept in the audit chain');
  serverOptions(jsonOption(ack));
  example(ack, 'breakglass ack alr_3f2b9c1e-8d4a-4e55-9a7b-2c6d1e0f4a11 --note "on it, INC-7"', 'breakglass ack alr_3f2b9c1e-8d4a-4e55-9a7b-2c6d1e0f4a11 --json');
  ack.action(async (id: string, options: Options & { note?: string }) => {
    const out = ctx.output(options);
    const body = options.note === undefined ? {} : { note: options.note };
    const result = await ctx.client(options, out).post(`/v1/alerts/${encodeURIComponent(id)}/ack`, alertAckResponseSchema, body);
    const who = `${inert(result.ackedBy)} at ${inert(result.ackedAt)}`;
    out.result(result, () =>
      result.alreadyAcknowledged
        ? `${inert(result.eventId)} was already acknowledged by ${who}; nothing changed`
        : `${inert(result.eventId)} ${out.style.green('acknowledged')} by ${who}: its escalation stops`,
    );
  });
}

function registerChannelTest(program: Command, ctx: CommandContext): void {
  const channel = program.command('channel').description('alert channels of the catalog');
  example(channel, 'breakglass channel test secops-hook');
  const test = channel
    .command('test')
    .description("send a test message (event alert.test) through a channel now, not through the outbox, and print the receiver's answer; exits 1 when it was not delivered")
    .argument('<name>', 'the channel, as named in the catalog');
  serverOptions(jsonOption(test));
  example(test, 'breakglass channel test secops-hook', 'breakglass channel test secops-hook --json');
  test.action(async (name: string, options: Options) => {
    const out = ctx.output(options);
    const result = await ctx.client(options, out).post(`/v1/channels/${encodeURIComponent(name)}/test`, channelTestResponseSchema);
    // The receiver's answer is text from elsewhere: one inert line (terminalSafe keeps newlines).
    const channel = inert(result.channel);
    out.result(result, () => (result.ok ? `${channel}: ${out.style.green('delivered')} (${inert(result.status)})` : `${channel}: ${out.style.red('failed')}: ${inert(result.error)}`));
    if (!result.ok) throw new ExitWith(exitCodes.error);
  });
}

export function registerAlertCommands(program: Command, ctx: CommandContext): void {
  registerRetry(registerList(program, ctx), ctx);
  registerAck(program, ctx);
  registerChannelTest(program, ctx);
}
