/**
 * What every private test server needs around its process, written once: a temp dir that goes
 * with it, a free port on 127.0.0.1 (a fresh one when another process takes it between probing
 * and binding), readiness as a state waited for under a generous deadline, and a kill on process
 * exit so a crashed suite leaves no server behind. slapd.ts and sshd.ts predate it.
 *
 * @example
 *   const proc = await startPrivateProcess({
 *     name: 'redis-server', tempPrefix: 'bg-redis-',
 *     spawn: (dir, port) => spawn('/usr/bin/redis-server', ['--port', String(port), '--dir', dir]),
 *     ready: (port) => probeTcp('127.0.0.1', port, 200),
 *   });
 *   await proc.stop(); // kills it and deletes its dir
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateProcessOptions {
  /** For messages: `redis-server did not become ready within 15 s`. */
  readonly name: string;
  /** The temp dir's name starts with it (`bg-redis-`). */
  readonly tempPrefix: string;
  /** Fills the dir before the first start (certificates, config files). */
  prepare?(dir: string): Promise<void>;
  spawn(dir: string, port: number): ChildProcess;
  /** Is it serving now? Asked until true or the deadline. */
  ready(port: number): Promise<boolean>;
  /** Default 15 000 ms: a deadline for a slow machine, not a window the test relies on. */
  readonly readyWithinMs?: number;
}

export interface PrivateProcess {
  readonly dir: string;
  readonly port: number;
  /** Kills the process and deletes its dir. */
  stop(): Promise<void>;
}

/** A port nobody listens on right now (it can be taken before it is used: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
}

/** Starts the process; see the module comment. */
export async function startPrivateProcess(options: PrivateProcessOptions): Promise<PrivateProcess> {
  const dir = mkdtempSync(join(tmpdir(), options.tempPrefix));
  let child: ChildProcess | undefined;
  const onExit = () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (child !== undefined) await killAndWait(child);
    rmSync(dir, { recursive: true, force: true });
  };

  const launch = async (port: number) => {
    child = options.spawn(dir, port);
    const deadline = Date.now() + (options.readyWithinMs ?? 15_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode} (its files are in ${dir})`);
      if (await options.ready(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${options.name} did not become ready within ${options.readyWithinMs ?? 15_000} ms`);
  };

  try {
    await options.prepare?.(dir);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        await launch(port);
        return { dir, port, stop };
      } catch (err) {
        if (child !== undefined) await killAndWait(child);
        if (attempt >= 3) throw err;
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
