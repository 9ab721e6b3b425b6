/** `apply` and `accounts`: the declared catalog. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { z } from 'zod';
import { parseCatalogYaml, resolvePasswords, type CatalogApply } from '../../config/catalog-file.js';
import { isAppError } from '../../errors/index.js';
import { accountsResponseSchema, applyResponseSchema } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { CliError, ExitWith, exitCodes } from '../exit-codes.js';
import { formatTable, type Output } from '../output.js';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Reads, validates and resolves the catalog; on any problem reports every issue and exits 2. */
async function loadCatalog(file: string, env: Record<string, string | undefined>, out: Output): Promise<CatalogApply> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as { code?: string }).code === 'ENOENT' ? 'no such file' : 'cannot read it';
    throw new CliError(exitCodes.usage, `${file}: ${reason}`, { cause: error });
  }
  try {
    return resolvePasswords(parseCatalogYaml(text), env);
  } catch (error) {
    if (!isAppError(error) || error.code !== 'validation') throw error;
    out.note(`error: ${file} is not a valid catalog; nothing was applied`);
    for (const line of error.message.split('\n')) out.note(`  ${line}`);
    throw new ExitWith(exitCodes.usage);
  }
}

export function registerCatalogCommands(program: Command, ctx: CommandContext): void {
  const apply = program
    .command('apply')
    .description('make the server match a catalog file (targets, policies, accounts, users), all or nothing: what the file no longer lists is retired; every change is audited with a diff')
    .requiredOption('-f, --file <file>', 'catalog YAML; target passwords are read from the variables named by passwordEnv')
    .option('--dry-run', 'print the plan (create / change / remove, per object and field) and change nothing');
  serverOptions(jsonOption(apply));
  example(apply, 'PG_ADMIN_PASSWORD=... breakglass apply -f catalog.yaml --dry-run   # then without --dry-run');
  apply.action(async (options: { file: string; dryRun?: boolean } & JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const catalog = await loadCatalog(options.file, ctx.deps.env, out);
    const result = await ctx.client(options, out).post(`/v1/apply${options.dryRun ? '?dryRun=true' : ''}`, applyResponseSchema, catalog);
    out.result(result, () => {
      if (result.dryRun) return [`plan for ${options.file} (nothing was changed):`, formatPlan(result.plan)].join('\n');
      const counts = [
        plural(result.targets, 'target', 'targets'),
        plural(result.policies, 'policy', 'policies'),
        plural(result.accounts, 'account', 'accounts'),
        plural(result.users, 'user', 'users'),
      ];
      const lines = [`applied ${options.file}: ${counts.join(', ')}`, formatPlan(result.plan)];
      if (result.staging.length > 0) {
        const mark = (staging: string) => (staging === 'staged' ? out.style.green(staging) : out.style.yellow(staging));
        const rows = result.staging.map((s) => [s.account, mark(s.staging), s.error ?? '']);
        lines.push('', formatTable(['ACCOUNT', 'STAGING', 'ERROR'], rows, out.style));
        if (result.staging.some((s) => s.staging !== 'staged')) lines.push('', 'pending accounts are staged in the background; check with `breakglass accounts`');
      }
      // issue 12 (P1): said per account when the target's privileges differ from the declared ones.
      for (const p of result.privileges ?? []) {
        if (p.differences.length > 0) lines.push(out.style.yellow(`${p.account}: privileges differ from the declared ones: ${p.differences.join('; ')}`));
        else if (p.error !== undefined) lines.push(out.style.yellow(`${p.account}: privileges not checked: ${p.error}`));
      }
      return lines.join('\n');
    });
  });

  const accounts = program.command('accounts').description('list the declared emergency accounts and whether their secret is staged');
  serverOptions(jsonOption(accounts));
  example(accounts, 'breakglass accounts', 'breakglass accounts --json | jq -r \'.accounts[].name\'');
  accounts.action(async (options: JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const result = await ctx.client(options, out).get('/v1/accounts', accountsResponseSchema);
    out.result(result, () =>
      result.accounts.length === 0
        ? 'no accounts; declare some in a catalog and run `breakglass apply -f catalog.yaml`'
        : formatTable(
            ['NAME', 'TARGET', 'TYPE', 'MODE', 'PRINCIPAL', 'POLICY', 'STAGING'],
            result.accounts.map((a) => [a.name, a.target, a.type, a.mode, a.principal, a.policy, a.staging]),
            out.style,
          ),
    );
  });
}

/** The plan as people read it: one line per object, one indented line per changed field. */
function formatPlan(plan: z.output<typeof applyResponseSchema>['plan']): string {
  if (plan.length === 0) return '  no changes';
  const sign = { create: '+', change: '~', remove: '-' } as const;
  const value = (v: unknown) => (v === null || v === undefined ? '(none)' : JSON.stringify(v));
  return plan
    .flatMap((entry) => [
      `  ${sign[entry.op]} ${entry.kind} ${entry.name}${entry.op === 'remove' ? (entry.kind === 'user' ? ' (disabled)' : ' (retired)') : ''}`,
      ...(entry.op === 'remove'
        ? []
        : Object.entries(entry.changes).map(([field, change]) => (change === 'changed' ? `      ${field}: changed` : `      ${field}: ${value(change.before)} → ${value(change.after)}`))),
    ])
    .join('\n');
}
