/**
 * Dual control from the command line: the key ceremony (admin), a custodian presenting their
 * share for a grant, and a custodian's own key pair so that ceremony shares can be encrypted
 * to them. Shares are read from files or stdin, never from argv (visible in the process list).
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { custodianPublicKey, generateCustodianKeyPair, openWithPrivateKey } from '../../crypto/index.js';
import { ceremonyResponseSchema, grantViewSchema, shareReceiptSchema } from '../../api/index.js';
import { example, jsonOption, serverOptions, type CommandContext, type JsonOption, type ServerOptions } from '../command-context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { readProcessStdin } from '../read-stdin.js';


const encryptedPrefix = 'bgshare1e.';

async function readSecretInput(file: string | undefined, stdin: () => Promise<string>): Promise<string> {
  if (file === undefined || file === '-') return stdin();
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new CliError(exitCodes.usage, `${file}: cannot read it`);
  }
}


/** A share encrypted to this custodian at the ceremony is opened locally with their key file. */
async function openShare(text: string, identity: string | undefined, grantAccount: string): Promise<string> {
  const compact = text.replace(/\s+/g, '');
  if (!compact.startsWith(encryptedPrefix)) return compact;
  if (identity === undefined) throw new CliError(exitCodes.usage, 'this share is encrypted to you: pass --identity FILE (from `breakglass custodian keygen`)');
  // The holder may contain dots; the sealed part (base64url) never does.
  const rest = compact.slice(encryptedPrefix.length);
  const cut = rest.lastIndexOf('.');
  const [holder, body] = [rest.slice(0, Math.max(cut, 0)), rest.slice(cut + 1)];
  const key = Buffer.from((await readFile(identity, 'utf8')).trim(), 'base64url');
  const sealed = Buffer.from(body ?? '', 'base64url').toString('utf8');
  try {
    return openWithPrivateKey(key, sealed, `share:${grantAccount}:${holder ?? ''}`).toString('utf8');
  } catch {
    throw new CliError(exitCodes.usage, 'cannot decrypt the share with this identity (wrong key, or the share is for another account or custodian)');
  } finally {
    key.fill(0);
  }
}

