/**
 * The syslog channel: one RFC 5424 message per alert over UDP (RFC 5426), TCP (RFC 6587) or
 * TLS (RFC 5425), octet-counted on streams. The structured data `[breakglass@32473 …]` carries
 * the alert's fields; the message text is the summary or, with `format: cef`, a CEF record for
 * SIEMs. Syslog has no answer: the receipt says what was sent; only a connection that cannot be
 * made (TCP, TLS) is a failure. Every value is on one line, escaped where its format says.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { Severity } from '../domain/index.js';
import { AppError } from '../errors/index.js';
import type { AlertPayload, ChannelConnection, ChannelSender, DeliveryReceipt } from '../ports/index.js';
import { alertFields } from './alert-fields.js';
import { certificateRefused, channelTlsOptions } from './channel-tls.js';
import { DELIVERY_TIMEOUT_MS, requiredSetting } from './http-delivery.js';

/** The settings as src/config/channels/syslog.ts validated them (the catalog stores nothing else). */
interface SyslogSettings {
  readonly port?: number;
  readonly protocol?: 'udp' | 'tcp' | 'tls';
  readonly appName?: string;
  readonly facility?: number;
  readonly format?: 'rfc5424' | 'cef';
}

/** RFC 5424 §6.2.1 severities: critical, warning, informational. */
const syslogSeverity: Readonly<Record<Severity, number>> = { critical: 2, warning: 4, info: 6 };
/** CEF's 0-10 scale: very high, medium, low. */
const cefSeverity: Readonly<Record<Severity, number>> = { critical: 10, warning: 6, info: 3 };
/** The documentation enterprise number of RFC 5612, as the SD-ID's suffix. */
export const SD_ID = 'breakglass@32473';
const AUTHPRIV = 10;
const BOM = '\u{FEFF}';

export const syslogSender: ChannelSender = async (channel: ChannelConnection, payload: AlertPayload) => {
  const host = requiredSetting(channel, 'host');
  const protocol = requiredSetting(channel, 'protocol');
  const settings = channel.settings as SyslogSettings;
  const message = Buffer.from(syslogMessage(payload, settings), 'utf8');
  const port = settings.port ?? (protocol === 'tls' ? 6514 : 514);
  if (protocol === 'udp') return sendDatagram(channel, host, port, message);
  if (protocol !== 'tcp' && protocol !== 'tls') throw new AppError('validation', `syslog channel "${channel.name}" has protocol "${protocol}"; use udp, tcp or tls`);
  // RFC 6587 §3.4.1 octet counting: the length in bytes, a space, the message.
  return sendFrame(channel, protocol, host, port, Buffer.concat([Buffer.from(`${message.length} `), message]));
};

/** Text on one line: a CR or LF in the payload cannot start a message of its own. */
const oneLine = (text: string): string => text.replace(/\p{Cc}+/gu, ' ');

/** RFC 3339 time of the alert, or the NILVALUE when the payload's is not a time. */
function timestamp(at: string): string {
  const time = new Date(at);
  return Number.isNaN(time.getTime()) ? '-' : time.toISOString();
}

/** `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG` (RFC 5424 §6). */
export function syslogMessage(payload: AlertPayload, settings: SyslogSettings): string {
  const pri = (settings.facility ?? AUTHPRIV) * 8 + syslogSeverity[payload.severity];
  const host = hostname().replace(/[^!-~]/g, '').slice(0, 255) || '-';
  const header = `<${pri}>1 ${timestamp(payload.at)} ${host} ${settings.appName ?? 'breakglass'} ${process.pid} ${payload.event.slice(0, 32)}`;
  // A CEF record goes without the BOM (MSG-ANY): SIEM parsers look for "CEF:" first.
  const text = settings.format === 'cef' ? cefRecord(payload) : `${BOM}${oneLine(payload.summary)}`;
  return `${header} ${structuredData(payload)} ${text}`;
}

/** The SD params: which event, then what the payload has, the link last. */
function sdFields(payload: AlertPayload): [name: string, value: string][] {
  const link: [string, string][] = [
    ...(payload.link === undefined || payload.link === '' ? [] : [['link', payload.link] as [string, string]]),
    ...(payload.ackLink === undefined || payload.ackLink === '' ? [] : [['ackLink', payload.ackLink] as [string, string]]),
  ];
  return [['id', payload.id], ['event', payload.event], ['severity', payload.severity], ...alertFields(payload), ...link];
}

