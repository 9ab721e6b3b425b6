/**
 * The syslog channel: RFC 5424 messages over UDP (RFC 5426), TCP or TLS (RFC 5425, octet
 * counting), optionally carrying a CEF record for SIEMs. It takes no secret, and can carry the
 * audit stream.
 */
import { z } from 'zod';
import { specFields } from '../../connectors/lib/connector-spec.js';
import type { ChannelSpec } from './channel-spec.js';
import { channelTls } from './channel-tls.js';

export const syslogChannel: ChannelSpec = {
  settings: {
    host: specFields.host,
    /** 514 (6514 over TLS) when absent. */
    port: specFields.port.optional(),
    protocol: z.enum(['udp', 'tcp', 'tls'], { error: 'must be udp, tcp or tls' }),
    /** Used with `protocol: tls` only. */
    tls: channelTls.optional(),
    /** RFC 5424 APP-NAME; "breakglass" when absent. */
    appName: z.string().regex(/^[!-~]{1,48}$/, 'must be 1 to 48 printable ASCII characters without spaces').optional(),
    /** 10 (authpriv) when absent. */
    facility: z
      .number({ error: 'must be a facility number from 0 to 23 (4 auth, 10 authpriv, 16-23 local0-local7)' })
      .int('must be a whole number')
      .min(0, 'must be a facility number from 0 to 23')
      .max(23, 'must be a facility number from 0 to 23')
      .optional(),
    /** `cef` puts a CEF record in the message text; rfc5424 (plain text) when absent. */
    format: z.enum(['rfc5424', 'cef'], { error: 'must be rfc5424 or cef' }).optional(),
  },
  secret: 'none',
  auditSink: true,
  example: { name: 'siem-syslog', type: 'syslog', host: 'siem.internal', protocol: 'tls', port: 6514, tls: { caFile: '/etc/breakglass/siem-ca.pem' }, format: 'cef' },
};