export function registerCustodianCommands(program: Command, ctx: CommandContext): void {
  const ceremony = program
    .command('ceremony')
    .description('key ceremony of a dual-control account (admin): a new key, one share per custodian, shown once')
    .argument('<account>', 'the dual-control account');
  serverOptions(jsonOption(ceremony));
  example(ceremony, 'breakglass ceremony pg-vault --json > shares.json   # hand each custodian their share, then destroy the file');
  ceremony.action(async (account: string, options: JsonOption & ServerOptions) => {
    const out = ctx.output(options);
    const result = await ctx.client(options, out).post(`/v1/accounts/${encodeURIComponent(account)}/ceremony`, ceremonyResponseSchema);
    out.result({ shares: result.shares }, () =>
      [
        `ceremony of ${result.account}: key ${result.kid}, ${result.threshold} of ${Object.keys(result.shares).length} custodians`,
        '',
        ...Object.entries(result.shares).flatMap(([holder, share]) => [`${holder}:`, `  ${share}`, '']),
      ].join('\n'),
    );
    if (result.plaintextFor.length > 0) {
      out.note(`warning: no recipient key registered for ${result.plaintextFor.join(', ')}: their shares are shown in plain text, once. Hand each over in person and destroy every copy you keep.`);
    }
    out.note('old shares of this account no longer work; print new envelopes with `breakglass kit export`.');
  });

  const share = program.command('share').description('custodian shares');
  example(share, 'breakglass share submit gr_01J9ZB6D4N2M --share-file ~/carol.share');
  const submit = share
    .command('submit')
    .description('present your share for a grant waiting for its custodian quorum')
    .argument('<grant-id>', 'the grant')
    .option('--share-file <file>', 'file holding your share (default: read stdin)')
    .option('--identity <file>', 'your key file, if the share was encrypted to you');
  serverOptions(jsonOption(submit));
  example(submit, 'breakglass share submit gr_01J9ZB6D4N2M --share-file carol.share', 'cat carol.share | breakglass share submit gr_01J9ZB6D4N2M');
  submit.action(async (id: string, options: JsonOption & ServerOptions & { shareFile?: string; identity?: string }) => {
    const out = ctx.output(options);
    const client = ctx.client(options, out);
    const text = await readSecretInput(options.shareFile, readProcessStdin);
    let shareText = text.trim();
    if (shareText.startsWith(encryptedPrefix)) {
      const grant = await client.get(`/v1/grants/${encodeURIComponent(id)}`, grantViewSchema);
      shareText = await openShare(shareText, options.identity, grant.account);
    }
    const receipt = await client.post(`/v1/grants/${encodeURIComponent(id)}/shares`, shareReceiptSchema, { share: shareText });
    out.result(receipt, () =>
      receipt.grant.state === 'awaiting-quorum'
        ? `share accepted: ${receipt.presented} of ${receipt.threshold}; waiting for the other custodians`
        : `share accepted: quorum reached; grant ${receipt.grant.id} is ${receipt.grant.state} (the requester can now reveal)`,
    );
  });

  const custodian = program.command('custodian').description("a custodian's own key pair");
  example(custodian, 'breakglass custodian keygen --out ~/.breakglass-custodian.key');
  const keygen = custodian
    .command('keygen')
    .description('make your key pair: keep the key file, give the printed recipient to your admin (users[].recipient)')
    .requiredOption('--out <file>', 'where to write your private key (created 0600, never overwritten)');
  jsonOption(keygen);
  example(keygen, 'breakglass custodian keygen --out ~/.breakglass-custodian.key');
  keygen.action(async (options: JsonOption & { out: string }) => {
    const out = ctx.output(options);
    const pair = generateCustodianKeyPair();
    try {
      await writeFile(options.out, `${pair.privateKey.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch {
      throw new CliError(exitCodes.usage, `${options.out}: cannot create it (it must not exist yet)`);
    } finally {
      pair.privateKey.fill(0);
    }
    out.result({ recipient: pair.publicKey, keyFile: options.out }, () => `recipient: ${pair.publicKey}\nkey file:  ${options.out} (keep it safe; shares encrypted to you open only with it)`);
  });

  const decrypt = custodian
    .command('decrypt')
    .description('decrypt a share encrypted to you into a plain share file, e.g. for `breakglass kit open` while Breakglass is down')
    .requiredOption('--share-file <file>', 'your encrypted share (bgshare1e.…)')
    .requiredOption('--identity <file>', 'your key file')
    .requiredOption('--account <name>', 'the account the share is for')
    .requiredOption('--out <file>', 'where to write the plain share (created 0600, never overwritten)');
  jsonOption(decrypt);
  example(decrypt, 'breakglass custodian decrypt --share-file carol.share --identity ~/.breakglass-custodian.key --account pg-vault --out /dev/shm/carol.share');
  decrypt.action(async (options: JsonOption & { shareFile: string; identity: string; account: string; out: string }) => {
    const out = ctx.output(options);
    const plain = await openShare(await readSecretInput(options.shareFile, readProcessStdin), options.identity, options.account);
    try {
      await writeFile(options.out, `${plain}\n`, { mode: 0o600, flag: 'wx' });
    } catch {
      throw new CliError(exitCodes.usage, `${options.out}: cannot create it (it must not exist yet)`);
    }
    out.result({ file: options.out }, () => `plain share written to ${options.out} (0600); shred it after use`);
  });

  const recipient = custodian.command('recipient').description('print the recipient of a key file').requiredOption('--identity <file>', 'your key file');
  jsonOption(recipient);
  example(recipient, 'breakglass custodian recipient --identity ~/.breakglass-custodian.key');
  recipient.action(async (options: JsonOption & { identity: string }) => {
    const out = ctx.output(options);
    const key = Buffer.from((await readFile(options.identity, 'utf8')).trim(), 'base64url');
    const value = custodianPublicKey(key);
    key.fill(0);
    out.result({ recipient: value }, () => value);
  });
}