/** `[breakglass@32473 id="…" event="…" …]`, with `"`, `\` and `]` escaped (RFC 5424 §6.3.3). */
function structuredData(payload: AlertPayload): string {
  const params = sdFields(payload).map(([name, value]) => `${name}="${oneLine(value).replace(/["\\\]]/g, '\\$&')}"`);
  return `[${SD_ID} ${params.join(' ')}]`;
}

/** Where each field goes in a CEF record: a standard key, or a labelled custom one. */
const cefKeys: Readonly<Record<string, string>> = {
  id: 'externalId',
  requester: 'suser',
  account: 'duser',
  reason: 'reason',
  grant: 'cs1',
  target: 'cs2',
  incident: 'cs3',
  approvers: 'cs4',
  condition: 'cs5',
  link: 'cs6',
  actor: 'flexString1',
  expiresAt: 'deviceCustomDate1',
};

/** The keys CEF leaves to the device, each named by a `<key>Label` beside it. */
const customKey = /^(cs|flexString|deviceCustomDate)\d$/;
const cefHeader = (text: string): string => oneLine(text).replace(/[\\|]/g, '\\$&');
const cefValue = (text: string): string => oneLine(text.replace(/[\\=]/g, '\\$&').replace(/\r\n|\r|\n/g, '\\n'));
const epochMillis = (text: string): string => {
  const millis = new Date(text).getTime();
  return Number.isNaN(millis) ? text : String(millis);
};

/** `CEF:0|Breakglass|Breakglass|<version>|<event>|<summary>|<0-10>|rt=… externalId=… …` */
export function cefRecord(payload: AlertPayload): string {
  const extension = [`rt=${cefValue(epochMillis(payload.at))}`];
  for (const [name, value] of sdFields(payload)) {
    const key = cefKeys[name];
    if (key === undefined) continue;
    if (customKey.test(key)) extension.push(`${key}Label=${name}`);
    extension.push(`${key}=${cefValue(key.startsWith('deviceCustomDate') ? epochMillis(value) : value)}`);
  }
  const header = ['CEF:0', 'Breakglass', 'Breakglass', breakglassVersion(), payload.event, payload.summary, String(cefSeverity[payload.severity])];
  return `${header.map((part, index) => (index === 0 ? part : cefHeader(part))).join('|')}|${extension.join(' ')}`;
}

let version: string | undefined;
/** The package's version, read once, for CEF's Device Version. */
function breakglassVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

function unreachable(channel: ChannelConnection, over: string, error: unknown): AppError {
  const code = (error as { code?: unknown } | null)?.code;
  return new AppError('target_unavailable', `syslog channel "${channel.name}" could not be reached over ${over} (${typeof code === 'string' ? code : 'unknown'})`);
}

/** One datagram: sent is all UDP can tell (an ICMP "port unreachable" comes too late, if at all). */
function sendDatagram(channel: ChannelConnection, host: string, port: number, message: Buffer): Promise<DeliveryReceipt> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => socket.close(() => reject(unreachable(channel, 'UDP', { code: 'ETIMEDOUT' }))), DELIVERY_TIMEOUT_MS);
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(unreachable(channel, 'UDP', error));
    });
    socket.send(message, port, host, (error) => {
      clearTimeout(timer);
      socket.close();
      if (error === null) resolve({ status: `sent ${message.length} bytes over UDP` });
      else reject(unreachable(channel, 'UDP', error));
    });
  });
}

/**
 * One frame over a fresh TCP or TLS connection, closed after it. Sent once the frame is handed
 * to the system; the connection then closes on its own, or at the timeout.
 */
function sendFrame(channel: ChannelConnection, protocol: 'tcp' | 'tls', host: string, port: number, frame: Buffer): Promise<DeliveryReceipt> {
  return new Promise((resolve, reject) => {
    const over = protocol.toUpperCase();
    const socket: Socket =
      protocol === 'tls'
        ? tlsConnect({ host, port, ...channelTlsOptions(channel), ...(isIP(host) === 0 ? { servername: host } : {}) })
        : tcpConnect({ host, port });
    let settled = false;
    const fail = (error: unknown) => {
      socket.destroy();
      if (settled) return;
      settled = true;
      reject(certificateRefused(channel, error) ?? unreachable(channel, over, error));
    };
    socket.setTimeout(DELIVERY_TIMEOUT_MS, () => fail({ code: 'ETIMEDOUT' }));
    socket.on('error', fail);
    socket.once(protocol === 'tls' ? 'secureConnect' : 'connect', () => {
      socket.end(frame, () => {
        settled = true;
        resolve({ status: `sent ${frame.length} bytes over ${over}` });
      });
    });
  });
}
