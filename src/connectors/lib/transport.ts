/**
 * How a connector reaches its target safely: TLS settings read once when the connector is
 * created, and the one rule about passwords in clear. A password crosses the network in clear
 * only over TLS or when the target says `allowCleartext: true`; otherwise the connector refuses
 * before the password is sent, and says what to change.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { AppError } from '../../errors/index.js';
import type { specFields } from './connector-spec.js';

/** Node `tls.connect` options every driver understands (pg `ssl`, mysql2 `ssl`, ioredis `tls`, ldapts `tlsOptions`). */
export interface TlsOptions {
  readonly ca?: Buffer;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

/** The catalog's `tls` setting as a spec validated it (connector-spec.ts `specFields.tls`). */
export type TlsSetting = z.output<typeof specFields.tls> | undefined;

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

/**
 * Node's codes for a server certificate that did not verify (OpenSSL's X509 verify results, and
 * the host name check). Retrying cannot help: the certificate, the CA or the setting must change.
 */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED',
  'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
]);

/**
 * What to tell the operator when `err` is a server certificate that did not verify, or
 * `undefined` when it is something else.
 *
 * @example certificateProblem(err) // → "the server's TLS certificate did not verify (SELF_SIGNED_CERT_IN_CHAIN); give the CA …"
 */
export function certificateProblem(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the server's TLS certificate did not verify (${code}: it was not issued for this host); set tls.servername to the name it was issued for, or tls.verify: false to skip the check`;
  }
  if (CERTIFICATE_CODES.has(code)) {
    return `the server's TLS certificate did not verify (${code}); give the CA that signed it in tls.caFile, or set tls.verify: false to skip the check`;
  }
  return undefined;
}

/**
 * The refusal for a target whose certificate does not verify, or `undefined` when `err` is
 * something else. Not retryable: the same certificate will not verify next time either.
 *
 * @example throw certificateRefused('postgres', err) ?? toAppError(err)
 */
export function certificateRefused(type: string, err: unknown): AppError | undefined {
  const problem = certificateProblem(err);
  if (problem === undefined) return undefined;
  return new AppError('target_error', `${type} target: ${problem}`, { retryable: false, cause: { code: (err as { code: string }).code } });
}
