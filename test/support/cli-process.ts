/** Runs the built `breakglass` CLI (dist/) as a child process, as a user would. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../../dist/app/cli-main.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCliProcess(args: string[], env: Record<string, string | undefined> = {}, input?: string): CliResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
    ...(input === undefined ? {} : { input }),
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** `breakglass serve` in a child process; resolves once it answers /healthz. */
export async function serveProcess(dataDir: string, port: number, env: Record<string, string | undefined> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [cliPath, 'serve', '--data-dir', dataDir, '--port', String(port)], {
    env: { ...process.env, BREAKGLASS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${out}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`serve did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = () => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  return {
    child,
    url,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited();
    },
    async stop() {
      child.kill('SIGTERM');
      await exited();
    },
  };
}
