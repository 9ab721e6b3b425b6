/**
 * `kit export`, `kit open`, `kit status`: the offline kit (DESIGN.md §3), for when Breakglass
 * itself is down. `export` and `status` ask the server; `open` needs no server and no database:
 * it reads sealed.json and the custodians' share files and does the crypto locally.
 */
import type { Command } from 'commander';
import { kitDocumentSchema, type KitDocument } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { CliError, ExitWith, exitCodes } from '../exit-codes.js';
import { describeTarget, kitProblems, readKitFile, readSmallFile } from '../kit/kit-document.js';
import { ceremonyShares, renderKitFiles, writeKitDir } from '../kit/kit-export.js';
import { openKit, type ShareInput } from '../kit/kit-open.js';
import type { IdentityInput } from '../kit/kit-encrypted-share.js';
import { kitStaleness } from '../kit/kit-warnings.js';
import { parseDuration } from '../../domain/index.js';
import type { Output } from '../output.js';

const kitPath = (account: string) => `/v1/accounts/${encodeURIComponent(account)}/kit`;

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The server's kit, refused if its parts do not fit together (nothing is written then). */
async function fetchKit(ctx: CommandContext, account: string, options: ServerOptions, out: Output): Promise<KitDocument> {
  const kit = await ctx.client(options, out).get(kitPath(account), kitDocumentSchema);
  const problems = kit.account === account ? kitProblems(kit) : [`it is the kit of ${kit.account}`];
  if (problems.length > 0) throw new CliError(exitCodes.error, `the server's kit of ${account} is not consistent: ${problems.join('; ')}`);
  return kit;
}

function registerExport(kit: Command, ctx: CommandContext): void {
  const exportCmd = kit
    .command('export')
    .description('write the offline kit of an account: sealed.json, one printable envelope per custodian, README.txt')
    .argument('<account>', 'a dual-control account that has had its key ceremony')
    .requiredOption('--out <dir>', 'directory to write to (created with mode 0700; files 0600)')
    .option('--shares <file>', 'the output of `breakglass ceremony ACCOUNT --json`: print each custodian\'s share (text and QR code) in their envelope');
  serverOptions(jsonOption(exportCmd));
  example(
    exportCmd,
    'breakglass kit export pg-vault --out ./kit-pg-vault',
    'breakglass ceremony pg-vault --json > /dev/shm/ceremony.json && breakglass kit export pg-vault --out /dev/shm/kit --shares /dev/shm/ceremony.json',
  );
  exportCmd.action(async (account: string, options: JsonOption & ServerOptions & { out: string; shares?: string }) => {
    const out = ctx.output(options);
    const sharesText = options.shares === undefined ? undefined : await readSmallFile(options.shares, 1024 * 1024);
    const document = await fetchKit(ctx, account, options, out);
    const shares = sharesText === undefined || options.shares === undefined ? undefined : ceremonyShares(document, sharesText, options.shares);
    const files = await renderKitFiles(document, shares);
    const paths = await writeKitDir(options.out, files, (text) => out.note(text));
    out.result({ dir: options.out, kitSerial: document.kitSerial, files: paths }, () =>
      [
        `exported the kit of ${document.account} (serial ${document.kitSerial}, ${document.threshold} of ${document.custodians.length} custodians) to ${options.out}:`,
        ...files.map((file, i) => `  ${paths[i] ?? file.name}${file.name.startsWith('envelope-') ? (file.holdsShare ? '  (with share)' : '  (no share)') : ''}`),
        '',
        'next: open each envelope in a browser and print it (or "Save as PDF"); hand it sealed to its custodian.',
        '      Keep copies of sealed.json with the envelopes; re-export it after each rotation (`breakglass kit status` tells).',
      ].join('\n'),
    );
    if (shares === undefined) {
      out.note('warning: the envelopes hold no share; each custodian attaches or writes their own share in their envelope');
    } else {
      out.note(`warning: ${options.out} now holds every custodian's share: print the envelopes, hand each one sealed to its custodian, then delete the envelope files and ${options.shares ?? 'the ceremony output'}`);
    }
  });
}

