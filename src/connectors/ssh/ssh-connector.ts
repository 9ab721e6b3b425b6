/**
 * The SSH connector: ephemeral OpenSSH user certificates (ssh-ephemeral.ts) signed by the
 * Breakglass CA (ssh-admin.ts), revoked through a KRL (revocation-list.ts).
 * Invariants and import rules: ./README.md.
 */
import { existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { AppError } from '../../errors/index.js';
import type { Connector, ConnectorCapabilities, ConnectorDriver, SettingsContext, TargetConnection } from '../../ports/index.js';
import { parseTimeout } from '../lib/target-settings.js';
import { checkAdminSecret, generateAdminSecret, publicInfo } from './ssh-admin.js';
import { sshEphemeral } from './ssh-ephemeral.js';
import { parseDrillHost } from './ssh-login.js';

const capabilities: ConnectorCapabilities = Object.freeze({
  // sshd checks the KRL only when a key authenticates: an open session survives revocation.
  supportsSessionKill: false,
  supportsNativeExpiry: true,
  supportsPrestaged: false,
  supportsEphemeral: true,
});

function parseKrlPath(settings: Readonly<Record<string, unknown>>): string {
  const krlPath = settings['krlPath'];
  if (typeof krlPath !== 'string' || !isAbsolute(krlPath) || krlPath.includes('\0') || krlPath.endsWith('/')) {
    throw new AppError('validation', 'ssh target settings need krlPath: the absolute path of the KRL file', { path: 'settings.krlPath' });
  }
  return krlPath;
}

/**
 * Creates the connector for one SSH target (a fleet of hosts trusting the Breakglass CA and
 * reading the KRL). Nothing runs until the first call.
 *
 * @example
 *   const ssh = createSshConnector({ type: 'ssh', settings: { krlPath: '/var/lib/breakglass/ssh/revoked.krl' }, adminSecret: caKey });
 *   const cred = await ssh.ephemeral?.issue({ grantId: 'gr_k3q…', spec: { principals: ['oncall'] }, validUntil });
 */
export function createSshConnector(target: TargetConnection): Connector {
  const krlPath = parseKrlPath(target.settings);
  const caKey = checkAdminSecret(target.adminSecret);
  const timeoutMs = parseTimeout('ssh', target.timeoutMs);
  const drillHost = parseDrillHost(target.settings);
  return {
    capabilities,
    ephemeral: sshEphemeral({ krlPath, caKey, timeoutMs, drillHost }),
    async close() {
      // Nothing pooled: every operation runs ssh-keygen and cleans up after itself.
    },
  };
}

/**
 * Without a `krlPath` the KRL lives in the data directory, `ssh/<target name>.krl` (the
 * directory made 0700). A `krlPath` must name a `.krl` file under the data directory or a
 * directory the server allows (BREAKGLASS_KRL_DIRS), checked on the real path (`..` and
 * symlinks resolved): whoever may apply a catalog must not be able to aim the server's KRL
 * writes at any file the server can write. The resolved path is what the connector uses.
 */
function prepareSettings(settings: Readonly<Record<string, unknown>>, context: SettingsContext): Readonly<Record<string, unknown>> {
  const krlPath = settings['krlPath'];
  if (typeof krlPath === 'string' && !krlPath.endsWith('.krl')) throw new AppError('target_error', 'ssh krlPath must name a .krl file');
  if (krlPath === undefined) {
    const defaultPath = join(context.dataDir, 'ssh', `${context.targetName ?? 'default'}.krl`);
    mkdirSync(dirname(defaultPath), { recursive: true, mode: 0o700 });
    return { ...settings, krlPath: defaultPath };
  }
  return { ...settings, krlPath: allowedKrlPath(parseKrlPath(settings), [context.dataDir, ...context.krlDirs]) };
}

function allowedKrlPath(krlPath: string, allowedDirs: readonly string[]): string {
  const real = realPathOf(krlPath);
  const allowed = allowedDirs.some((dir) => existsSync(dir) && isWithin(real, realpathSync(dir)));
  if (!allowed) {
    throw new AppError(
      'target_error',
      `ssh krlPath ${krlPath} is outside the data directory and BREAKGLASS_KRL_DIRS; keep the KRL under the data directory (or omit krlPath) or list its directory in BREAKGLASS_KRL_DIRS on the server`,
    );
  }
  return real;
}

const isWithin = (path: string, dir: string) => path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);

/**
 * The real path of a file that may not exist yet (nor its directory, e.g. an unmounted share):
 * the deepest existing ancestor resolved, the rest appended. A dangling symlink is followed to
 * where it points (reads of the KRL would follow it). `..` is resolved first.
 */
function realPathOf(path: string, depth = 0): string {
  if (depth > 40) throw new AppError('target_error', `ssh krlPath ${path}: too many levels of symbolic links`);
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  if (lstatSync(absolute, { throwIfNoEntry: false })?.isSymbolicLink()) return realPathOf(resolve(dirname(absolute), readlinkSync(absolute)), depth + 1);
  const parent = dirname(absolute);
  if (parent === absolute) return absolute;
  return join(realPathOf(parent, depth + 1), basename(absolute));
}

export const sshDriver: ConnectorDriver = { create: createSshConnector, generateAdminSecret, publicInfo, prepareSettings };
