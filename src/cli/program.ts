/**
 * The `breakglass` command line. `buildProgram` wires the commands to injected dependencies;
 * `runCli` runs one invocation and returns its exit code (it never calls process.exit, so it
 * can be driven from tests and from the entry point in src/app/cli-main.ts alike).
 */
import { Command, CommanderError } from 'commander';
import { isAppError } from '../errors/index.js';
import type { CliDeps } from './cli-deps.js';
import { coloursEnabled, terminalSafe } from './output.js';
import { createCommandContext, defaultAddr, example } from './command-context.js';
import { registerAlertCommands } from './commands/alert-commands.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerDriftCommands } from './commands/drift-commands.js';
import { registerCatalogCommands } from './commands/catalog-commands.js';
import { registerGrantCommands } from './commands/grant-commands.js';
import { registerIdentityCommands } from './commands/identity-commands.js';
import { registerKitCommands } from './commands/kit-commands.js';
import { registerCustodianCommands } from './commands/custodian-commands.js';
import { registerDrillCommands } from './commands/drill-commands.js';
import { registerOperatorCommands } from './commands/operator-commands.js';
import { registerReportCommands } from './commands/report-commands.js';
import { registerServerCommands } from './commands/server-commands.js';
import { registerSshCommands } from './commands/ssh-commands.js';
import { registerTargetCommands } from './commands/target-commands.js';
// issue 11 (H1)
import { registerApprovalCommands } from './commands/approval-commands.js';
// issue 11 (H2)
import { registerBoundsCommands } from './commands/bounds-commands.js';
import { CliError, ExitWith, exitCodeForError, exitCodeHelp, exitCodes } from './exit-codes.js';

export type { AuditVerification, CliDeps } from './cli-deps.js';
export { exitCodes } from './exit-codes.js';

const environmentHelp = `Environment:
  BREAKGLASS_ADDR      server address (default ${defaultAddr})
  BREAKGLASS_TOKEN     API token (from \`breakglass init\` or \`breakglass token create\`)
  BREAKGLASS_CA_FILE   PEM file of the certificate authority that signed the server's HTTPS certificate
  BREAKGLASS_DATA_DIR  data directory for init, serve and audit verify (default ./.breakglass)
  NO_COLOR             set to disable colours`;

/**
 * The command tree. Settings made here before the subcommands are created (output, exit
 * override) are inherited by every subcommand.
 * @example await buildProgram(deps).parseAsync(['node', 'breakglass', 'grants'])
 */
export function buildProgram(deps: CliDeps): Command {
  const program = new Command('breakglass')
    .description('Governed emergency privileged access: invoke, reveal once, expire, revoke, rotate, certify.')
    .configureOutput({
      writeOut: (text) => deps.stdout(text),
      writeErr: (text) => deps.stderr(text),
      getOutHasColors: () => coloursEnabled(deps),
      getErrHasColors: () => false,
    })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${exitCodeHelp}\n\n${environmentHelp}`);
  example(
    program,
    'breakglass init --data-dir ./.breakglass && breakglass serve',
    'export BREAKGLASS_TOKEN=...; breakglass apply -f catalog.yaml',
    'breakglass invoke pg-breakglass --condition outage --reason "primary down" --incident INC-42',
  );
  const ctx = createCommandContext(deps);
  registerServerCommands(program, ctx);
  registerCatalogCommands(program, ctx);
  registerIdentityCommands(program, ctx);
  registerGrantCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerAlertCommands(program, ctx);
  registerDriftCommands(program, ctx);
  registerSshCommands(program, ctx);
  registerTargetCommands(program, ctx);
  registerCustodianCommands(program, ctx);
  registerDrillCommands(program, ctx);
  registerKitCommands(program, ctx);
  registerOperatorCommands(program, ctx);
  registerReportCommands(program, ctx);
  // issue 11 (H1)
  registerApprovalCommands(program, ctx);
  // issue 11 (H2)
  registerBoundsCommands(program, ctx);
  return program;
}

function report(deps: CliDeps, message: string, hint: string | undefined): void {
  const [first = '', ...rest] = message.split('\n');
  // A server's message may quote what someone sent it: shown inert, like every human text.
  deps.stderr(terminalSafe(`error: ${[first, ...rest.map((line) => `  ${line}`)].join('\n')}\n`));
  if (hint !== undefined) deps.stderr(terminalSafe(`hint: ${hint}\n`));
}

/**
 * Runs one invocation. `argv` is in the shape of `process.argv` (node, script, args…).
 * @example process.exitCode = await runCli(process.argv, deps)
 */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  try {
    await buildProgram(deps).parseAsync(argv, { from: 'node' });
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof ExitWith) return error.exitCode;
    if (error instanceof CommanderError) {
      // Commander has printed its message already; --help and --version are not failures.
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (error instanceof CliError) {
      report(deps, error.message, error.hint);
      return error.exitCode;
    }
    if (isAppError(error)) {
      report(deps, error.message, undefined);
      return exitCodeForError(error.code);
    }
    report(deps, error instanceof Error ? error.message : String(error), undefined);
    return exitCodes.error;
  }
}