/** `--max-age 30d` in ms; `off` (or `0`) never warns by age. */
function parseMaxAge(value: string): number | undefined {
  if (value === 'off' || value === '0') return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new CliError(exitCodes.usage, `--max-age ${JSON.stringify(value)}: use a duration such as 30d or 12h, or off`);
  return ms;
}

function parseVersion(value: string): number {
  if (!/^[0-9]{1,9}$/.test(value)) throw new CliError(exitCodes.usage, `--expect-version ${JSON.stringify(value)}: use the secret version, a whole number`);
  return Number(value);
}

/**
 * issue 12 (P4): `--check-server` only. Asks Breakglass, if it answers within 5 s, for the
 * current kit of the account: a newer secret version or another ceremony is then known. Offline
 * is the normal case here, so an unreachable server is a note, not an error.
 */
async function serverKnows(ctx: CommandContext, kit: KitDocument, options: ServerOptions, out: Output): Promise<{ version?: number; warnings: string[] }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5_000);
    timer.unref();
  });
  try {
    const current = await Promise.race([ctx.client(options, out).get(kitPath(kit.account), kitDocumentSchema), timeout]);
    if (current.kid !== kit.kid) {
      return { warnings: [`Breakglass reports a newer key ceremony of ${kit.account} (serial ${current.kitSerial}): this kit and its envelopes are stale; the credential below is most likely dead.`] };
    }
    return { version: current.secretVersion, warnings: [] };
  } catch (error) {
    const why = error instanceof CliError || error instanceof Error ? error.message : 'unreachable';
    out.note(`note: could not check the kit with Breakglass (${why}); going on offline`);
    return { warnings: [] };
  } finally {
    clearTimeout(timer);
  }
}

interface OpenOptions extends JsonOption, ServerOptions {
  checkServer?: boolean;
  sealed: string;
  shareFile?: string[];
  identity?: string[];
  maxAge: string;
  expectVersion?: number;
}

function registerOpen(kit: Command, ctx: CommandContext): void {
  const open = kit
    .command('open')
    .description('open a kit offline with the shares of k custodians and print the credential (no server, no database)')
    .requiredOption('--sealed <file>', 'the sealed.json written by `breakglass kit export`')
    .option('--share-file <file>', "a file holding one custodian's share (bgshare1.… or, encrypted to them, bgshare1e.…); once per custodian", collect)
    // issue 12 (P4): encrypted shares, and loud warnings about a possibly stale sealed.json.
    .option('--identity <file>', "a custodian's key file (breakglass custodian keygen) for a share encrypted to them; once per such custodian", collect)
    .option('--max-age <duration>', 'warn when the kit was issued longer ago than this (e.g. 30d, 12h; off: never)', '30d')
    .option('--expect-version <n>', 'a secret version known to exist (e.g. from the last `kit status`); warn when the kit is older', parseVersion)
    .option('--check-server', 'also ask Breakglass, if it answers, for the current serial (off by default: kit open needs no server)');
  serverOptions(jsonOption(open));
  example(
    open,
    'breakglass kit open --sealed sealed.json --share-file /dev/shm/share-carol.txt --share-file /dev/shm/share-dave.txt',
    'breakglass kit open --sealed sealed.json --share-file share-carol.txt --identity ~/.breakglass-custodian.key --share-file share-dave.txt --identity dave.key',
    'breakglass kit open --sealed sealed.json --share-file a.txt --share-file b.txt --expect-version 7 --json > /dev/shm/cred.json',
  );
  open.action(async (options: OpenOptions) => {
    const out = ctx.output(options);
    const maxAgeMs = parseMaxAge(options.maxAge);
    const document = await readKitFile(options.sealed);
    const inputs: ShareInput[] = [];
    for (const file of options.shareFile ?? []) inputs.push({ source: file, text: await readSmallFile(file, 64 * 1024) });
    const identities: IdentityInput[] = [];
    for (const file of options.identity ?? []) identities.push({ source: file, text: await readSmallFile(file, 4 * 1024) });
    const credential = await openKit(document, inputs, identities);
    const now = ctx.deps.now?.() ?? new Date();
    const known: { version?: number; warnings: string[] } = options.checkServer === true ? await serverKnows(ctx, document, options, out) : { warnings: [] };
    const versions = [options.expectVersion, known.version].filter((v): v is number => v !== undefined);
    const expectVersion = versions.length === 0 ? undefined : Math.max(...versions);
    const warnings = [...known.warnings, ...kitStaleness(document, { now, maxAgeMs, expectVersion })];
    // Before the credential on a terminal too: whoever reads it must not miss that it may be dead.
    for (const warning of warnings) out.note(out.style.red(`WARNING: ${warning}`));
    out.result(warnings.length === 0 ? credential : { ...credential, warnings }, () =>
      [`account   ${document.account} on ${describeTarget(document)}`, `username  ${credential.username}`, `password  ${credential.password}`].join('\n'),
    );
    out.note(
      'warning: this credential was opened outside Breakglass. Report the use to the security team and the incident owner now;\n' +
        `         when Breakglass is back, record the case (\`breakglass invoke ${document.account} …\`) so the secret is rotated and certified,\n` +
        '         and hold a new key ceremony: the account key was rebuilt on this machine. Delete the share files.',
    );
  });
}

