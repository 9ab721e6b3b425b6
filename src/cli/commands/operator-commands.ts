/**
 * `operator …`: the root key's seal. `seal-status` and `unseal` talk to a (sealed) server;
 * `rekey` and `rotate-root` work offline on a stopped server's data dir. Secrets never come
 * from argv (visible in the process list): passphrases and PINs from the environment or a
 * terminal prompt, shares from files or stdin.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { sealStatusSchema, type SealStatusView as SealStatus } from '../../api/index.js';
import type { CliDeps, RootKeyChangeReport, SealChoice, SealSecretSources } from '../cli-deps.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import type { Output } from '../output.js';
import { stdinOf } from '../read-stdin.js';


const sharePrefix = 'bgunseal1.';
const sealModes = ['keyfile', 'passphrase', 'shamir', 'pkcs11'] as const;

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 2 || n > 255) throw new InvalidArgumentError('a number from 2 to 255.');
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The `--seal` option family of `init` and `operator rekey`. */
export function sealOptions(command: Command, defaultMode: string | undefined): Command {
  const seal = new Option('--seal <mode>', 'how the root key is sealed: keyfile, passphrase, shamir or pkcs11').choices(sealModes);
  return command
    .addOption(defaultMode === undefined ? seal : seal.default(defaultMode))
    .option('--unseal-shares <n>', 'shamir: unseal shares to issue (default 5)', parseCount)
    .option('--unseal-threshold <k>', 'shamir: shares needed to unseal (default 3)', parseCount)
    .option('--pkcs11-module <path>', 'pkcs11: absolute path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so)')
    .option('--pkcs11-token <label>', 'pkcs11: token label')
    .option('--pkcs11-key-label <label>', 'pkcs11: label of the wrapping key created in the HSM (default breakglass-root-wrap)');
}

export interface SealFlags {
  readonly seal?: SealChoice['mode'];
  readonly unsealShares?: number;
  readonly unsealThreshold?: number;
  readonly pkcs11Module?: string;
  readonly pkcs11Token?: string;
  readonly pkcs11KeyLabel?: string;
}

export function sealChoice(flags: SealFlags): SealChoice | undefined {
  if (flags.seal === undefined) return undefined;
  return {
    mode: flags.seal,
    ...(flags.unsealShares !== undefined && { unsealShares: flags.unsealShares }),
    ...(flags.unsealThreshold !== undefined && { unsealThreshold: flags.unsealThreshold }),
    ...(flags.pkcs11Module !== undefined && { pkcs11Module: resolve(flags.pkcs11Module) }),
    ...(flags.pkcs11Token !== undefined && { pkcs11Token: flags.pkcs11Token }),
    ...(flags.pkcs11KeyLabel !== undefined && { pkcs11KeyLabel: flags.pkcs11KeyLabel }),
  };
}


const terminal = (deps: CliDeps) => (deps.stdinIsTTY === true ? deps.promptSecret : undefined);

/** Shares in a text: one per `bgunseal1.` prefix (line breaks inside a share are allowed). */
function splitShares(text: string): string[] {
  const compact = text.replace(/\s+/g, '');
  return compact
    .split(sharePrefix)
    .slice(1)
    .map((rest) => `${sharePrefix}${rest}`);
}

async function readShareFile(file: string): Promise<string[]> {
  try {
    return splitShares(await readFile(resolve(file), 'utf8'));
  } catch {
    throw new CliError(exitCodes.usage, `${file}: cannot read it`);
  }
}

/** Exactly one share, from `--share-file` or stdin (a hidden prompt on a terminal). */
async function readOneShare(deps: CliDeps, file: string | undefined): Promise<string> {
  const prompt = terminal(deps);
  const shares =
    file !== undefined && file !== '-'
      ? await readShareFile(file)
      : prompt !== undefined
        ? splitShares(await prompt('unseal share (input hidden): '))
        : splitShares(await stdinOf(deps)());
  if (shares.length !== 1) {
    throw new CliError(exitCodes.usage, shares.length === 0 ? `no unseal share found (it starts with "${sharePrefix}")` : 'one unseal share per invocation: each operator presents their own');
  }
  return shares[0] ?? '';
}

/**
 * The secret sources of a command: passphrases and the PIN from the environment, else a hidden
 * prompt on a terminal; current shares from `--share-file` files, else stdin (one per line) or
 * prompts. `newPassphraseEnv` names where a passphrase being SET comes from; a prompted one is
 * asked twice.
 */
