/**
 * Audit streaming end to end (issue 9, point 5): a real server (in process, SQLite store) whose
 * catalog marks a syslog channel over TCP and a webhook as audit sinks, and two receivers this
 * test opens. Every audit event from the apply that declared the sinks on, and every signed
 * checkpoint, arrives at each in chain order, once; the receiver recomputes each hash from the
 * record alone (syslog carries it as the message text, the webhook as the JSON body) and checks
 * each checkpoint's signature with the chain's public key.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashEvent, verifyCheckpoint } from '../../src/crypto/index.js';
import { eventually, removeDir, startHarness, type Harness } from '../support/harness.js';

vi.setConfig({ testTimeout: 60_000 });

/** What a receiver keeps of one streamed record: the chain fields, whatever carried them. */
interface Copy {
  readonly id: string;
  readonly event: string;
  readonly record: Record<string, unknown>;
}

/** A syslog collector over TCP (RFC 6587 octet counting); connections numbered as accepted, so order is the sender's. */
function syslogCollector() {
  const frames: (Copy | undefined)[] = [];
  const server: TcpServer = createTcpServer((socket) => {
    const slot = frames.push(undefined) - 1;
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
    socket.on('end', () => {
      const text = data.toString('utf8');
      const space = text.indexOf(' ');
      const message = text.slice(space + 1);
      expect(Buffer.byteLength(message)).toBe(Number(text.slice(0, space)));
      // <PRI>1 TIMESTAMP HOST APP PROCID MSGID [breakglass@32473 id="…" event="…" …] BOM MSG
      const sd = /\[breakglass@32473 id="([^"]+)" event="([^"]+)"/.exec(message)!;
      const body = message.slice(message.indexOf('\u{FEFF}') + 1);
      frames[slot] = { id: sd[1]!, event: sd[2]!, record: JSON.parse(body) as Record<string, unknown> };
    });
  });
  return {
    copies: () => frames.filter((f): f is Copy => f !== undefined),
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A webhook receiver that keeps the JSON bodies in arrival order. */
function webhookReceiver() {
  const got: Copy[] = [];
  const server: HttpServer = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const json = JSON.parse(body) as Record<string, unknown>;
      const { seq, at, actor, action, subject, details, prevHash, hash, signature } = json;
      const record = json['event'] === 'audit.checkpoint' ? { seq, hash, at, signature } : { seq, at, actor, action, subject, details, prevHash, hash };
      got.push({ id: String(json['id']), event: String(json['event']), record });
      response.writeHead(200).end();
    });
  });
  return {
    copies: () => got.filter((c) => c.event.startsWith('audit.')),
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('audit stream to real receivers', () => {
  let h: Harness;
  const syslog = syslogCollector();
  const hook = webhookReceiver();
  beforeAll(async () => {
    const [syslogPort, hookPort] = [await syslog.listen(), await hook.listen()];
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', {
      users: [{ name: 'alice', roles: ['responder'] }],
      channels: [
        { name: 'siem-syslog', type: 'syslog', host: '127.0.0.1', port: syslogPort, protocol: 'tcp', auditSink: true },
        { name: 'siem-hook', type: 'webhook', url: `http://127.0.0.1:${hookPort}/audit`, secret: 'whsec-audit-stream-test', auditSink: true },
      ],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });
  afterAll(async () => {
    await h?.stop();
    removeDir(h.dataDir);
    await syslog.close();
    await hook.close();
  });

  it('every event and checkpoint, in chain order, hashes recomputed and signatures verified by the receiver', async () => {
    // Some activity after the apply: an enrolment (its code, its token), then a quiet second for a checkpoint.
    await h.enrol('alice');
    const store = h.server.ctx.store;
    const chain = await eventually(async () => {
      const events = await store.transaction((tx) => tx.audit.events(1, 10_000));
      const last = (await store.transaction((tx) => tx.audit.lastCheckpoint()))?.seq;
      return last === events.at(-1)?.seq ? events : undefined; // the head is signed
    }, 10_000, 'a checkpoint of the head');
    const checkpoints = await store.transaction((tx) => tx.audit.checkpoints());
    const head = chain.at(-1)!;
    for (const receiver of [syslog, hook]) {
      const copies = await eventually(async () => {
        const got = receiver.copies();
        return got.some((c) => c.event === 'audit.checkpoint' && c.record['seq'] === head.seq) ? got : undefined;
      }, 15_000, 'the stream up to the last checkpoint');
      const events = copies.filter((c) => c.event === 'audit.event').map((c) => c.record);
      const first = Number(events[0]!['seq']);
      // The apply that declared the sinks is in the copy; from there on, nothing missing, nothing twice.
      expect(events.map((e) => e['action'])).toEqual(expect.arrayContaining(['channel.created', 'catalog.applied', 'user.invited', 'token.redeemed']));
      expect(events.map((e) => e['seq'])).toEqual(chain.filter((e) => e.seq >= first).map((e) => e.seq));
      let prevHash = String(events[0]!['prevHash']);
      for (const e of events) {
        expect(e['prevHash']).toBe(prevHash);
        const recomputed = hashEvent(prevHash, { seq: Number(e['seq']), at: String(e['at']), actor: String(e['actor']), action: String(e['action']), subject: String(e['subject']), details: e['details'] as Record<string, unknown> });
        expect(recomputed).toBe(e['hash']);
        prevHash = recomputed;
      }
      expect(prevHash).toBe(head.hash);
      const signed = copies.filter((c) => c.event === 'audit.checkpoint');
      expect(signed.map((c) => c.record['seq'])).toEqual(checkpoints.filter((c) => c.seq >= first).map((c) => c.seq));
      for (const c of signed) {
        const { seq, hash, at, signature } = c.record as { seq: number; hash: string; at: string; signature: string };
        expect(verifyCheckpoint(h.server.ctx.audit.publicKeyPem, { seq, hash, at, signature })).toBe(true);
        expect(hash).toBe(events.find((e) => e['seq'] === seq)!['hash']);
        // A checkpoint comes after the event it signs.
        expect(copies.findIndex((x) => x.event === 'audit.event' && x.record['seq'] === seq)).toBeLessThan(copies.indexOf(c));
      }
      expect(new Set(copies.map((c) => c.id)).size).toBe(copies.length);
    }
  });
});
