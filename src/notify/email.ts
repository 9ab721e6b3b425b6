/**
 * The e-mail channel: one message per alert over SMTP (nodemailer), a plain-text part and a
 * simple HTML part, with the header `Breakglass-Event-Id` (the same on every retry). TLS is
 * implicit (`secure`) or STARTTLS, required unless `allowCleartext: true`; with a password
 * and without `allowCleartext` it is required whatever `requireTls` says, so the password
 * never crosses the network in clear. Errors name the channel and the SMTP code, never the
 * password, the recipients or the message.
 */
import { createTransport } from 'nodemailer';
import { AppError } from '../errors/index.js';
import type { AlertPayload, ChannelConnection, ChannelSender, DeliveryReceipt } from '../ports/index.js';
import { alertFields, type AlertFieldName } from './alert-fields.js';
import { certificateRefused, channelTlsOptions } from './channel-tls.js';
import { DELIVERY_TIMEOUT_MS, requiredSetting } from './http-delivery.js';

/** The settings as src/config/channels/email.ts validated them (the catalog stores nothing else). */
interface EmailSettings {
  readonly port?: number;
  readonly secure?: boolean;
  readonly requireTls?: boolean;
  readonly allowCleartext?: boolean;
  readonly user?: string;
  readonly to?: readonly string[];
  readonly subjectPrefix?: string;
}

/** What nodemailer puts on its errors. */
interface SmtpError {
  readonly code?: string;
  readonly originalCode?: string;
  readonly responseCode?: number;
  readonly command?: string;
}

