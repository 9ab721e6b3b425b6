/**
 * The server as a child process of the bench, so its peak RSS is its own (`VmHWM`), not the
 * bench's. `node server-child.js <dataDir> serve` starts the real server (SQLite store,
 * logger off) and, beside it in the same process, a bare Fastify route that answers a fixed
 * JSON body (the baseline of bench 7); it prints one JSON line `{"url","bareUrl"}` and runs
 * until SIGTERM.
 */
import Fastify from 'fastify';
import { ensureBuildLayout } from './lib/build-layout.js';

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
