/**
 * How every connection of the connector reaches MariaDB (the admin's and the login as an
 * account): TLS from the target's `tls` setting, verified unless `verify: false`, and no password
 * in clear (`mysql_clear_password`, as PAM and LDAP accounts ask for) unless over TLS or the
 * target says `allowCleartext: true`. Failures of either become AppErrors that say what to change.
 */
import type { AuthPlugin, SslOptions } from 'mysql2';
import { AppError } from '../../errors/index.js';
import type { z } from 'zod';
import type { specFields } from '../lib/connector-spec.js';
import { cleartextRefused, tlsOptions } from '../lib/transport.js';

type SpecTls = z.output<typeof specFields.tls>;

/** What `mysql.createConnection` gets on top of host, port and login. */
export interface MysqlTransport {
  readonly ssl?: SslOptions;
  readonly enableCleartextPlugin?: boolean;
  readonly authPlugins?: Readonly<Record<string, AuthPlugin>>;
}

/** The server asked for the password in clear and we may not send it (before a byte of it left). */
class CleartextAsked extends Error {
  constructor(readonly user: string) {
    super('mysql_clear_password refused');
  }
}

/** Answers the server's request for a cleartext password with a refusal instead of the password. */
const refuseCleartext: AuthPlugin = ({ connection }) => () => Promise.reject<Buffer>(new CleartextAsked(String(connection.config.user ?? '')));

/**
 * The connection options for the target's `tls` and `allowCleartext` settings. The CA file is
 * read now, so a bad path fails when the connector is made.
 *
 * @example mysqlTransport({ caFile: '/etc/ssl/maria-ca.pem' }, undefined) // → { ssl: { ca, rejectUnauthorized: true, verifyIdentity: true }, enableCleartextPlugin: true }
 */
export function mysqlTransport(tls: SpecTls | undefined, allowCleartext: boolean | undefined): MysqlTransport {
  const options = tlsOptions('mysql', tls);
  if (options?.servername !== undefined) {
    // mysql2 checks the certificate against `host` and offers no other name to verify.
    throw new AppError('validation', 'mysql target tls.servername is not supported; set host to the name on the server certificate instead', { path: 'settings.tls.servername' });
  }
  const ssl: SslOptions | undefined =
    options === undefined
      ? undefined
      : { ...(options.ca === undefined ? {} : { ca: options.ca }), rejectUnauthorized: options.rejectUnauthorized, verifyIdentity: options.rejectUnauthorized };
  // Our own refusing plugin rather than mysql2's default: the rule must not depend on its version.
  if (ssl === undefined && allowCleartext !== true) return { authPlugins: { mysql_clear_password: refuseCleartext } };
  return { ...(ssl === undefined ? {} : { ssl }), enableCleartextPlugin: true };
}

/**
 * A TLS or cleartext failure of a connection as the AppError that says what to change, or
 * `undefined` for any other failure. mysql2 overwrites Node's TLS error code with its own, so
 * the kinds are told apart by shape: a network error has a `syscall`, an OpenSSL protocol error a
 * `library`, a certificate that did not verify neither.
 */
export function transportError(err: unknown, where: string): AppError | undefined {
  if (err instanceof CleartextAsked) {
    return cleartextRefused('mysql', `asked for the password of user ${JSON.stringify(err.user)} in clear (mysql_clear_password, as PAM or LDAP accounts do)`, 'Give the account a challenge-response plugin such as mysql_native_password');
  }
  const e = err as { code?: unknown; syscall?: unknown; library?: unknown; message?: unknown } | null;
  const code = e?.code;
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return new AppError('target_error', `${where}: the server does not offer TLS; enable TLS on it (ssl_cert, ssl_key) or remove tls from the target`, { cause: { code }, retryable: false });
  }
  if (code !== 'HANDSHAKE_SSL_ERROR') return undefined;
  const detail = typeof e?.message === 'string' ? e.message : 'unknown';
  if (typeof e?.syscall === 'string') {
    return new AppError('target_unavailable', `${where}: the connection broke during the TLS handshake (${e.syscall})`, { cause: { code }, retryable: true });
  }
  if (e?.library !== undefined) {
    return new AppError('target_error', `${where}: the TLS handshake failed (${detail}); check the TLS versions and ciphers the server accepts`, { cause: { code }, retryable: false });
  }
  return new AppError(
    'target_error',
    `${where}: the server's TLS certificate did not verify (${detail}); set tls.caFile to the CA that signed it, or tls.verify: false to accept any certificate`,
    { cause: { code }, retryable: false },
  );
}
