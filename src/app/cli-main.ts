#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runCli } from '../cli/program.js';
import { AppError } from '../errors/index.js';
import { promptHidden } from './prompt.js';
import { serveUntilSignalled } from './serve-until-signalled.js';
import { serverEnv } from './server-env.js';

// The server side (store, HTTP, drivers) is loaded only by the commands that run it: most
// commands are HTTP clients, and a responder waits for each of them to start.
const server = () => import('./server.js');
const init = () => import('./init.js');
const offline = () => import('./offline-verify.js');
const rootKey = () => import('./root-key-commands.js');

const env = serverEnv(process.env);
// The CLI reads the seal secrets from its own copy; programs this process starts never see them.
const cliEnv = { ...process.env };
for (const name of ['BREAKGLASS_PASSPHRASE', 'BREAKGLASS_NEW_PASSPHRASE', 'BREAKGLASS_PKCS11_PIN']) delete process.env[name];

/** The `breakglass` executable: the CLI with its offline commands wired to the real parts. */
const code = await runCli(process.argv, {
  init: async ({ dataDir, seal, secrets }) =>
    (await init()).initDataDir({ dataDir, databaseUrl: env.databaseUrl, seal, secrets: { passphrase: secrets?.passphrase, pkcs11Pin: secrets?.pkcs11Pin } }),
  serve: async ({ dataDir, port, host, tls, onListening, secrets }) => {
    const { startServer } = await server();
    const running = await startServer({
      dataDir,
      port,
      host,
      ...(tls && { tls: { cert: readTlsFile(tls.certFile, 'certificate'), key: readTlsFile(tls.keyFile, 'key') } }),
      databaseUrl: env.databaseUrl,
      execDirs: env.execDirs,
      publicUrl: env.publicUrl,
      driftIntervalMs: env.driftIntervalMs,
      jobConcurrency: env.jobConcurrency,
      targetConnections: env.targetConnections,
      metricsToken: env.metricsToken,
      krlDirs: env.krlDirs,
      logger: { level: env.logLevel ?? 'info' },
      unsealInputs: { ...(secrets?.passphrase && { passphrase: secrets.passphrase }), ...(secrets?.pkcs11Pin && { pkcs11Pin: secrets.pkcs11Pin }) },
    });
    const status = running.sealStatus();
    onListening(running.url, { sealed: status.sealed, threshold: status.threshold });
    await serveUntilSignalled(running, env.shutdownTimeoutMs);
  },
  rekey: async ({ dataDir, seal, secrets, deliverShares }) =>
    (await rootKey()).rekeyRootKey({ dataDir, databaseUrl: env.databaseUrl, seal, inputs: secrets, newPassphrase: secrets.newPassphrase, deliverShares }),
  rotateRoot: async ({ dataDir, secrets, deliverShares }) => (await rootKey()).rotateRootKey({ dataDir, databaseUrl: env.databaseUrl, inputs: secrets, deliverShares }),
  verifyFile: async (path, options) => (await offline()).verifyBundleFile(path, options),
  verifyDataDir: async (dir) => (await offline()).verifyDataDir(dir),
  env: cliEnv,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  fetch: globalThis.fetch,
  promptSecret: (prompt) => promptHidden(prompt),
  stdinIsTTY: process.stdin.isTTY === true,
});
process.exitCode = code;

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new AppError('validation', `cannot read the TLS ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}
