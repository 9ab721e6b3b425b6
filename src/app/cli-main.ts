#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runCli } from '../cli/program.js';
import { AppError } from '../errors/index.js';
import { initDataDir } from './init.js';
import { verifyBundleFile, verifyDataDir } from './offline-verify.js';
import { promptHidden } from './prompt.js';
import { rekeyRootKey, rotateRootKey } from './root-key-commands.js';
import { serverEnv } from './server-env.js';
import { startServer } from './server.js';

const env = serverEnv(process.env);
// The CLI reads the seal secrets from its own copy; programs this process starts never see them.
const cliEnv = { ...process.env };
for (const name of ['BREAKGLASS_PASSPHRASE', 'BREAKGLASS_NEW_PASSPHRASE', 'BREAKGLASS_PKCS11_PIN']) delete process.env[name];

/** The `breakglass` executable: the CLI with its offline commands wired to the real parts. */
const code = await runCli(process.argv, {
  init: ({ dataDir, seal, secrets }) =>
    initDataDir({ dataDir, databaseUrl: env.databaseUrl, seal, secrets: { passphrase: secrets?.passphrase, pkcs11Pin: secrets?.pkcs11Pin } }),
  serve: async ({ dataDir, port, host, tls, onListening, secrets }) => {
    const server = await startServer({
      dataDir,
      port,
      host,
      ...(tls && { tls: { cert: readTlsFile(tls.certFile, 'certificate'), key: readTlsFile(tls.keyFile, 'key') } }),
      databaseUrl: env.databaseUrl,
      execDirs: env.execDirs,
      krlDirs: env.krlDirs,
      logger: { level: env.logLevel ?? 'info' },
      unsealInputs: { ...(secrets?.passphrase && { passphrase: secrets.passphrase }), ...(secrets?.pkcs11Pin && { pkcs11Pin: secrets.pkcs11Pin }) },
    });
    const status = server.sealStatus();
    onListening(server.url, { sealed: status.sealed, threshold: status.threshold });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
  },
  rekey: ({ dataDir, seal, secrets, deliverShares }) =>
    rekeyRootKey({ dataDir, databaseUrl: env.databaseUrl, seal, inputs: secrets, newPassphrase: secrets.newPassphrase, deliverShares }),
  rotateRoot: ({ dataDir, secrets, deliverShares }) => rotateRootKey({ dataDir, databaseUrl: env.databaseUrl, inputs: secrets, deliverShares }),
  verifyFile: (path, options) => verifyBundleFile(path, options),
  verifyDataDir,
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
