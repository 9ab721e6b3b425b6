/**
 * The server as a child process of the bench, so its peak RSS is its own (`VmHWM`), not the
 * bench's. `node server-child.js <dataDir> serve` starts the real server (SQLite store,
 * logger off) and, beside it in the same process, a bare Fastify route that answers a fixed
 * JSON body (the baseline of bench 7); it prints one JSON line `{"url","bareUrl"}` and runs
 * until SIGTERM.
 *
 * Opt-in memory sampling (where the server's RSS goes): with `BENCH_SERVER_MEMORY_LOG=<file>`
 * the child appends one JSON line per `BENCH_SERVER_MEMORY_MS` (default 1000) to that file:
 * wall-clock `t` and `process.memoryUsage()` in MiB (rss, heapTotal, heapUsed, external,
 * arrayBuffers). Off by default: the bench's figures are taken without it.
 */
import { appendFileSync } from 'node:fs';
import Fastify from 'fastify';
import { ensureBuildLayout } from './lib/build-layout.js';

const memoryLog = process.env['BENCH_SERVER_MEMORY_LOG'];
if (memoryLog !== undefined && memoryLog !== '') {
  const everyMs = Number(process.env['BENCH_SERVER_MEMORY_MS'] ?? 1000);
  const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const sample = () => {
    const m = process.memoryUsage();
    const line = { t: Date.now(), rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers) };
    appendFileSync(memoryLog, `${JSON.stringify(line)}\n`);
  };
  sample();
  setInterval(sample, Number.isFinite(everyMs) && everyMs > 0 ? everyMs : 1000).unref();
}

ensureBuildLayout();
const { startServer } = await import('../src/app/server.js');

const [dataDir, mode] = process.argv.slice(2);
if (dataDir === undefined || mode !== 'serve') {
  console.error('usage: server-child.js <dataDir> serve');
  process.exit(2);
}

const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
let body = '{}';
const bare = Fastify({ logger: false });
bare.put('/body', (request, reply) => {
  body = JSON.stringify(request.body);
  return reply.send({ ok: true });
});
bare.get('/bare/:id', (_request, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(body));
const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ url: server.url, bareUrl }));
process.on('SIGTERM', () => {
  void Promise.all([server.close(), bare.close()]).finally(() => process.exit(0));
});