export function sealSecretSources(deps: CliDeps, options: { shareFiles?: readonly string[]; passphraseIsNew?: boolean } = {}): SealSecretSources {
  const fromEnv = (name: string) => {
    const value = deps.env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const ask = async (name: string, prompt: string, confirm: boolean): Promise<string> => {
    const value = fromEnv(name);
    if (value !== undefined) return value;
    const ask = terminal(deps);
    if (ask === undefined) throw new CliError(exitCodes.usage, `set ${name}: there is no terminal to ask for it`);
    const first = await ask(prompt);
    if (confirm && (await ask('again, to confirm: ')) !== first) throw new CliError(exitCodes.usage, 'the two entries differ');
    return first;
  };
  return {
    passphrase: () => ask('BREAKGLASS_PASSPHRASE', options.passphraseIsNew === true ? 'new passphrase (12+ characters): ' : 'passphrase: ', options.passphraseIsNew === true),
    newPassphrase: () => ask('BREAKGLASS_NEW_PASSPHRASE', 'new passphrase (12+ characters): ', true),
    pkcs11Pin: () => ask('BREAKGLASS_PKCS11_PIN', 'HSM user PIN: ', false),
    async shares(threshold) {
      let shares: string[];
      if (options.shareFiles !== undefined && options.shareFiles.length > 0) {
        shares = (await Promise.all(options.shareFiles.map(readShareFile))).flat();
      } else {
        const prompt = terminal(deps);
        shares = [];
        if (prompt === undefined) shares = splitShares(await stdinOf(deps)());
        else for (let i = 1; i <= threshold; i++) shares.push(...splitShares(await prompt(`current unseal share ${i} of ${threshold} (input hidden): `)));
      }
      if (shares.length !== threshold) {
        throw new CliError(exitCodes.usage, `${threshold} current unseal shares are needed (got ${shares.length}); pass --share-file once per share, or one share per line on stdin`);
      }
      return shares;
    },
  };
}

/** Prints new unseal shares the moment they exist (before the change commits). */
export function printShares(out: Output, shares: readonly string[], threshold: number | undefined): void {
  out.print(out.style.bold(`unseal shares (shown once; give each to a different operator${threshold === undefined ? '' : `; any ${threshold} unseal the server`}):`));
  shares.forEach((share, i) => out.print(`  ${i + 1}/${shares.length}  ${share}`));
  out.print(out.style.yellow('Store each share apart (paper, a password manager); they are never shown again and Breakglass keeps none of them.'));
}

function statusLine(out: Output, status: SealStatus): string {
  if (!status.sealed) return `${out.style.green('unsealed')} (seal: ${status.mode})`;
  return `${out.style.red('sealed')} (seal: ${status.mode}): ${status.progress} of ${status.threshold ?? '?'} unseal shares presented`;
}

function changeSummary(out: Output, report: RootKeyChangeReport, dataDir: string): string {
  const lines = [
    report.op === 'rotation'
      ? `${out.style.green('root key rotated')} (seal: ${report.mode}); every value sealed under the old key now opens only with the new one`
      : `${out.style.green('root key rekeyed')}: ${report.previousMode} → ${report.mode}; the root key itself is unchanged`,
  ];
  if (report.rewrapped !== undefined) {
    const parts = Object.entries(report.rewrapped).map(([column, n]) => `${column} ${n}`);
    lines.push(`rewrapped: ${parts.join(', ')}${report.skipped ? `; ${report.skipped} custodian-sealed value(s) left as they are` : ''}`);
  }
  if (report.unsealShares !== undefined) lines.push('the shares printed above replace every earlier set; earlier shares no longer work');
  lines.push(`seal id: ${report.sealId}`);
  lines.push(`next: copy ${dataDir}/root-key.json${report.mode === 'keyfile' ? ' and root.key' : ''} to every other instance of this store, then start the server(s)`);
  return lines.join('\n');
}

export function registerOperatorCommands(program: Command, ctx: CommandContext): void {
  const operator = program.command('operator').description("the root key's seal: status, unseal, rekey, rotation");
  example(operator, 'breakglass operator seal-status', 'breakglass operator unseal --share-file /media/usb/share.txt');

  const status = operator.command('seal-status').description('is the server sealed, and how many unseal shares are in (no token needed)');
  serverOptions(jsonOption(status));
  example(status, 'breakglass operator seal-status', 'breakglass operator seal-status --json | jq .sealed');
  status.action(async (options: JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const result = await ctx.client(options, out).get('/v1/sys/seal-status', sealStatusSchema);
    out.result(result, () => statusLine(out, result));
  });

  const unseal = operator
    .command('unseal')
    .description('present ONE unseal share to a sealed server (read from --share-file or stdin, never from the command line)')
    .option('--share-file <file>', 'file holding your share (bgunseal1.…); default: stdin, or a hidden prompt on a terminal');
  serverOptions(jsonOption(unseal));
  example(unseal, 'breakglass operator unseal --share-file /media/usb/alice.share', 'breakglass operator unseal < alice.share', 'breakglass operator unseal    # asks, input hidden');
  unseal.action(async (options: JsonOption & ServerOptions & { shareFile?: string }) => {
    const out = ctx.output(options);
    const share = await readOneShare(ctx.deps, options.shareFile);
    const result = await ctx.client(options, out).post('/v1/sys/unseal', sealStatusSchema, { share });
    out.result(result, () =>
      result.sealed
        ? `share accepted: ${result.progress} of ${result.threshold ?? '?'}; still sealed, ${(result.threshold ?? 0) - result.progress} more needed`
        : `${out.style.green('unsealed')}: the server is serving and its scheduler runs`,
    );
  });

  const offlineHelp = 'Works on a STOPPED server: stop every instance of this store first (it refuses while a server runs on --data-dir).';
  const rekey = sealOptions(
    operator
      .command('rekey')
      .description('seal the SAME root key anew: new unseal shares, a new passphrase, a new HSM key, or another kind of seal (offline)')
      .option('--data-dir <dir>', 'data directory (env BREAKGLASS_DATA_DIR)', ctx.dataDirDefault)
      .option('--share-file <file>', 'shamir: a current unseal share; once per share (default: stdin, one per line)', collect),
    undefined,
  );
  jsonOption(rekey);
  rekey.addHelpText('after', `\n${offlineHelp}\nThe current passphrase comes from BREAKGLASS_PASSPHRASE, a new one from BREAKGLASS_NEW_PASSPHRASE (else prompts); the PIN from BREAKGLASS_PKCS11_PIN.`);
  example(
    rekey,
    'breakglass operator rekey --data-dir /var/lib/breakglass --share-file a.share --share-file b.share --share-file c.share',
    'BREAKGLASS_PASSPHRASE=... BREAKGLASS_NEW_PASSPHRASE=... breakglass operator rekey',
    'breakglass operator rekey --seal passphrase    # move off the quick-start key file',
  );
  rekey.action(async (options: JsonOption & SealFlags & { dataDir: string; shareFile?: string[] }) => {
    await runChange(ctx, options, 'rekey');
  });

  const rotate = operator
    .command('rotate-root')
    .description('generate a NEW root key and rewrap every sealed value under it in one transaction (offline)')
    .option('--data-dir <dir>', 'data directory (env BREAKGLASS_DATA_DIR)', ctx.dataDirDefault)
    .option('--share-file <file>', 'shamir: a current unseal share; once per share (default: stdin, one per line)', collect);
  jsonOption(rotate);
  rotate.addHelpText(
    'after',
    `\n${offlineHelp}\nThe seal stays the same kind; a shamir seal gets NEW shares (printed before the change commits; with --json the one document is printed then, and exit 0 means it committed).`,
  );
  example(rotate, 'BREAKGLASS_PASSPHRASE=... breakglass operator rotate-root --data-dir /var/lib/breakglass', 'breakglass operator rotate-root --share-file a.share --share-file b.share --share-file c.share');
  rotate.action(async (options: JsonOption & { dataDir: string; shareFile?: string[] }) => {
    await runChange(ctx, options, 'rotation');
  });
}

async function runChange(ctx: CommandContext, options: JsonOption & SealFlags & { dataDir: string; shareFile?: string[] }, op: 'rekey' | 'rotation'): Promise<void> {
  const out = ctx.output(options);
  const run = op === 'rekey' ? ctx.deps.rekey : ctx.deps.rotateRoot;
  if (run === undefined) throw new CliError(exitCodes.error, `operator ${op === 'rekey' ? 'rekey' : 'rotate-root'} is not available in this build`);
  const dataDir = resolve(options.dataDir);
  let delivered = false;
  const request = {
    dataDir,
    secrets: sealSecretSources(ctx.deps, options.shareFile === undefined ? {} : { shareFiles: options.shareFile }),
    deliverShares(shares: readonly string[]) {
      delivered = true;
      if (out.json) out.result({ op, dataDir, unsealShares: shares }, () => '');
      else printShares(out, shares, undefined);
    },
  };
  const choice = sealChoice(options);
  let report: RootKeyChangeReport;
  try {
    report = await run({ ...request, ...(choice !== undefined && { seal: choice }) });
  } catch (error) {
    if (delivered) out.note('the change did not complete: the unseal shares printed above are VOID and the previous ones still work (unless the next start finishes it; then `breakglass operator seal-status` shows the new set)');
    throw error;
  }
  // With --json and new shares, the one document went out before the commit.
  if (out.json && delivered) return;
  const summary = { op: report.op, previousMode: report.previousMode, mode: report.mode, sealId: report.sealId, rewrapped: report.rewrapped, skipped: report.skipped };
  out.result(summary, () => changeSummary(out, report, dataDir));
}