export const emailSender: ChannelSender = async (channel: ChannelConnection, payload: AlertPayload) => {
  const host = requiredSetting(channel, 'host');
  const from = requiredSetting(channel, 'from');
  const settings = channel.settings as EmailSettings;
  if (settings.to === undefined || settings.to.length === 0) throw new AppError('validation', `email channel "${channel.name}" has no to`);
  if ((channel.secret === undefined) !== (settings.user === undefined)) {
    throw new AppError('validation', `email channel "${channel.name}" needs both user and a password (secretEnv), or neither`);
  }
  const secure = settings.secure === true;
  const cleartext = settings.allowCleartext === true;
  const transport = createTransport({
    host,
    port: settings.port ?? (secure ? 465 : 587),
    secure,
    // The one rule: a password goes only over TLS unless the catalog accepted the risk.
    requireTLS: !secure && ((channel.secret !== undefined && !cleartext) || (settings.requireTls ?? !cleartext)),
    tls: channelTlsOptions(channel),
    ...(channel.secret === undefined ? {} : { auth: { user: settings.user ?? '', pass: channel.secret } }),
    connectionTimeout: DELIVERY_TIMEOUT_MS,
    greetingTimeout: DELIVERY_TIMEOUT_MS,
    socketTimeout: DELIVERY_TIMEOUT_MS,
    dnsTimeout: DELIVERY_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const info = (await transport.sendMail({
      from,
      to: [...settings.to],
      subject: emailSubject(settings.subjectPrefix ?? '[Breakglass]', payload),
      text: emailText(payload),
      html: emailHtml(payload),
      headers: { 'Breakglass-Event-Id': oneLine(payload.id), 'Breakglass-Event': payload.event, 'Breakglass-Severity': payload.severity },
    })) as { response?: unknown };
    return receipt(info.response);
  } catch (error) {
    throw smtpFailure(channel, error);
  } finally {
    transport.close();
  }
};

/** The server's final answer ("250 2.0.0 Ok: queued as 4F2A1"), first line, bounded. */
function receipt(response: unknown): DeliveryReceipt {
  const first = typeof response === 'string' ? oneLine(response.split('\n')[0] ?? '').slice(0, 100) : '';
  return { status: first === '' ? 'accepted' : first };
}

/** What went wrong, by nodemailer's code and the SMTP reply code: never the server's text (it may quote what we sent). */
function smtpFailure(channel: ChannelConnection, error: unknown): AppError {
  const refused = certificateRefused(channel, error);
  if (refused !== undefined) return refused;
  const { code = 'unknown', originalCode, responseCode, command } = (error ?? {}) as SmtpError;
  const named = `email channel "${channel.name}"`;
  const reply = responseCode === undefined ? code : `${code} ${responseCode}`;
  if (code === 'ETLS' && command === 'STARTTLS') {
    return new AppError(
      'target_error',
      `${named}: the SMTP server did not accept STARTTLS (${reply}); Breakglass does not send mail or a password in clear. Enable STARTTLS on the server, set secure: true for implicit TLS (port 465), or set allowCleartext: true to accept the risk`,
      { retryable: false },
    );
  }
  if (code === 'EAUTH' || code === 'ENOAUTH') {
    return new AppError('target_error', `${named}: the SMTP server refused the login (${reply}); check user and the password secret`, { retryable: false });
  }
  if (responseCode !== undefined && responseCode >= 500 && responseCode !== 503) {
    return new AppError('target_error', `${named}: the SMTP server refused the message (${reply}${command === undefined ? '' : ` at ${command}`}); check from, to and the server's relay rules`, { retryable: false });
  }
  if (responseCode !== undefined) return new AppError('target_unavailable', `${named}: the SMTP server answered ${reply}${command === undefined ? '' : ` at ${command}`}`);
  return new AppError('target_unavailable', `${named} could not be reached (${originalCode ?? code})`);
}

/** Header text on one line: a CR or LF in the payload cannot start a header of its own. */
const oneLine = (text: string): string => text.replace(/\p{Cc}+/gu, ' ').trim();

/** "[Breakglass] CRITICAL grant.activated: pg-breakglass by alice (INC-123)" */
export function emailSubject(prefix: string, payload: AlertPayload): string {
  const about = payload.account ?? payload.summary;
  const by = payload.requester === undefined ? '' : ` by ${payload.requester}`;
  const incident = payload.incident === undefined ? '' : ` (${payload.incident})`;
  return oneLine(`${prefix} ${payload.severity.toUpperCase()} ${payload.event}: ${about}${by}${incident}`).slice(0, 250);
}

const labels: Readonly<Record<AlertFieldName, string>> = {
  account: 'Account',
  target: 'Target',
  requester: 'Requester',
  approvers: 'Approvers',
  condition: 'Condition',
  incident: 'Incident',
  reason: 'Reason',
  expiresAt: 'Expires',
  grant: 'Grant',
  actor: 'Actor',
};

/** The essentials at a glance, labelled: the event, what the payload has, when and which event. */
function emailFields(payload: AlertPayload): [label: string, value: string][] {
  return [
    ['Event', `${payload.event} (${payload.severity})`],
    ...alertFields(payload).map(([name, text]): [string, string] => [labels[name], text]),
    ['At', payload.at],
    ['Event id', payload.id],
  ];
}

function emailText(payload: AlertPayload): string {
  const fields = emailFields(payload);
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  const lines = fields.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
  const ack = payload.ackLink === undefined ? [] : ['', `Acknowledge: ${payload.ackLink}`];
  return [payload.summary, '', ...lines, ...(payload.link === undefined ? [] : ['', payload.link]), ...ack, ''].join('\n');
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function emailHtml(payload: AlertPayload): string {
  const rows = emailFields(payload).map(([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`);
  // Only an http(s) link becomes a link: never javascript: or data:, whatever the payload says.
  const anchor = (href: string | undefined, text: string | undefined) =>
    href !== undefined && /^https?:\/\//i.test(href) ? `<p><a href="${escapeHtml(href)}">${escapeHtml(text ?? href)}</a></p>` : '';
  const link = anchor(payload.link, undefined) + anchor(payload.ackLink, 'Acknowledge');
  return `<!doctype html><html><body><p><strong>${escapeHtml(payload.summary)}</strong></p><table>${rows.join('')}</table>${link}</body></html>`;
}
