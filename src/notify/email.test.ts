/**
 * The e-mail channel against a real SMTP server (smtp-server) on 127.0.0.1: STARTTLS with a test
 * CA and AUTH PLAIN, implicit TLS, the refusal to log in without TLS, and failures that are
 * retryable (4xx, unreachable, silent) or not (5xx, wrong password, wrong CA).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activatedAlert, testChannel } from '../../test/support/alert-fixtures.js';
import { freePort } from '../../test/support/private-process.js';
import { makeTestCertificates, opensslAvailable, type TestCertificates } from '../../test/support/test-certs.js';
import { AppError } from '../errors/index.js';
import { emailSender } from './email.js';
import { DELIVERY_TIMEOUT_MS } from './http-delivery.js';

const PASSWORD = 'smtp-pa55-do-not-leak';

interface Received {
  readonly raw: string;
  readonly from: string | false;
  readonly to: readonly string[];
  readonly secure: boolean;
  readonly user: string | undefined;
}

interface Smtp {
  readonly port: number;
  readonly received: Received[];
  readonly logins: string[];
  readonly mailFrom: string[];
  close(): Promise<void>;
}

/** An SMTP server that keeps what it got; `dataError` makes it refuse every message with that reply. */
async function startSmtp(options: SMTPServerOptions, dataError?: { code: number; text: string }): Promise<Smtp> {
  const received: Received[] = [];
  const logins: string[] = [];
  const mailFrom: string[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    ...options,
    onAuth(auth, _session, callback) {
      logins.push(auth.username ?? '');
      if (auth.username === 'breakglass' && auth.password === PASSWORD) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onMailFrom(address, _session, callback) {
      mailFrom.push(address.address);
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (dataError !== undefined) return callback(Object.assign(new Error(dataError.text), { responseCode: dataError.code }));
        received.push({
          raw: Buffer.concat(chunks).toString('utf8'),
          from: session.envelope.mailFrom === false ? false : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        callback(null, 'OK: queued as TEST1');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return { port, received, logins, mailFrom, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Headers (unfolded, lower-case names) and body of one MIME entity. */
function parseEntity(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: raw.slice(split + 4) };
}

/** The decoded text of each part of a multipart/alternative message, by content type. */
function parts(raw: string): Map<string, string> {
  const { headers, body } = parseEntity(raw);
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1] ?? '';
  const result = new Map<string, string>();
  for (const chunk of body.split(`--${boundary}`).slice(1, -1)) {
    const part = parseEntity(chunk.replace(/^\r\n/, ''));
    const encoding = part.headers.get('content-transfer-encoding') ?? '7bit';
    const text =
      encoding === 'base64'
        ? Buffer.from(part.body, 'base64').toString('utf8')
        : encoding === 'quoted-printable'
          ? Buffer.from(part.body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8')
          : part.body;
    result.set((part.headers.get('content-type') ?? '').split(';')[0] ?? '', text);
  }
  return result;
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe.skipIf(!opensslAvailable())('email channel', () => {
  let dir: string;
  let certs: TestCertificates;
  let tlsKeys: { key: Buffer; cert: Buffer };
  const base = { host: '127.0.0.1', from: 'breakglass@example.com', to: ['secops@example.com', 'oncall@example.com'] };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bg-email-'));
    certs = makeTestCertificates(dir);
    tlsKeys = { key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers a grant.activated alert over STARTTLS with AUTH PLAIN: envelope, headers, text and HTML parts', async () => {
    const smtp = await startSmtp({ ...tlsKeys, authMethods: ['PLAIN'] });
    try {
      const channel = testChannel('email', { ...base, port: smtp.port, user: 'breakglass', tls: { caFile: certs.caFile } }, PASSWORD);
      const receipt = await emailSender(channel, activatedAlert);
      expect(receipt.status).toMatch(/^250 /);
      expect(smtp.received).toHaveLength(1);
      const mail = smtp.received[0]!;
      expect(mail).toMatchObject({ secure: true, user: 'breakglass', from: 'breakglass@example.com', to: ['secops@example.com', 'oncall@example.com'] });

      const { headers } = parseEntity(mail.raw);
      expect(headers.get('subject')).toBe('[Breakglass] CRITICAL grant.activated: pg-breakglass by alice (INC-123)');
      expect(headers.get('breakglass-event-id')).toBe('evt-4242');
      expect(headers.get('breakglass-event')).toBe('grant.activated');
      expect(headers.get('breakglass-severity')).toBe('critical');
      expect(headers.get('from')).toBe('breakglass@example.com');
      expect(headers.get('to')).toBe('secops@example.com, oncall@example.com');
      expect(headers.get('content-type')).toMatch(/^multipart\/alternative;/);

      const bodies = parts(mail.raw);
      const text = bodies.get('text/plain') ?? '';
      expect(text.split(/\r?\n/)[0]).toBe(activatedAlert.summary);
      for (const line of ['Event:     grant.activated (critical)', 'Account:   pg-breakglass', 'Target:    pg-prod', 'Requester: alice', 'Approvers: bob, carol',
        'Condition: quorum 2 of 3', 'Incident:  INC-123', 'Reason:    primary down, failover stuck', 'Expires:   2026-03-14T10:26:53.000Z', 'Grant:     grt_01HZX3K9Q',
        'https://breakglass.internal/grants/grt_01HZX3K9Q']) {
        expect(text).toContain(line);
      }
      const html = bodies.get('text/html') ?? '';
      expect(html).toContain('<th align="left">Account</th><td>pg-breakglass</td>');
      expect(html).toContain('<a href="https://breakglass.internal/grants/grt_01HZX3K9Q">');
    } finally {
      await smtp.close();
    }
  });

  it('delivers over implicit TLS (secure: true), with no login when the channel has no password', async () => {
    const smtp = await startSmtp({ ...tlsKeys, secure: true });
    try {
      const receipt = await emailSender(testChannel('email', { ...base, port: smtp.port, secure: true, tls: { caFile: certs.caFile } }), activatedAlert);
      expect(receipt.status).toMatch(/^250 /);
      expect(smtp.received[0]).toMatchObject({ secure: true, user: undefined });
      expect(smtp.logins).toEqual([]);
    } finally {
      await smtp.close();
    }
  });

  it('secret-in-clear: refuses a server without STARTTLS before AUTH when the channel has a password and no allowCleartext', async () => {
    const smtp = await startSmtp({ hideSTARTTLS: true, disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
    try {
      const channel = testChannel('email', { ...base, port: smtp.port, user: 'breakglass', requireTls: false }, PASSWORD);
      const error = await failure(emailSender(channel, activatedAlert));
      expect(error).toMatchObject({ code: 'target_error', retryable: false });
      expect(error.message).toContain('email channel "test-email"');
      expect(error.message).toContain('STARTTLS');
      expect(error.message).toContain('allowCleartext: true');
      expect(error.message).not.toContain(PASSWORD);
      expect(smtp.logins).toEqual([]);
      expect(smtp.mailFrom).toEqual([]);
    } finally {
      await smtp.close();
    }
  });

  it('with allowCleartext: true, delivers to a server without TLS', async () => {
    const smtp = await startSmtp({ hideSTARTTLS: true, disabledCommands: ['STARTTLS'] });
    try {
      const receipt = await emailSender(testChannel('email', { ...base, port: smtp.port, allowCleartext: true }), activatedAlert);
      expect(receipt.status).toMatch(/^250 /);
      expect(smtp.received[0]?.secure).toBe(false);
    } finally {
      await smtp.close();
    }
  });

  it('refuses, not retryably, a server certificate from another CA', async () => {
    const smtp = await startSmtp(tlsKeys);
    try {
      const error = await failure(emailSender(testChannel('email', { ...base, port: smtp.port, tls: { caFile: certs.otherCaFile } }), activatedAlert));
      expect(error).toMatchObject({ code: 'target_error', retryable: false });
      expect(error.message).toMatch(/^email channel "test-email": the server's TLS certificate did not verify \(.+\); give the CA/);
      expect(smtp.mailFrom).toEqual([]);
    } finally {
      await smtp.close();
    }
  });

  it('a wrong password is not retryable and the error does not carry it', async () => {
    const smtp = await startSmtp(tlsKeys);
    try {
      const channel = testChannel('email', { ...base, port: smtp.port, user: 'breakglass', tls: { caFile: certs.caFile } }, 'wrong-pa55-do-not-leak');
      const error = await failure(emailSender(channel, activatedAlert));
      expect(error).toMatchObject({ code: 'target_error', retryable: false });
      expect(error.message).toBe('email channel "test-email": the SMTP server refused the login (EAUTH 535); check user and the password secret');
      expect(JSON.stringify({ message: error.message, cause: error.cause })).not.toContain('wrong-pa55');
    } finally {
      await smtp.close();
    }
  });

  it('a 4xx reply is retryable and a 5xx reply is not; both name the channel and the reply code, never the message', async () => {
    const busy = await startSmtp(tlsKeys, { code: 451, text: 'try again later' });
    const refusing = await startSmtp(tlsKeys, { code: 554, text: 'rejected' });
    try {
      const settings = { ...base, tls: { caFile: certs.caFile } };
      const later = await failure(emailSender(testChannel('email', { ...settings, port: busy.port }), activatedAlert));
      expect(later).toMatchObject({ code: 'target_unavailable', retryable: true, message: 'email channel "test-email": the SMTP server answered EMESSAGE 451 at DATA' });
      const never = await failure(emailSender(testChannel('email', { ...settings, port: refusing.port }), activatedAlert));
      expect(never).toMatchObject({ code: 'target_error', retryable: false });
      expect(never.message).toMatch(/^email channel "test-email": the SMTP server refused the message \(EMESSAGE 554 at DATA\)/);
      expect(never.message).not.toContain('pg-breakglass');
    } finally {
      await Promise.all([busy.close(), refusing.close()]);
    }
  });

  it('an unreachable server is a retryable failure, well within the timeout', async () => {
    const started = Date.now();
    const error = await failure(emailSender(testChannel('email', { ...base, port: await freePort(), user: 'breakglass' }, PASSWORD), activatedAlert));
    expect(error).toMatchObject({ code: 'target_unavailable', retryable: true, message: 'email channel "test-email" could not be reached (ECONNREFUSED)' });
    expect(Date.now() - started).toBeLessThan(DELIVERY_TIMEOUT_MS);
  });

  it('a server that never greets is a retryable failure after the delivery timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      const error = await failure(emailSender(testChannel('email', { ...base, port: (silent.address() as { port: number }).port }), activatedAlert));
      expect(error).toMatchObject({ code: 'target_unavailable', retryable: true, message: 'email channel "test-email" could not be reached (ETIMEDOUT)' });
      expect(Date.now() - started).toBeLessThan(DELIVERY_TIMEOUT_MS + 3000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 20_000);

  it('header injection: CR/LF in the payload cannot add a header or a recipient, and HTML in it is escaped', async () => {
    const smtp = await startSmtp(tlsKeys);
    try {
      const hostile = { ...activatedAlert, account: 'pg\r\nBcc: thief@evil.example', incident: 'INC-1\nX-Evil: 1', reason: '<script>alert(1)</script>', link: 'javascript:alert(1)' };
      await emailSender(testChannel('email', { ...base, port: smtp.port, tls: { caFile: certs.caFile } }), hostile);
      const mail = smtp.received[0]!;
      expect(mail.to).toEqual(base.to);
      const { headers } = parseEntity(mail.raw);
      expect(headers.has('bcc')).toBe(false);
      expect(headers.has('x-evil')).toBe(false);
      expect(headers.get('subject')).toBe('[Breakglass] CRITICAL grant.activated: pg Bcc: thief@evil.example by alice (INC-1 X-Evil: 1)');
      const html = parts(mail.raw).get('text/html') ?? '';
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain('<script>');
      expect(html).not.toContain('href="javascript:');
    } finally {
      await smtp.close();
    }
  });
});
