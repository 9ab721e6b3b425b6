/**
 * The syslog channel against receivers the test opens on 127.0.0.1: a UDP socket, a TCP server
 * and a TLS server with a test CA. Each parses what arrived (octet-counted frames, the RFC 5424
 * header, the structured data, the CEF record) as a collector would.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activatedAlert, testChannel } from '../../test/support/alert-fixtures.js';
import { freePort } from '../../test/support/private-process.js';
import { makeTestCertificates, opensslAvailable, type TestCertificates } from '../../test/support/test-certs.js';
import type { AlertPayload } from '../ports/index.js';
import { AppError } from '../errors/index.js';
import { DELIVERY_TIMEOUT_MS } from './http-delivery.js';
import { syslogSender } from './syslog.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Parsed {
  readonly pri: number;
  readonly timestamp: string;
  readonly host: string;
  readonly app: string;
  readonly procid: string;
  readonly msgid: string;
  readonly sdId: string;
  readonly params: Record<string, string>;
  readonly msg: string;
}

/** An RFC 5424 message with one SD element, parsed as RFC 5424 §6 writes it (escapes undone). */
function parse5424(text: string): Parsed {
  const head = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[([^ \]]+)/.exec(text);
  if (head === null) throw new Error(`not RFC 5424: ${text}`);
  const params: Record<string, string> = {};
  let rest = text.slice(head[0].length);
  for (;;) {
    // Strict: `"`, `\` and `]` inside a value must come escaped.
    const param = /^ ([^= \]"]{1,32})="((?:\\.|[^"\\\]])*)"/.exec(rest);
    if (param === null) break;
    params[param[1]!] = param[2]!.replace(/\\(["\\\]])/g, '$1');
    rest = rest.slice(param[0].length);
  }
  expect(rest.startsWith('] ')).toBe(true);
  const [, pri, timestamp, host, app, procid, msgid, sdId] = head as unknown as string[];
  return { pri: Number(pri), timestamp: timestamp!, host: host!, app: app!, procid: procid!, msgid: msgid!, sdId: sdId!, params, msg: rest.slice(2) };
}

/** The frames of an octet-counted stream (RFC 6587 §3.4.1); fails on anything else. */
function octetFrames(stream: Buffer): string[] {
  const frames: string[] = [];
  let at = 0;
  while (at < stream.length) {
    const space = stream.indexOf(0x20, at);
    const length = Number(stream.subarray(at, space).toString('ascii'));
    expect(Number.isInteger(length) && length > 0).toBe(true);
    frames.push(stream.subarray(space + 1, space + 1 + length).toString('utf8'));
    at = space + 1 + length;
  }
  expect(at).toBe(stream.length);
  return frames;
}

/** A CEF record: its seven header fields and its extension (escapes undone). */
function parseCef(text: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let field = '';
  let at = 0;
  for (; header.length < 7; at++) {
    const c = text[at]!;
    if (c === '\\') field += text[++at];
    else if (c === '|') {
      header.push(field);
      field = '';
    } else field += c;
  }
  const ext: Record<string, string> = {};
  for (const pair of text.slice(at).split(/ (?=[A-Za-z0-9]+=)/)) {
    const eq = pair.indexOf('=');
    ext[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
  }
  return { header, ext };
}

/** A stream receiver (TCP or TLS): the bytes of each connection once it has closed. */
async function listen(server: Server, event: 'connection' | 'secureConnection'): Promise<{ port: number; streams: Promise<Buffer>[]; sockets: Socket[] }> {
  const streams: Promise<Buffer>[] = [];
  const sockets: Socket[] = [];
  server.on(event, (socket: Socket) => {
    sockets.push(socket);
    const chunks: Buffer[] = [];
    streams.push(new Promise((resolve) => {
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
    }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, streams, sockets };
}

async function until<T>(check: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('nothing arrived');
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const expectedParams = {
  id: 'evt-4242', event: 'grant.activated', severity: 'critical', account: 'pg-breakglass', target: 'pg-prod', requester: 'alice', approvers: 'bob, carol',
  condition: 'quorum 2 of 3', incident: 'INC-123', reason: 'primary down, failover stuck', expiresAt: '2026-03-14T10:26:53.000Z', grant: 'grt_01HZX3K9Q',
  actor: 'alice', link: 'https://breakglass.internal/grants/grt_01HZX3K9Q',
};

describe.skipIf(!opensslAvailable())('syslog channel', () => {
  let dir: string;
  let certs: TestCertificates;
  let udp: UdpSocket;
  let udpPort: number;
  const datagrams: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bg-syslog-'));
    certs = makeTestCertificates(dir);
    udp = createSocket('udp4');
    udp.on('message', (message) => datagrams.push(message.toString('utf8')));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    udpPort = udp.address().port;
  });
  afterAll(() => {
    udp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sendUdp = async (payload: AlertPayload, settings: Record<string, unknown> = {}): Promise<string> => {
    const before = datagrams.length;
    const receipt = await syslogSender(testChannel('syslog', { host: '127.0.0.1', port: udpPort, protocol: 'udp', ...settings }), payload);
    expect(receipt.status).toMatch(/^sent \d+ bytes over UDP$/);
    return until(() => datagrams[before]);
  };

  it('UDP: one RFC 5424 message, authpriv.crit, the alert in the structured data and the summary as UTF-8 text', async () => {
    const message = parse5424(await sendUdp(activatedAlert));
    expect(message).toMatchObject({ pri: 10 * 8 + 2, timestamp: '2026-03-14T09:26:53.000Z', app: 'breakglass', procid: String(process.pid), msgid: 'grant.activated', sdId: 'breakglass@32473' });
    expect(message.host).toBe(hostname().replace(/[^!-~]/g, '') || '-');
    expect(message.params).toEqual(expectedParams);
    expect(message.msg).toBe(`\u{FEFF}${activatedAlert.summary}`);
  });

  it('maps severities (critical 2, warning 4, info 6) and takes facility and appName from the settings', async () => {
    for (const [severity, code] of [['critical', 2], ['warning', 4], ['info', 6]] as const) {
      const message = parse5424(await sendUdp({ ...activatedAlert, severity }, { facility: 4, appName: 'bg-test' }));
      expect(message).toMatchObject({ pri: 4 * 8 + code, app: 'bg-test' });
    }
  });

  it('TCP: each alert in one octet-counted frame, only the fields the payload has', async () => {
    const server = createTcpServer();
    const receiver = await listen(server, 'connection');
    try {
      const channel = testChannel('syslog', { host: '127.0.0.1', port: receiver.port, protocol: 'tcp' });
      const bare: AlertPayload = { event: 'catalog.applied', id: 'evt-7', at: '2026-03-14T09:00:00.000Z', severity: 'warning', summary: 'catalog applied by admin', actor: 'admin' };
      expect((await syslogSender(channel, activatedAlert)).status).toMatch(/^sent \d+ bytes over TCP$/);
      await syslogSender(channel, bare);
      const frames = (await Promise.all(await until(() => (receiver.streams.length === 2 ? receiver.streams : undefined)))).map(octetFrames);
      expect(frames.map((f) => f.length)).toEqual([1, 1]);
      expect(parse5424(frames[0]![0]!).params).toEqual(expectedParams);
      expect(parse5424(frames[1]![0]!).params).toEqual({ id: 'evt-7', event: 'catalog.applied', severity: 'warning', actor: 'admin' });
    } finally {
      server.close();
    }
  });

  it('TLS with CEF: the certificate verified against tls.caFile, a CEF record as the message', async () => {
    const server = createTlsServer({ key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) });
    const receiver = await listen(server, 'secureConnection');
    try {
      const channel = testChannel('syslog', { host: '127.0.0.1', port: receiver.port, protocol: 'tls', tls: { caFile: certs.caFile }, format: 'cef' });
      expect((await syslogSender(channel, activatedAlert)).status).toMatch(/^sent \d+ bytes over TLS$/);
      const [frame] = octetFrames(await until(() => receiver.streams[0]));
      const message = parse5424(frame!);
      expect(message.params).toEqual(expectedParams);
      expect(message.msg.startsWith('CEF:0|')).toBe(true);
      const cef = parseCef(message.msg);
      expect(cef.header).toEqual(['CEF:0', 'Breakglass', 'Breakglass', version, 'grant.activated', activatedAlert.summary, '10']);
      expect(cef.ext).toEqual({
        rt: String(Date.parse(activatedAlert.at)), externalId: 'evt-4242', duser: 'pg-breakglass', suser: 'alice', reason: 'primary down, failover stuck',
        cs1Label: 'grant', cs1: 'grt_01HZX3K9Q', cs2Label: 'target', cs2: 'pg-prod', cs3Label: 'incident', cs3: 'INC-123', cs4Label: 'approvers', cs4: 'bob, carol',
        cs5Label: 'condition', cs5: 'quorum 2 of 3', cs6Label: 'link', cs6: 'https://breakglass.internal/grants/grt_01HZX3K9Q',
        flexString1Label: 'actor', flexString1: 'alice', deviceCustomDate1Label: 'expiresAt', deviceCustomDate1: String(Date.parse('2026-03-14T10:26:53.000Z')),
      });
    } finally {
      server.close();
    }
  });

  it('log injection: quotes, backslashes, brackets, pipes, equals signs and newlines cannot end a field or forge a message', async () => {
    const hostile = { ...activatedAlert, summary: 'a|b\\c\nd', reason: 'x"] [forged@1 a="b"]\r\n<13>1 fake \\ =y', account: 'acc]"\\' };
    const message = parse5424(await sendUdp(hostile, { format: 'cef' }));
    expect(message.params['reason']).toBe('x"] [forged@1 a="b"] <13>1 fake \\ =y');
    expect(message.params['account']).toBe('acc]"\\');
    expect(Object.keys(message.params)).toEqual(Object.keys(expectedParams));
    const cef = parseCef(message.msg);
    expect(cef.header[5]).toBe('a|b\\c d');
    expect(cef.ext['reason']).toBe('x"] [forged@1 a="b"]\n<13>1 fake \\ =y');
    expect(cef.ext['duser']).toBe('acc]"\\');
    expect(message.msg).not.toMatch(/[\r\n]/);
  });

  it('TLS: a certificate from another CA is refused, not retryably, and nothing is sent', async () => {
    const server = createTlsServer({ key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) });
    const receiver = await listen(server, 'secureConnection');
    try {
      const error = await failure(syslogSender(testChannel('syslog', { host: '127.0.0.1', port: receiver.port, protocol: 'tls', tls: { caFile: certs.otherCaFile } }), activatedAlert));
      expect(error).toMatchObject({ code: 'target_error', retryable: false });
      expect(error.message).toMatch(/^syslog channel "test-syslog": the server's TLS certificate did not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); give the CA/);
      expect(receiver.streams).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('an unreachable collector (TCP, TLS) is a retryable failure, well within the timeout', async () => {
    for (const protocol of ['tcp', 'tls']) {
      const started = Date.now();
      const error = await failure(syslogSender(testChannel('syslog', { host: '127.0.0.1', port: await freePort(), protocol }), activatedAlert));
      expect(error).toMatchObject({ code: 'target_unavailable', retryable: true, message: `syslog channel "test-syslog" could not be reached over ${protocol.toUpperCase()} (ECONNREFUSED)` });
      expect(Date.now() - started).toBeLessThan(DELIVERY_TIMEOUT_MS);
    }
  });

  it('a collector that never completes the TLS handshake is a retryable failure at the delivery timeout', async () => {
    const server = createTcpServer();
    const receiver = await listen(server, 'connection');
    try {
      const started = Date.now();
      const error = await failure(syslogSender(testChannel('syslog', { host: '127.0.0.1', port: receiver.port, protocol: 'tls', tls: { caFile: certs.caFile } }), activatedAlert));
      expect(error).toMatchObject({ code: 'target_unavailable', retryable: true, message: 'syslog channel "test-syslog" could not be reached over TLS (ETIMEDOUT)' });
      expect(Date.now() - started).toBeLessThan(DELIVERY_TIMEOUT_MS + 3000);
    } finally {
      for (const socket of receiver.sockets) socket.destroy();
      server.close();
    }
  }, 20_000);
});
