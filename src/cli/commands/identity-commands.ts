/** `token create|list|revoke|redeem`, `user invite` and `whoami`: access to the API. */
import type { Command } from 'commander';
import { inviteResponseSchema, tokenResponseSchema, tokensResponseSchema, tokenViewSchema, whoamiResponseSchema } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { formatTable } from '../output.js';
// issue 14 (enroll)
import { enrollResponseSchema } from '../../api/index.js';
import type { CliDeps } from '../cli-deps.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { stdinOf } from '../read-stdin.js';

type TtlOption = { ttl?: string };

export function registerIdentityCommands(program: Command, ctx: CommandContext): void {
  const token = program.command('token').description('API tokens: yours, or (admins) those of service users');
  example(token, 'breakglass token redeem bge_... --ttl 30d', 'breakglass token list', 'breakglass token revoke tok_...');

  const create = token
    .command('create')
    .description('create an API token for yourself, or (admin) for a user declared with service: true; shown once. For a person, use `breakglass user invite`')
    .argument('<user>', 'your own user name, or a service user declared under users: in the catalog')
    .option('--ttl <duration>', 'expire after this long (e.g. 30d, 12h; at most 366d); default: until revoked')
    .option('--label <text>', 'what the token is for (shown by `token list`)');
  serverOptions(jsonOption(create));
  example(create, 'breakglass token create ci-bot --ttl 90d --label "nightly drill"', 'breakglass token create ci-bot --json | jq -r .token');
  create.action(async (user: string, options: TtlOption & { label?: string } & JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const body = { user, ...(options.ttl === undefined ? {} : { ttl: options.ttl }), ...(options.label === undefined ? {} : { label: options.label }) };
    const result = await ctx.client(options, out).post('/v1/tokens', tokenResponseSchema, body);
    out.result(result, () => `token ${result.id} for ${user}${expiry(result.expiresAt)}: ${result.token}`);
    out.print(out.style.yellow('Shown once; keep it in a secret store. Set it as BREAKGLASS_TOKEN.'));
  });

  const redeem = token
    .command('redeem')
    .description('redeem a one-time enrolment code from an admin for a token of your own (no token needed); shown once')
    .argument('<code>', 'the code printed by `breakglass user invite`')
    .option('--ttl <duration>', 'expire after this long (e.g. 30d; at most 366d)', '30d');
  serverOptions(jsonOption(redeem));
  example(redeem, 'breakglass token redeem bge_... --ttl 30d', 'export BREAKGLASS_TOKEN=$(breakglass token redeem bge_... --json | jq -r .token)');
  redeem.action(async (code: string, options: TtlOption & JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const body = { code, ...(options.ttl === undefined ? {} : { ttl: options.ttl }) };
    const result = await ctx.client(options, out).post('/v1/tokens/redeem', tokenResponseSchema, body);
    out.result(result, () => `token ${result.id}${expiry(result.expiresAt)}: ${result.token}`);
    out.print(out.style.yellow('Shown once; set it as BREAKGLASS_TOKEN. Only you hold it.'));
  });

  const list = token
    .command('list')
    .description('list API tokens (never the token itself): yours, or (admin) everyone\'s')
    .option('--user <name>', 'only this user\'s tokens (admin, unless it is you)')
    .option('--all', 'also revoked and expired tokens');
  serverOptions(jsonOption(list));
  example(list, 'breakglass token list --user alice', 'breakglass token list --json | jq -r \'.tokens[].id\'');
  list.action(async (options: { user?: string; all?: boolean } & JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const query = new URLSearchParams({ ...(options.user === undefined ? {} : { user: options.user }), ...(options.all === true ? { all: 'true' } : {}) }).toString();
    const result = await ctx.client(options, out).get(`/v1/tokens${query ? `?${query}` : ''}`, tokensResponseSchema);
    out.result(result, () =>
      result.tokens.length === 0
        ? 'no tokens'
        : formatTable(
            ['ID', 'USER', 'LABEL', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'],
            result.tokens.map((t) => [t.id, t.user, t.label, t.createdAt, t.expiresAt ?? 'never', t.lastUsedAt ?? '-', t.revokedAt ?? '-']),
            out.style,
          ),
    );
  });

  const revoke = token.command('revoke').description('revoke an API token at once (yours, or any as admin)').argument('<id>', 'a token id from `breakglass token list`');
  serverOptions(jsonOption(revoke));
  example(revoke, 'breakglass token revoke tok_k3q...');
  revoke.action(async (id: string, options: JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const result = await ctx.client(options, out).delete(`/v1/tokens/${encodeURIComponent(id)}`, tokenViewSchema);
    out.result(result, () => `revoked ${result.id} of ${result.user}`);
  });

  const user = program.command('user').description('users declared in the catalog');
  example(user, 'breakglass user invite alice');
  const invite = user
    .command('invite')
    .description('issue a one-time enrolment code (admin); the user redeems it with `breakglass token redeem` for a token only they hold')
    .argument('<user>', 'a user declared under users: in the catalog')
    .option('--ttl <duration>', 'code valid for this long (at most 24h)', '24h');
  serverOptions(jsonOption(invite));
  example(invite, 'breakglass user invite alice', 'breakglass user invite alice --json | jq -r .code');
  invite.action(async (name: string, options: TtlOption & JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const body = options.ttl === undefined ? {} : { ttl: options.ttl };
    const result = await ctx.client(options, out).post(`/v1/users/${encodeURIComponent(name)}/invite`, inviteResponseSchema, body);
    out.result(result, () => `enrolment code for ${name} (valid once, until ${result.expiresAt}): ${result.code}`);
    out.print(out.style.yellow(`Hand it to ${name} over a secure channel; they run: breakglass token redeem CODE`));
  });

  // issue 14 (enroll)
  registerEnroll(user, ctx);

  const me = program.command('whoami').description('who your token says you are: user, roles, token id');
  serverOptions(jsonOption(me));
  example(me, 'breakglass whoami', 'breakglass whoami --json | jq -r .user');
  me.action(async (options: JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const result = await ctx.client(options, out).get('/v1/whoami', whoamiResponseSchema);
    out.result(result, () => `${result.user} (${result.roles.length === 0 ? 'no role' : result.roles.join(', ')}), token ${result.tokenId ?? '-'}`);
  });
}

const expiry = (expiresAt: string | null) => (expiresAt === null ? '' : ` (expires ${expiresAt})`);

// issue 14 (enroll)
/** `user enroll`: a person sets their own password and second factor with the code of `user invite`. */
function registerEnroll(user: Command, ctx: CommandContext): void {
  const enroll = user
    .command('enroll')
    .description('set your own password and second factor (TOTP) with the one-time code from `breakglass user invite` (no token needed); the TOTP secret and recovery codes are shown once')
    .requiredOption('--user <name>', 'your user name, as the admin invited it')
    .requiredOption('--code <code>', 'the one-time code printed by `breakglass user invite`')
    .option('--password-stdin', 'read the new password from stdin (at least 15 characters; one trailing newline is dropped); on a terminal it is asked for without echo');
  serverOptions(jsonOption(enroll));
  example(
    enroll,
    'breakglass user enroll --user alice --code bge_... --password-stdin',
    "printf '%s' \"$NEW_PASSWORD\" | breakglass user enroll --user alice --code bge_... --password-stdin --json | jq -r .otpauthUri",
  );
  enroll.action(async (options: { user: string; code: string; passwordStdin?: boolean } & JsonOption & ServerOptions) => {
    if (options.passwordStdin !== true) throw new CliError(exitCodes.usage, 'pass --password-stdin and pipe the new password in (never on the command line, where others can read it)');
    const password = await readNewPassword(ctx.deps);
    const out = ctx.output(options);
    const result = await ctx.client(options, out).post('/v1/users/enroll', enrollResponseSchema, { user: options.user, code: options.code, password });
    out.result(result, () =>
      [
        `enrolled ${options.user}. Add this to your authenticator app (or scan the URI as a QR code):`,
        `  secret: ${result.totpSecret}`,
        `  uri:    ${result.otpauthUri}`,
        'Recovery codes (each works once, when the authenticator is lost):',
        ...result.recoveryCodes.map((code) => `  ${code}`),
      ].join('\n'),
    );
    out.print(out.style.yellow('Shown once; keep the recovery codes offline. To enrol again, ask an admin for a new invite.'));
  });
}

/** The new password: a hidden prompt (asked twice) on a terminal, else all of stdin. */
async function readNewPassword(deps: CliDeps): Promise<string> {
  if (deps.stdinIsTTY === true && deps.promptSecret !== undefined) {
    const first = await deps.promptSecret('new password (input hidden): ');
    if (first === '') throw new CliError(exitCodes.usage, 'no password given');
    if ((await deps.promptSecret('again: ')) !== first) throw new CliError(exitCodes.usage, 'the two passwords differ; nothing was sent');
    return first;
  }
  const text = await stdinOf(deps)();
  // One trailing newline is how `echo` and most tools end a line, not part of the password.
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new CliError(exitCodes.usage, "no password on stdin: pipe it in, e.g. printf '%s' \"$NEW_PASSWORD\" | breakglass user enroll --user NAME --code CODE --password-stdin");
  return password;
}

