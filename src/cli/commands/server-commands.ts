/** `init` and `serve`: the local, offline side of a Breakglass installation. */
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { example, jsonOption, type CommandContext, type JsonOption } from '../command-context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { sealChoice, sealOptions, sealSecretSources, type SealFlags } from './operator-commands.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535) throw new InvalidArgumentError('a port is a number from 0 to 65535.');
  return port;
}

const loopbackHosts = new Set(['localhost', '::1', '[::1]']);
const isLoopback = (host: string) => loopbackHosts.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

interface ServeFlags {
  readonly dataDir: string;
  readonly port?: number;
  readonly host?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/** Where and how `serve` listens: flags first, then BREAKGLASS_PORT, _HOST, _TLS_CERT, _TLS_KEY, then the defaults. */
export function listenSettings(options: ServeFlags, env: Record<string, string | undefined>) {
  const fromEnv = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  let port = options.port;
  const envPort = fromEnv('BREAKGLASS_PORT');
  if (port === undefined && envPort !== undefined) {
    try {
      port = parsePort(envPort);
    } catch {
      throw new CliError(exitCodes.usage, `BREAKGLASS_PORT "${envPort}" is not a port: a port is a number from 0 to 65535`);
    }
  }
  const host = options.host ?? fromEnv('BREAKGLASS_HOST') ?? '127.0.0.1';
  const certFile = options.tlsCert ?? fromEnv('BREAKGLASS_TLS_CERT');
  const keyFile = options.tlsKey ?? fromEnv('BREAKGLASS_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new CliError(exitCodes.usage, 'HTTPS needs both a certificate and its key: --tls-cert FILE --tls-key FILE (or BREAKGLASS_TLS_CERT and BREAKGLASS_TLS_KEY)');
  }
  const tls = certFile !== undefined && keyFile !== undefined ? { certFile: resolve(certFile), keyFile: resolve(keyFile) } : undefined;
  return { port: port ?? 8420, host, tls };
}

export function registerServerCommands(program: Command, ctx: CommandContext): void {
  const init = sealOptions(
    program
      .command('init')
      .description('create a data directory (sealed root key, embedded store) and print the one-time admin token')
      .option('--data-dir <dir>', 'data directory (env BREAKGLASS_DATA_DIR)', ctx.dataDirDefault),
    'keyfile',
  );
  jsonOption(init);
  init.addHelpText(
    'after',
    '\nSeals: keyfile (quick start: the key sits beside the data), passphrase (argon2id; BREAKGLASS_PASSPHRASE or a prompt),\n' +
      'shamir (k-of-n unseal shares, printed once; the server starts sealed), pkcs11 (an HSM key; PIN in BREAKGLASS_PKCS11_PIN).',
  );
  example(
    init,
    'breakglass init --data-dir /var/lib/breakglass',
    'breakglass init --data-dir ./.breakglass --json | jq -r .adminToken',
    'breakglass init --seal shamir --unseal-shares 5 --unseal-threshold 3 --json > /dev/shm/init.json',
    'BREAKGLASS_PKCS11_PIN=... breakglass init --seal pkcs11 --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pkcs11-token breakglass',
  );
  init.action(async (options: { dataDir: string } & SealFlags & JsonOption) => {
    const out = ctx.output(options);
    const seal = sealChoice(options) ?? { mode: 'keyfile' as const };
    const { adminToken, dataDir, unsealShares } = await ctx.deps.init({
      dataDir: resolve(options.dataDir),
      seal,
      secrets: sealSecretSources(ctx.deps, { passphraseIsNew: true }),
    });
    if (seal.mode === 'keyfile') {
      out.note(
        `warning: the root key is in ${dataDir}/root.key, beside the data it protects (keyfile seal, for a quick start). ` +
          'Anyone who copies the directory opens every secret; in production use --seal passphrase, shamir or pkcs11 (or `breakglass operator rekey --seal …` later).',
      );
    }
    out.result(unsealShares === undefined ? { adminToken } : { adminToken, unsealShares }, () => {
      const lines = [`initialised ${dataDir} (root key seal: ${seal.mode})`, '', `admin token: ${adminToken}`, out.style.yellow('This token is shown once; store it now (a password manager, not a shell history).'), ''];
      if (unsealShares !== undefined) {
        const threshold = seal.unsealThreshold ?? 3;
        lines.push(out.style.bold(`unseal shares (shown once; give each to a different operator; any ${threshold} unseal the server):`));
        unsealShares.forEach((share, i) => lines.push(`  ${i + 1}/${unsealShares.length}  ${share}`));
        lines.push(out.style.yellow('Breakglass keeps none of them. The server starts SEALED: operators unseal it with `breakglass operator unseal`.'), '');
      }
      lines.push(`next: breakglass serve --data-dir ${dataDir}`, '      export BREAKGLASS_TOKEN=<the admin token>; breakglass apply -f catalog.yaml');
      return lines.join('\n');
    });
  });

  const serve = program
    .command('serve')
    .description('run the Breakglass server (API, scheduler) until SIGINT or SIGTERM')
    .option('--data-dir <dir>', 'data directory (env BREAKGLASS_DATA_DIR)', ctx.dataDirDefault)
    .option('--port <n>', 'TCP port (env BREAKGLASS_PORT, default 8420)', parsePort)
    .option('--host <host>', 'interface to listen on (env BREAKGLASS_HOST, default 127.0.0.1)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain) (env BREAKGLASS_TLS_CERT)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert (env BREAKGLASS_TLS_KEY)');
  example(
    serve,
    'breakglass serve --data-dir /var/lib/breakglass --port 8420',
    'breakglass serve --host 0.0.0.0 --tls-cert /etc/breakglass/tls.crt --tls-key /etc/breakglass/tls.key',
  );
  serve.action(async (options: ServeFlags) => {
    const out = ctx.output({});
    const { port, host, tls } = listenSettings(options, ctx.deps.env);
    if (tls === undefined && !isLoopback(host)) {
      // Tokens, shares and revealed credentials would cross the network in clear text.
      out.note(
        out.style.red(
          `WARNING: listening on ${host} without TLS: tokens and revealed credentials travel in clear text. ` +
            'Use --tls-cert FILE --tls-key FILE (or a TLS-terminating proxy on this machine and --host 127.0.0.1).',
        ),
      );
    }
    await ctx.deps.serve({
      dataDir: resolve(options.dataDir),
      port,
      host,
      ...(tls === undefined ? {} : { tls }),
      secrets: sealSecretSources(ctx.deps),
      onListening: (url, seal) => {
        out.print(`breakglass listening on ${url} (stop with Ctrl-C)`);
        if (seal?.sealed === true) {
          out.print(out.style.yellow(`SEALED: nothing runs (no revocation) until ${seal.threshold ?? 'k'} operators run \`breakglass operator unseal\``));
        }
      },
    });
  });
}
