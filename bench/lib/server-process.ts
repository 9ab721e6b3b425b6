import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The server running as a child process (bench/server-child.ts). */
export interface ServerProcess {
  readonly url: string;
  /** The bare Fastify route's base URL (same process as the server). */
  readonly bareUrl: string;
  readonly pid: number;
  /** Peak resident set of the server process so far (VmHWM), in MiB; undefined off Linux. */
  peakRssMb(): number | undefined;
  /** Resident set now (VmRSS), in MiB. */
  rssMb(): number | undefined;
  stop(): Promise<void>;
}

const childScript = fileURLToPath(new URL('../server-child.js', import.meta.url));

function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the child to its first stdout line (JSON) and returns it with the process. */
function firstLine(args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const child = spawn(process.execPath, [childScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server child gave no answer within ${timeoutMs} ms; stderr: ${err.slice(-500)}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        resolve({ child, line: JSON.parse(out.slice(0, newline)) as Record<string, unknown> });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server child exited (${code}) before answering; stderr: ${err.slice(-500)}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts the server on `dataDir` (already initialised) as a child process.
 * issue 13 (rss): `nodeOptions` is the child's `NODE_OPTIONS`, as an operator sets it for
 * `breakglass serve` (README, Performance); undefined leaves the bench's environment as it is.
 */
export async function startServerProcess(dataDir: string, nodeOptions?: string): Promise<ServerProcess> {
  const env = nodeOptions === undefined ? process.env : { ...process.env, NODE_OPTIONS: nodeOptions };
  const { child, line } = await firstLine([dataDir, 'serve'], 60_000, env);
  const pid = child.pid!;
  return {
    url: String(line['url']),
    bareUrl: String(line['bareUrl']),
    pid,
    peakRssMb: () => statusMb(pid, 'VmHWM'),
    rssMb: () => statusMb(pid, 'VmRSS'),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}
