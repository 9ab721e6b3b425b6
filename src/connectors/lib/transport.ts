/**
 * How a connector reaches its target safely: TLS settings read once when the connector is
 * created, and the one rule about passwords in clear. A password crosses the network in clear
 * only over TLS or when the target says `allowCleartext: true`; otherwise the connector refuses
 * before the password is sent, and says what to change.
 */
import { readFileSync } from 'node:fs';
import { AppError } from '../../errors/index.js';

/** Node `tls.connect` options every driver understands (pg `ssl`, mysql2 `ssl`, ioredis `tls`, ldapts `tlsOptions`). */
export interface TlsOptions {
  readonly ca?: Buffer;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

/** The catalog's `tls` setting as a spec validated it (connector-spec.ts `specFields.tls`). */
export type TlsSetting = boolean | { readonly caFile?: string; readonly verify?: boolean; readonly servername?: string } | undefined;

/**
 * Node TLS options for the target, or `undefined` when TLS is off. The CA file is read now, so a
 * missing or unreadable file fails when the connector is made, naming the setting.
 *
 * @example tlsOptions('postgres', { caFile: '/etc/ssl/db-ca.pem' }) // → { ca: <Buffer>, rejectUnauthorized: true }
 */
export function tlsOptions(type: string, setting: TlsSetting): TlsOptions | undefined {
  if (setting === undefined || setting === false) return undefined;
  if (setting === true) return { rejectUnauthorized: true };
  let ca: Buffer | undefined;
  if (setting.caFile !== undefined) {
    try {
      ca = readFileSync(setting.caFile);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new AppError('validation', `${type} target tls.caFile cannot be read (${why}); give a PEM file the server can read`, { path: 'settings.tls.caFile' });
    }
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    rejectUnauthorized: setting.verify !== false,
    ...(setting.servername === undefined ? {} : { servername: setting.servername }),
  };
}

/**
 * The refusal when a target asks for a password in clear (or a scheme as weak) over a
 * connection without TLS. Not retryable: the target or the catalog must change.
 *
 * @example throw cleartextRefused('postgres', 'asked for a cleartext password (pg_hba.conf method "password")', 'switch the method to scram-sha-256');
 */
export function cleartextRefused(type: string, asked: string, fix: string): AppError {
  return new AppError(
    'target_error',
    `${type} target ${asked} over a connection without TLS; Breakglass does not send passwords that way. ${fix}, enable tls on the target, or set allowCleartext: true on it to accept the risk`,
    { retryable: false },
  );
}
