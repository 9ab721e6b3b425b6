/**
 * TLS to a channel's receiver (e-mail, syslog) from its `tls: { caFile, verify }` setting, and
 * what to tell the operator when the receiver's certificate does not verify. The CA file is
 * read at each delivery, so a renewed CA is picked up without a restart.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { AppError } from '../errors/index.js';
import type { ChannelConnection } from '../ports/index.js';

/** The catalog's `tls` setting as src/config/channels/channel-tls.ts validated it. */
interface TlsSetting {
  readonly caFile?: string;
  readonly verify?: boolean;
}

/** Node TLS options for the channel: TLS 1.2 or later, the certificate verified unless `verify: false`. */
export function channelTlsOptions(channel: ChannelConnection): ConnectionOptions {
  const setting = (channel.settings['tls'] ?? {}) as TlsSetting;
  let ca: Buffer | undefined;
  if (setting.caFile !== undefined) {
    try {
      ca = readFileSync(setting.caFile);
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new AppError('target_error', `${channel.type} channel "${channel.name}": tls.caFile cannot be read (${why}); give a PEM file the server can read`, { retryable: false });
    }
  }
  return { ...(ca === undefined ? {} : { ca }), rejectUnauthorized: setting.verify !== false, minVersion: 'TLSv1.2' };
}

/**
 * The refusal for a receiver whose certificate did not verify (Node's codes, or its message when
 * a library kept only that), or `undefined` when `error` is something else. Not retryable: the
 * same certificate will not verify next time either.
 */
export function certificateRefused(channel: ChannelConnection, error: unknown): AppError | undefined {
  const { code, originalCode, message } = (error ?? {}) as { code?: unknown; originalCode?: unknown; message?: unknown };
  const codes = [code, originalCode].filter((part): part is string => typeof part === 'string');
  const which = codes.find((part) => /CERT|SELF_SIGNED|UNABLE_TO_/.test(part));
  if (which === undefined && !(typeof message === 'string' && /certificate/i.test(message))) return undefined;
  return new AppError(
    'target_error',
    `${channel.type} channel "${channel.name}": the server's TLS certificate did not verify (${which ?? 'certificate'}); give the CA that signed it in tls.caFile, or set tls.verify: false to skip the check`,
    { retryable: false },
  );
}
