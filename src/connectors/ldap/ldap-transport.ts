/**
 * How the LDAP connector reaches its directory, decided once when the connector is made:
 * implicit TLS on `ldaps://`, StartTLS on `ldap://` when the target sets `tls`, and plain
 * `ldap://` only with `allowCleartext: true`, because every simple bind (the admin's, the lock
 * check's) carries its password as it is typed. See ./README.md.
 */
import { Client } from 'ldapts';
import { AppError } from '../../errors/index.js';
import { cleartextRefused, tlsOptions, type TlsOptions } from '../lib/transport.js';
import { resultCodeOf, resultText } from './ldap-errors.js';

/** The settings as the connector's zod schema outputs them (optional fields may be undefined). */
export interface LdapTransportSettings {
  readonly url: string;
  readonly tls?: boolean | { readonly caFile?: string | undefined; readonly verify?: boolean | undefined; readonly servername?: string | undefined } | undefined;
  readonly allowCleartext?: boolean | undefined;
}

export interface LdapTransport {
  /** A client for one call (implicit TLS on ldaps://); refuses when its binds would go in clear. */
  client(timeoutMs: number): Client;
  /** Runs StartTLS on a fresh client where the target asks for it; call before any bind. */
  secure(client: Client, timeoutMs: number): Promise<void>;
}

/**
 * @example ldapTransport({ url: 'ldap://ldap.internal:389', tls: { caFile: '/etc/ssl/ldap-ca.pem' } }) // StartTLS, verified
 */
export function ldapTransport({ url, tls, allowCleartext }: LdapTransportSettings): LdapTransport {
  const implicit = url.startsWith('ldaps://');
  if (implicit && tls === false) {
    throw new AppError('validation', 'ldap target url is ldaps://, which always uses TLS, but tls is false; remove tls: false or use an ldap:// url', { path: 'settings.tls' });
  }
  // Verification stays on unless the target says verify: false, also for ldaps:// without tls.
  // tlsOptions reads a field set to undefined as absent, which is what zod's output means by it.
  const options: TlsOptions | undefined = tlsOptions('ldap', tls) ?? (implicit ? { rejectUnauthorized: true } : undefined);
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');

  return {
    client(timeoutMs) {
      if (options === undefined && allowCleartext !== true) {
        throw cleartextRefused('ldap', 'would receive simple-bind passwords (the bind DN\'s, the lock check\'s)', 'Use an ldaps:// url');
      }
      // ldapts switches to implicit TLS whenever tlsOptions are given: only ldaps:// gets them.
      return new Client({ url, timeout: timeoutMs, connectTimeout: timeoutMs, ...(implicit ? { tlsOptions: { ...options } } : {}) });
    },
    async secure(client, timeoutMs) {
      if (!implicit && options !== undefined) await startTls(client, { ...options, host }, timeoutMs);
    },
  };
}

/**
 * Upgrades a fresh connection with StartTLS. `host` makes Node check the certificate against the
 * URL's host (and send SNI for names). ldapts puts no deadline on the handshake, so one is set here.
 */
async function startTls(client: Client, options: TlsOptions & { host: string }, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('StartTLS timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  try {
    await Promise.race([client.startTLS({ ...options }), deadline]);
  } catch (err) {
    const code = resultCodeOf(err);
    if (code === undefined) throw err;
    throw new AppError('target_error', `ldap target refused StartTLS (${resultText(code)}); configure TLS on the directory, or use an ldaps:// url`, {
      cause: { code },
      retryable: false,
    });
  } finally {
    clearTimeout(timer);
  }
}
