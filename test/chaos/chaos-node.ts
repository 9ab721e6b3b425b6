/**
 * One Breakglass server under chaos: a fresh data dir, the built CLI's `serve` in a child
 * process, and the moves the suite makes on it (kill -9, restart on the same port, a bounded
 * stop). It remembers when each life became ready: I1's bound counts from there when the server
 * was down at expiry ("once the server is up").
 */
import { spawn } from 'node:child_process';
import { initDataDir } from '../../src/app/init.js';
import { cliPath, freePort, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { enrol } from '../support/harness.js';

export interface ApiAnswer {
  readonly status: number;
  readonly body: any;
}

export interface ChaosNode {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly adminToken: string;
  readonly url: string;
  /** When the current life answered /healthz (ms since the epoch). */
  readonly readyAt: number;
  readonly alive: boolean;
  /** The current life ended without being told to (the server exited on its own). */
  crashed(): boolean;
  call(token: string, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<ApiAnswer>;
  enrol(user: string): Promise<string>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  /** SIGTERM; SIGKILL after `withinMs`. Returns how long the shutdown took, or undefined if it had to be killed. */
  stop(withinMs?: number): Promise<number | undefined>;
  /** The server's output over all its lives (for violation details). */
  output(): string;
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The built CLI, without blocking this process (iterations run side by side). */
export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const exited = (child: ServeProcess['child']) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** Initialises `dataDir` (SQLite there, or the PostgreSQL store at `databaseUrl`) and serves it. */
export async function startChaosNode(dataDir: string, databaseUrl?: string): Promise<ChaosNode> {
  const { adminToken } = await initDataDir({ dataDir, databaseUrl });
  const port = await freePort();
  const env = databaseUrl === undefined ? {} : { BREAKGLASS_DATABASE_URL: databaseUrl };
  let log = '';
  let serving: ServeProcess | undefined = await serveProcess(dataDir, port, env);
  let readyAt = Date.now();
  const url = serving.url;
  const keepLog = () => {
    if (serving) log += serving.output();
  };

  const node: ChaosNode = {
    dataDir,
    databaseUrl,
    adminToken,
    url,
    get readyAt() {
      return readyAt;
    },
    get alive() {
      return serving !== undefined;
    },
    async call(token, method, path, body, timeoutMs = 20_000) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      try {
        return { status: response.status, body: JSON.parse(text) };
      } catch {
        return { status: response.status, body: text };
      }
    },
    enrol: (user) => enrol(url, adminToken, user),
    async kill9() {
      keepLog();
      await serving?.kill9();
      serving = undefined;
    },
    crashed: () => serving !== undefined && (serving.child.exitCode !== null || serving.child.signalCode !== null),
    async restart() {
      if (node.crashed()) {
        keepLog();
        serving = undefined;
      }
      if (serving) throw new Error('restart of a live server');
      serving = await serveProcess(dataDir, port, env);
      readyAt = Date.now();
    },
    async stop(withinMs = 15_000) {
      if (!serving) return 0;
      const { child } = serving;
      keepLog();
      serving = undefined;
      const started = Date.now();
      child.kill('SIGTERM');
      const inTime = await Promise.race([exited(child).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), withinMs))]);
      if (inTime) return Date.now() - started;
      child.kill('SIGKILL');
      await exited(child);
      return undefined;
    },
    output: () => log + (serving?.output() ?? ''),
  };
  return node;
}
