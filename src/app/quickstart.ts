import { initDataDir } from './init.js';
import { isInitialised } from './data-dir.js';
import { promptHidden } from './prompt.js';
import { serveUntilSignalled } from './serve-until-signalled.js';
import { serverEnv } from './server-env.js';
import { startServer } from './server.js';

/**
 * `npm start`: initialise ./.breakglass on first run (printing the one-time admin token),
 * then serve on 127.0.0.1:8420 (BREAKGLASS_PORT, BREAKGLASS_HOST, BREAKGLASS_DATA_DIR override).
 */
const dataDir = process.env['BREAKGLASS_DATA_DIR'] ?? '.breakglass';
const port = Number(process.env['BREAKGLASS_PORT'] ?? 8420);
const host = process.env['BREAKGLASS_HOST'] ?? '127.0.0.1';
const env = serverEnv(process.env);
const databaseUrl = env.databaseUrl;
const out = (line: string) => process.stdout.write(`${line}\n`);

if (!isInitialised(dataDir)) {
  const { adminToken } = await initDataDir({ dataDir, databaseUrl });
  out(`Initialised ${dataDir} (embedded SQLite store, root key in ${dataDir}/root.key, mode 0600).`);
  out('WARNING: the root key sits beside the data in quick-start mode; see README "Root key sealing" (breakglass operator rekey --seal …).');
  out('');
  out(`Admin token (shown once, store it now): ${adminToken}`);
  out(`  export BREAKGLASS_TOKEN=${adminToken}`);
  out('');
}
// A data dir sealed with a passphrase or an HSM (see README "Root key sealing") opens with
// BREAKGLASS_PASSPHRASE / BREAKGLASS_PKCS11_PIN, or a prompt on a terminal.
const secret = (value: string | undefined, prompt: string, name: string) => () =>
  value !== undefined ? Promise.resolve(value) : process.stdin.isTTY ? promptHidden(prompt) : Promise.reject(new Error(`set ${name}: there is no terminal to ask for it`));
const server = await startServer({
  dataDir,
  port,
  host,
  databaseUrl,
  execDirs: env.execDirs,
  publicUrl: env.publicUrl,
  driftIntervalMs: env.driftIntervalMs,
  jobConcurrency: env.jobConcurrency,
  targetConnections: env.targetConnections,
  metricsToken: env.metricsToken,
  krlDirs: env.krlDirs,
  logger: { level: env.logLevel ?? 'warn' },
  unsealInputs: { passphrase: secret(env.passphrase, 'passphrase: ', 'BREAKGLASS_PASSPHRASE'), pkcs11Pin: secret(env.pkcs11Pin, 'HSM user PIN: ', 'BREAKGLASS_PKCS11_PIN') },
});
out(`Breakglass is listening on ${server.url}  (API docs: ${server.url}/docs)`);
out(`  export BREAKGLASS_ADDR=${server.url}`);
if (server.sealStatus().sealed) out('SEALED: present unseal shares with `npx breakglass operator unseal`; nothing runs until then.');
await serveUntilSignalled(server, env.shutdownTimeoutMs);
