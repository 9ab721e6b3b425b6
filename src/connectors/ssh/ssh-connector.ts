/**
 * The SSH connector: ephemeral OpenSSH user certificates (ssh-ephemeral.ts) signed by the
 * Breakglass CA (ssh-admin.ts), revoked through a KRL (revocation-list.ts).
 * Invariants and import rules: ./README.md.
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { AppError } from '../../errors/index.js';
import type { Connector, ConnectorCapabilities, ConnectorDriver, SettingsContext, TargetConnection } from '../../ports/index.js';
import { parseTimeout } from '../lib/target-settings.js';
import { checkAdminSecret, generateAdminSecret, publicInfo } from './ssh-admin.js';
import { sshEphemeral } from './ssh-ephemeral.js';

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
  return {
    capabilities,
    ephemeral: sshEphemeral({ krlPath, caKey, timeoutMs }),
    async close() {
      // Nothing pooled: every operation runs ssh-keygen and cleans up after itself.
    },
  };
}

/**
 * Without a `krlPath` the KRL lives in the data directory, `ssh/<target name>.krl` (the
 * directory made 0700); a `krlPath` must name a `.krl` file, so a catalog cannot point the
 * server's KRL writes at any other file it can write.
 */
function prepareSettings(settings: Readonly<Record<string, unknown>>, context: SettingsContext): Readonly<Record<string, unknown>> {
  const krlPath = settings['krlPath'];
  if (typeof krlPath === 'string' && !krlPath.endsWith('.krl')) throw new AppError('target_error', 'ssh krlPath must name a .krl file');
  if (krlPath !== undefined) return settings;
  const defaultPath = join(context.dataDir, 'ssh', `${context.targetName ?? 'default'}.krl`);
  mkdirSync(dirname(defaultPath), { recursive: true, mode: 0o700 });
  return { ...settings, krlPath: defaultPath };
}

export const sshDriver: ConnectorDriver = { create: createSshConnector, generateAdminSecret, publicInfo, prepareSettings };
