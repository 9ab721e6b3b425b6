/**
 * The e-mail channel: one message per alert over SMTP. TLS is implicit (`secure: true`, port
 * 465) or STARTTLS, which is required unless `allowCleartext: true`: a password (the channel's
 * optional secret) never crosses the network in clear otherwise, the same rule as targets'.
 */
import { z } from 'zod';
import { specFields } from '../../connectors/lib/connector-spec.js';
import type { ChannelSpec } from './channel-spec.js';
import { channelTls } from './channel-tls.js';

const address = z.email('must be an e-mail address such as secops@example.com').max(254);
const flag = z.boolean({ error: 'must be true or false' });

export const emailChannel: ChannelSpec = {
  settings: {
    host: specFields.host,
    /** 587 (465 with `secure`) when absent. */
    port: specFields.port.optional(),
    /** Implicit TLS from the first byte (SMTPS, port 465) instead of STARTTLS. */
    secure: flag.optional(),
    /** Refuse a server that does not offer STARTTLS; on unless `allowCleartext: true`. */
    requireTls: flag.optional(),
    allowCleartext: specFields.allowCleartext.optional(),
    tls: channelTls.optional(),
    /** The SMTP login; the password is the channel's secret (`secretEnv`). */
    user: specFields.user.optional(),
    from: address,
    to: z.array(address, { error: 'must be a list of e-mail addresses' }).min(1, 'list at least one recipient').max(50, 'list at most 50 recipients'),
    /** Starts every subject; "[Breakglass]" when absent. */
    subjectPrefix: z.string().max(64).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters').optional(),
  },
  secret: 'optional',
  example: {
    name: 'secops-mail',
    type: 'email',
    host: 'smtp.internal',
    port: 587,
    user: 'breakglass',
    secretEnv: 'SMTP_PASSWORD',
    from: 'breakglass@example.com',
    to: ['secops@example.com'],
  },
};
