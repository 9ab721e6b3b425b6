/** `init` and `serve`: the local, offline side of a Breakglass installation. */
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { example, jsonOption, type CommandContext, type JsonOption } from '../command-context.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535) throw new InvalidArgumentError('a port is a number from 0 to 65535.');
  return port;
}

export function registerServerCommands(program: Command, ctx: CommandContext): void {
  const init = program
    .command('init')
    .description('create a data directory (keys, embedded store) and print the one-time admin token')
    .option('--data-dir <dir>', 'data directory (env BREAKGLASS_DATA_DIR)', ctx.dataDirDefault);
  jsonOption(init);
  example(init, 'breakglass init --data-dir /var/lib/breakglass', 'breakglass init --data-dir ./.breakglass --json | jq -r .adminToken');
  init.action(async (options: { dataDir: string } & JsonOption) => {
    const out = ctx.output(options);
    const { adminToken, dataDir } = await ctx.deps.init({ dataDir: resolve(options.dataDir) });
    out.result({ adminToken }, () =>
      [
        `initialised ${dataDir}`,
        '',
        `admin token: ${adminToken}`,
        out.style.yellow('This token is shown once; store it now (a password manager, not a shell history).'),
        '',
        `next: breakglass serve --data-dir ${dataDir}`,
        '      export BREAKGLASS_TOKEN=<the admin token>; breakglass apply -f catalog.yaml',
      ].join('\n'),
    );
  });

  const serve = program
    .command('serve')
    .description('run the Breakglass server (API, scheduler) until SIGINT or SIGTERM')
    .option('--data-dir <dir>', 'data directory (env BREAKGLASS_DATA_DIR)', ctx.dataDirDefault)
    .option('--port <n>', 'TCP port', parsePort, 8420)
    .option('--host <host>', 'interface to listen on', '127.0.0.1');
  example(serve, 'breakglass serve --data-dir /var/lib/breakglass --port 8420');
  serve.action(async (options: { dataDir: string; port: number; host: string }) => {
    const out = ctx.output({});
    await ctx.deps.serve({
      dataDir: resolve(options.dataDir),
      port: options.port,
      host: options.host,
      onListening: (url) => out.print(`breakglass listening on ${url} (stop with Ctrl-C)`),
    });
  });
}
