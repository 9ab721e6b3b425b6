/**
 * What every command gets: the injected dependencies, an output for its mode, a client of the
 * server, and the shared options (`--json`, `--addr`, `--token`) with their help text.
 */
import type { Command } from 'commander';
import type { CliDeps } from './cli-deps.js';
import { createApiClient, fetchTrusting, sendsTokenInClear, type ApiClient } from './http-client.js';
import { createOutput, type Output } from './output.js';

export const defaultAddr = 'http://127.0.0.1:8420';
export const defaultDataDir = './.breakglass';

export interface ServerOptions {
  readonly addr?: string;
  readonly token?: string;
}

export interface JsonOption {
  readonly json?: boolean;
}

export interface CommandContext {
  readonly deps: CliDeps;
  output(options: JsonOption): Output;
  /** A client for `--addr` / BREAKGLASS_ADDR with `--token` / BREAKGLASS_TOKEN. */
  client(options: ServerOptions, output: Output): ApiClient;
  /** `--data-dir`, else BREAKGLASS_DATA_DIR, else ./.breakglass. */
  readonly dataDirDefault: string;
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

export function createCommandContext(deps: CliDeps): CommandContext {
  return {
    deps,
    dataDirDefault: nonEmpty(deps.env['BREAKGLASS_DATA_DIR']) ?? defaultDataDir,
    output: (options) => createOutput(deps, options.json === true),
    client(options, output) {
      const addr = options.addr ?? nonEmpty(deps.env['BREAKGLASS_ADDR']) ?? defaultAddr;
      if (options.token !== undefined) {
        output.note('warning: --token is visible to other users in the process list; prefer BREAKGLASS_TOKEN');
      }
      const token = options.token ?? nonEmpty(deps.env['BREAKGLASS_TOKEN']);
      const caFile = nonEmpty(deps.env['BREAKGLASS_CA_FILE']);
      const client = createApiClient({ addr, token, fetch: caFile === undefined ? deps.fetch : fetchTrusting(caFile) });
      if (token !== undefined && sendsTokenInClear(client.addr)) {
        output.note(`warning: sending the token unencrypted to ${client.addr}; use https:// for remote servers`);
      }
      return client;
    },
  };
}

export function jsonOption(command: Command): Command {
  return command.option('--json', 'print one JSON document on stdout, for scripts');
}

export function serverOptions(command: Command): Command {
  return command
    .option('--addr <url>', `server address (env BREAKGLASS_ADDR, default ${defaultAddr})`)
    .option('--token <token>', 'API token (discouraged: visible in the process list; set BREAKGLASS_TOKEN instead)');
}

/** Every command's --help ends with an example. */
export function example(command: Command, ...lines: string[]): Command {
  return command.addHelpText('after', `\nExample:\n${lines.map((line) => `  ${line}`).join('\n')}`);
}
