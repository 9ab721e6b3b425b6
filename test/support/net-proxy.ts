/**
 * A TCP proxy the test controls, between Breakglass and a target: it can slow every chunk in
 * both directions (a slow or distant target), or cut the target off (refuse new connections and
 * drop open ones) while the target itself stays up. Failures we cannot cause otherwise: a
 * revocation slow enough for a kill -9 to land in the middle of it.
 *
 * @example
 *   const proxy = await startNetProxy({ host: cluster.host, port: cluster.port });
 *   proxy.setDelay(150); // every chunk waits 150 ms each way
 *   proxy.cutOff(true);  // the target is unreachable through the proxy
 *   await proxy.close();
 */
import { connect, createServer, type Socket } from 'node:net';

export interface NetProxy {
  /** Connect here instead of the target. */
  readonly port: number;
  /** Delay each chunk by this many ms in each direction (0: none). */
  setDelay(ms: number): void;
  /** true: refuse new connections and drop the open ones; false: forward again. */
  cutOff(on: boolean): void;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk after `delay()` ms, in order. */
function pipeDelayed(from: Socket, to: Socket, delay: () => number): void {
  let chain = Promise.resolve();
  from.on('data', (chunk: Buffer) => {
    const ms = delay();
    if (ms <= 0) {
      chain = chain.then(() => void to.write(chunk));
      return;
    }
    from.pause();
    chain = chain
      .then(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))
      .then(() => {
        if (!to.destroyed) to.write(chunk);
        from.resume();
      });
  });
  // Close only after what is in flight has been written: a refused login's error message
  // arrives just before the server closes, and must reach the client first.
  from.on('end', () => void chain.then(() => to.end()));
  from.on('close', () => void chain.then(() => to.destroy()));
}

/** Starts the proxy on a free port of 127.0.0.1; see the module comment. */
export async function startNetProxy(target: { host: string; port: number }): Promise<NetProxy> {
  let delayMs = 0;
  let cut = false;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => open.delete(socket));
    }
    pipeDelayed(client, upstream, () => delayMs);
    pipeDelayed(upstream, client, () => delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    setDelay(ms) {
      delayMs = ms;
    },
    cutOff(on) {
      cut = on;
      if (on) for (const socket of open) socket.destroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
