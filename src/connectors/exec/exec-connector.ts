/**
 * The script connector (`type: exec`): every operation runs an executable the operator wrote,
 * speaking the JSON protocol of examples/README.md. What the script can do is declared in the
 * target settings (`capabilities`) and confirmed by the script itself before the first call.
 * Invariants and import rules: ./README.md.
 */
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import type { Connector, ConnectorCapabilities, ConnectorDriver, SettingsContext, TargetConnection } from '../../ports/index.js';
import { parseSettings, parseTimeout } from '../lib/target-settings.js';
import { createCaller } from './exec-admin.js';
import { execEphemeral } from './exec-ephemeral.js';
import type { InvokerConfig } from './exec-invoker.js';
import { execPrestaged } from './exec-prestaged.js';
import { declaredCapabilities } from './exec-spec.js';

const noNul = (text: string) => !text.includes('\0');
const absolutePath = z.string().max(4096).refine((p) => isAbsolute(p) && noNul(p), 'must be an absolute path without NUL');

const settingsSchema = z.object({
  command: absolutePath,
  args: z.array(z.string().max(4096).refine(noNul, 'must not contain NUL')).max(64).optional(),
  workingDirectory: absolutePath.optional(),
  // Loose here as before: the catalog already refuses keys it does not know.
  capabilities: declaredCapabilities.loose().optional(),
});

type Declared = NonNullable<z.infer<typeof settingsSchema>['capabilities']>;

/**
 * Creates the connector for one script target. Nothing runs until the first call; then the
 * script is asked once (per connector) to confirm every capability the settings claim.
 *
 * @example
 *   const target = createExecConnector({
 *     type: 'exec',
 *     settings: {
 *       command: '/opt/breakglass/exec-mariadb.sh',
 *       args: ['--host', 'db.internal', '--port', '3306', '--user', 'breakglass'],
 *       capabilities: { supportsPrestaged: true, supportsEphemeral: true, supportsSessionKill: true },
 *     },
 *     adminSecret: unsealedAdminPassword,
 *   });
 *   await target.prestaged?.disable('oncall_dba');
 */
export function createExecConnector(target: TargetConnection): Connector {
  const settings = parseSettings('exec', settingsSchema, target.settings);
  const timeoutMs = parseTimeout('exec', target.timeoutMs);
  const declared: Declared = settings.capabilities ?? {};
  // Whatever the settings do not claim, the connector does not offer: never over-promise
  // session kill or native expiry on the strength of a script nobody has asked yet.
  const capabilities: ConnectorCapabilities = Object.freeze({
    supportsSessionKill: declared.supportsSessionKill === true,
    supportsNativeExpiry: declared.supportsNativeExpiry === true,
    supportsPrestaged: declared.supportsPrestaged === true,
    supportsEphemeral: declared.supportsEphemeral === true,
  });
  const config: InvokerConfig = {
    command: settings.command,
    args: settings.args ?? [],
    workingDirectory: settings.workingDirectory,
    timeoutMs,
    adminSecret: target.adminSecret === '' ? undefined : target.adminSecret,
    label: target.name === undefined ? JSON.stringify(settings.command) : JSON.stringify(target.name),
  };
  const calls = createCaller(config, capabilities);
  return {
    capabilities,
    ...(capabilities.supportsPrestaged ? { prestaged: execPrestaged(calls.call) } : {}),
    ...(capabilities.supportsEphemeral ? { ephemeral: execEphemeral(calls.call) } : {}),
    close: calls.close,
  };
}

/**
 * The server runs only scripts under a directory it allows (BREAKGLASS_EXEC_DIRS): whoever may
 * apply a catalog must not be able to run any executable on the server. The checked, resolved
 * path is what runs: a symlink swapped after the check changes nothing.
 */
function prepareSettings(settings: Readonly<Record<string, unknown>>, context: SettingsContext): Readonly<Record<string, unknown>> {
  return { ...settings, command: allowedExecutable(settings['command'], context.execDirs) };
}

function allowedExecutable(command: unknown, execDirs: readonly string[]): string {
  const real = typeof command === 'string' && existsSync(command) ? realpathSync(command) : undefined;
  const allowed = real !== undefined && execDirs.some((dir) => existsSync(dir) && real.startsWith(`${realpathSync(dir)}/`));
  if (!allowed || real === undefined) {
    throw new AppError('target_error', `exec target command is not under a directory the server allows; list its directory in BREAKGLASS_EXEC_DIRS`);
  }
  return real;
}

export const execDriver: ConnectorDriver = { create: createExecConnector, prepareSettings };