function registerStatus(kit: Command, ctx: CommandContext): void {
  const status = kit
    .command('status')
    .description("show the serial of an account's current kit; with --sealed, whether a sealed.json is current (exit 1 when stale)")
    .argument('<account>', 'a dual-control account')
    .option('--sealed <file>', 'a sealed.json to compare with the current kit');
  serverOptions(jsonOption(status));
  example(status, 'breakglass kit status pg-vault', 'breakglass kit status pg-vault --sealed /media/safe/kit-pg-vault/sealed.json');
  status.action(async (account: string, options: JsonOption & ServerOptions & { sealed?: string }) => {
    const out = ctx.output(options);
    const local = options.sealed === undefined ? undefined : await readKitFile(options.sealed);
    if (local !== undefined && local.account !== account) {
      throw new CliError(exitCodes.usage, `${options.sealed ?? 'the sealed file'} is the kit of ${local.account}, not of ${account}`);
    }
    const kitDoc = await fetchKit(ctx, account, options, out);
    const current = { account: kitDoc.account, kitSerial: kitDoc.kitSerial, secretVersion: kitDoc.secretVersion, issuedAt: kitDoc.issuedAt };
    const stale = local !== undefined && local.kitSerial !== kitDoc.kitSerial;
    const result = local === undefined ? current : { ...current, sealed: { file: options.sealed, kitSerial: local.kitSerial, current: !stale } };
    out.result(result, () => {
      const lines = [`kit of ${kitDoc.account}: serial ${kitDoc.kitSerial} (secret version ${kitDoc.secretVersion}, issued ${kitDoc.issuedAt})`];
      if (local !== undefined) {
        lines.push(
          stale
            ? out.style.red(`STALE: this sealed file is serial ${local.kitSerial}, the current one is ${kitDoc.kitSerial} (re-export the kit)`)
            : out.style.green('current'),
        );
      }
      return lines.join('\n');
    });
    if (stale) {
      out.note(`hint: breakglass kit export ${account} --out DIR${local.kid === kitDoc.kid ? ' (the envelopes stay valid: same ceremony)' : ' (new ceremony: the envelopes are stale too)'}`);
      throw new ExitWith(exitCodes.error);
    }
  });
}

export function registerKitCommands(program: Command, ctx: CommandContext): void {
  const kit = program.command('kit').description('the offline kit: a sealed credential and printable custodian envelopes, for when Breakglass is down');
  example(
    kit,
    'breakglass kit export pg-vault --out ./kit-pg-vault',
    'breakglass kit open --sealed sealed.json --share-file share-carol.txt --share-file share-dave.txt',
    'breakglass kit status pg-vault --sealed ./kit-pg-vault/sealed.json',
  );
  registerExport(kit, ctx);
  registerOpen(kit, ctx);
  registerStatus(kit, ctx);
}
