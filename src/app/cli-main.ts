#!/usr/bin/env node
import { runCli } from '../cli/program.js';
import { initDataDir } from './init.js';
import { verifyBundleFile, verifyDataDir } from './offline-verify.js';
import { serverEnv } from './server-env.js';
import { startServer } from './server.js';

const env = serverEnv(process.env);

/** The `breakglass` executable: the CLI with its offline commands wired to the real parts. */
const code = await runCli(process.argv, {
  init: ({ dataDir }) => initDataDir({ dataDir, databaseUrl: env.databaseUrl }),
  serve: async ({ dataDir, port, host, onListening }) => {
    const server = await startServer({
      dataDir,
      port,
      host,
      databaseUrl: env.databaseUrl,
      execDirs: env.execDirs,
      logger: { level: env.logLevel ?? 'info' },
    });
    onListening(server.url);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
  },
  verifyFile: (path, options) => verifyBundleFile(path, options),
  verifyDataDir,
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  fetch: globalThis.fetch,
});
process.exitCode = code;
