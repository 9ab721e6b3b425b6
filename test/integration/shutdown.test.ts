/**
 * Bounded shutdown (issue 8, point 6), on the built CLI as an orchestrator runs it: SIGTERM
 * refuses new requests at once (but /healthz), lets the one in flight finish and exits 0; a
 * second signal exits at once; past BREAKGLASS_SHUTDOWN_TIMEOUT it exits 0 anyway. After each,
 * the data directory serves again and its audit chain verifies.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { eventually, removeDir } from '../support/harness.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const catalog = JSON.stringify({ users: [{ name: 'carol', roles: ['responder'] }] });

/** A POST /v1/apply whose body arrives in two halves: in flight until `finish()`. */
function heldApply(url: string, token: string) {
  const half = Math.floor(catalog.length / 2);
  let req: ClientRequest;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req = request(`${url}/v1/apply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(catalog)) },
    });
    req.on('response', (response: IncomingMessage) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write(catalog.slice(0, half));
  });
  answer.catch(() => undefined);
  return { answer, finish: () => req.end(catalog.slice(half)) };
}

function exitOf(server: ServeProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('shutdown', () => {
  const dirs: string[] = [];
  let server: ServeProcess | undefined;
  afterEach(async () => {
    await server?.kill9();
    server = undefined;
    for (const dir of dirs.splice(0)) removeDir(dir);
  });

  /** A fresh data dir, served; the held request is in flight when this returns. */
  async function serveWithRequestInFlight(env: Record<string, string> = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), 'bg-shutdown-'));
    dirs.push(dataDir);
    const init = runCliProcess(['init', '--data-dir', dataDir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    const admin = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    const port = await freePort();
    server = await serveProcess(dataDir, port, env);
    const running = server;
    const held = heldApply(running.url, admin);
    // Fastify logs each request as it arrives, before the route runs: then it is in flight.
    await eventually(async () => running.output().includes('"url":"/v1/apply"'), 30_000, 'the held request to arrive');
    return { dataDir, port, admin, held, running };
  }

  /** The data dir serves again, stops cleanly, and its audit chain verifies offline. */
  async function restartsAndVerifies(dataDir: string, port: number) {
    server = await serveProcess(dataDir, port);
    const again = server;
    expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
    again.child.kill('SIGTERM');
    expect((await exitOf(again)).code).toBe(0);
    server = undefined;
    const verify = runCliProcess(['audit', 'verify', '--data-dir', dataDir]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }

  it('shutdown: SIGTERM refuses new requests at once (but /healthz), the request in flight completes, exit 0; restart and audit verify pass', async () => {
    const { dataDir, port, admin, held, running } = await serveWithRequestInFlight();
    const signalledAt = Date.now();
    running.child.kill('SIGTERM');
    await eventually(async () => running.output().includes('SIGTERM: stopping'), 30_000, 'the server to start stopping');

    const refused = await fetch(`${running.url}/v1/whoami`, { headers: { authorization: `Bearer ${admin}` } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('stopping');
    const ready = await fetch(`${running.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'stopping' });
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    expect(running.child.exitCode).toBeNull();

    held.finish();
    const answer = await held.answer;
    expect(answer.status, answer.body).toBe(200);
    expect((await exitOf(running)).code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(20_000);
    server = undefined;
    await restartsAndVerifies(dataDir, port);
  });

  it('shutdown: a second signal during the drain exits at once (143), and the data dir is intact', async () => {
    const { dataDir, port, held, running } = await serveWithRequestInFlight();
    running.child.kill('SIGTERM');
    await eventually(async () => running.output().includes('SIGTERM: stopping'), 30_000, 'the server to start stopping');
    running.child.kill('SIGTERM');
    const exit = await exitOf(running);
    expect(exit.code).toBe(143);
    expect(running.output()).toContain('SIGTERM again: exiting now');
    await expect(held.answer).rejects.toThrow();
    server = undefined;
    await restartsAndVerifies(dataDir, port);
  });

  it('shutdown: past BREAKGLASS_SHUTDOWN_TIMEOUT the server exits 0 anyway and logs what was still running', async () => {
    const { dataDir, port, running } = await serveWithRequestInFlight({ BREAKGLASS_SHUTDOWN_TIMEOUT: '2s' });
    running.child.kill('SIGTERM');
    const exit = await exitOf(running);
    expect(exit.code).toBe(0);
    expect(running.output()).toContain('BREAKGLASS_SHUTDOWN_TIMEOUT');
    expect(running.output()).toContain('POST /v1/apply');
    server = undefined;
    await restartsAndVerifies(dataDir, port);
  });
});
