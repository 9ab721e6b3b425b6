/**
 * The pg Client every PostgreSQL connection of a target uses (admin pool, other databases,
 * verify logins): TLS as the target sets it, and no password sent the weak ways. Without TLS
 * the server must ask for SCRAM; a request for a cleartext or MD5 password is refused before
 * the password leaves, unless the target says `allowCleartext: true`.
 */
import pg from 'pg';
import { cleartextRefused, type TlsOptions } from '../lib/transport.js';

export interface PgTransport {
  /** Node TLS options (pg's `ssl`), or undefined for a plain connection. */
  readonly ssl: TlsOptions | undefined;
  readonly allowCleartext: boolean;
}

const WEAK_METHODS = {
  authenticationCleartextPassword: ['asked for a cleartext password (pg_hba.conf method "password")', 'switch pg_hba.conf to scram-sha-256'],
  authenticationMD5Password: [
    'asked for MD5 password authentication (pg_hba.conf method "md5", or a role whose password is stored as MD5)',
    'switch pg_hba.conf to scram-sha-256 and set password_encryption = scram-sha-256',
  ],
} as const;

/**
 * A Client class bound to the target's transport, for `new Pool({Client})` and direct use.
 *
 * @example const Client = guardedClient({ ssl: undefined, allowCleartext: false }); new Client({ host, user, password })
 */
export function guardedClient(transport: PgTransport): typeof pg.Client {
  const weakAllowed = transport.ssl !== undefined || transport.allowCleartext;
  return class GuardedClient extends pg.Client {
    constructor(config: pg.ClientConfig) {
      // pg-pool hides `password` from enumeration: a bare spread would drop it.
      super({ ...config, password: config.password, ...(transport.ssl === undefined ? {} : { ssl: { ...transport.ssl } }) });
      if (weakAllowed) return;
      const secret = config.password;
      let asked: keyof typeof WEAK_METHODS | undefined;
      // Registered before connect(), so ours run before the client's own handlers, which fetch
      // the password through the function below and send it.
      for (const method of Object.keys(WEAK_METHODS) as (keyof typeof WEAK_METHODS)[]) {
        this.connection.on(method, () => (asked = method));
      }
      const password = () => {
        if (asked !== undefined) {
          const [what, fix] = WEAK_METHODS[asked];
          throw cleartextRefused('postgres', what, fix);
        }
        return typeof secret === 'function' ? secret() : secret;
      };
      Object.defineProperty(this, 'password', { configurable: true, enumerable: false, writable: true, value: password });
    }
  };
}
