/** `audit verify` (server, exported bundle or stopped data dir) and `audit export`. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { auditVerificationSchema } from '../../api/index.js';
import type { AuditVerification } from '../cli-deps.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { CliError, ExitWith, exitCodes } from '../exit-codes.js';
import type { Output } from '../output.js';
import { writePrivateFile } from '../private-file.js';

const exportTimeoutMs = 10 * 60_000;

function report(out: Output, result: AuditVerification, source: string): void {
  out.result(result, () =>
    result.ok
      ? `${out.style.green('audit chain ok')} (${source}): ${result.events} events, head seq ${result.headSeq}, ${result.checkpoints} signed checkpoints` +
        (result.publicKeyFingerprint ? `\nsigned by key SHA256:${result.publicKeyFingerprint}; compare it with the server's (or pass --public-key)` : '')
      : out.style.red(`audit chain broken at seq ${result.firstBadSeq}: ${result.reason}`),
  );
  if (!result.ok) throw new ExitWith(exitCodes.auditBroken);
}

/**
 * Streams the body to `FILE.tmp` (created 0600, so the bundle is never readable by others, not
 * even half-written), syncs it and renames it into place. Returns the number of lines.
 */
async function writeBundle(response: Response, out: string): Promise<number> {
  let lines = 0;
  let last = 0x0a;
  await writePrivateFile(out, async (file) => {
    const reader = response.body?.getReader();
    for (;;) {
      const chunk = reader === undefined ? undefined : await reader.read();
      if (chunk === undefined || chunk.done) break;
      const bytes = chunk.value as Uint8Array;
      for (const byte of bytes) if (byte === 0x0a) lines += 1;
      last = bytes.at(-1) ?? last;
      await file.write(bytes);
    }
  });
  return last === 0x0a ? lines : lines + 1;
}

export function registerAuditCommands(program: Command, ctx: CommandContext): void {
  const audit = program.command('audit').description('the tamper-evident audit chain');
  example(audit, 'breakglass audit verify', 'breakglass audit export --out audit.jsonl && breakglass audit verify --file audit.jsonl');

  const verify = audit
    .command('verify')
    .description('verify the audit chain end to end: on the server, in an exported bundle (--file) or in a stopped data dir (--data-dir)')
    .option('--file <file>', 'an exported bundle (no server, no database needed)')
    .option('--data-dir <dir>', 'the data directory of a stopped server')
    .option('--public-key <file>', "with --file: the server's audit public key (PEM); the bundle must be signed by it");
  serverOptions(jsonOption(verify));
  example(verify, 'breakglass audit verify', 'breakglass audit verify --file audit.jsonl', 'breakglass audit verify --data-dir /var/lib/breakglass');
  verify.action(async (options: JsonOption & ServerOptions & { file?: string; dataDir?: string; publicKey?: string }) => {
    const out = ctx.output(options);
    if (options.file !== undefined && options.dataDir !== undefined) {
      throw new CliError(exitCodes.usage, 'use either --file or --data-dir, not both');
    }
    if (options.file !== undefined) {
      const publicKeyPem = options.publicKey === undefined ? undefined : await readFile(resolve(options.publicKey), 'utf8');
      return report(out, await ctx.deps.verifyFile(resolve(options.file), publicKeyPem === undefined ? {} : { publicKeyPem }), options.file);
    }
    if (options.dataDir !== undefined) return report(out, await ctx.deps.verifyDataDir(resolve(options.dataDir)), options.dataDir);
    const client = ctx.client(options, out);
    return report(out, await client.get('/v1/audit/verify', auditVerificationSchema), client.addr);
  });

  const exportCmd = audit
    .command('export')
    .description('export the chain as a self-contained JSON Lines bundle (events, checkpoints, public key)')
    .requiredOption('--out <file>', 'where to write the bundle (created with mode 0600)');
  serverOptions(jsonOption(exportCmd));
  example(exportCmd, 'breakglass audit export --out audit-2025-06.jsonl');
  exportCmd.action(async (options: JsonOption & ServerOptions & { out: string }) => {
    const out = ctx.output(options);
    const response = await ctx.client(options, out).download('/v1/audit/export', exportTimeoutMs);
    const lines = await writeBundle(response, options.out);
    out.result({ file: options.out, lines }, () => `exported ${lines} lines to ${options.out}`);
  });
}
