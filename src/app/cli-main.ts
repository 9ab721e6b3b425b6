#!/usr/bin/env node
import { runCli } from '../cli/program.js';
import { initDataDir } from './init.js';
import { verifyBundleFile, verifyDataDir } from './offline-verify.js';
import { startServer } from './server.js';

/** The `breakglass` executable: the CLI with its offline commands wired to the real parts. */
const code = await runCli(process.argv, {
  init: ({ dataDir }) => initDataDir({ dataDir, databaseUrl: process.env['BREAKGLASS_DATABASE_URL'] }),
  serve: async ({ dataDir, port, host, onListening }) => {
    const server = await startServer({ dataDir, port, host, databaseUrl: process.env['BREAKGLASS_DATABASE_URL'] });
    onListening(server.url);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
  },
  verifyFile: verifyBundleFile,
  verifyDataDir,
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  fetch: globalThis.fetch,
});
process.exitCode = code;
