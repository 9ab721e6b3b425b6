/**
 * Integration tests use real servers. On a laptop without the server a suite skips with a
 * visible reason; in CI (CI=true) a missing server is a failure, never a silent skip.
 *
 * @example
 *   const pg = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));
 *   describe.skipIf(pg.skip)('postgres store', () => { ... });
 */
import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';

export const inCi = process.env['CI'] === 'true';

export interface ServiceCheck {
  readonly skip: boolean;
  readonly reason: string | undefined;
}

export async function requireService(name: string, probe: () => Promise<boolean> | boolean): Promise<ServiceCheck> {
  let ok = false;
  try {
    ok = await probe();
  } catch {
    ok = false;
  }
  if (ok) return { skip: false, reason: undefined };
  const reason = `${name} is not available`;
  if (inCi) throw new Error(`${reason}, and CI=true: integration tests must not skip in CI`);
  console.warn(`SKIP: ${reason}; the tests that need it are skipped on this machine`);
  return { skip: true, reason };
}

export function probeTcp(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Is an executable on this machine? */
export function hasExecutable(path: string): boolean {
  try {
    execFileSync('test', ['-x', path]);
    return true;
  } catch {
    return false;
  }
}
