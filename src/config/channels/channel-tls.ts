/**
 * TLS to a channel's receiver (SMTP server, syslog collector), as e-mail and syslog write it:
 * `tls: { caFile, verify }`. The certificate is verified unless `verify: false` says otherwise;
 * `caFile` adds the CA that signed it when the system's CAs do not know it.
 */
import { z } from 'zod';
import { specFields } from '../../connectors/lib/connector-spec.js';

export const channelTls = z
  .object({
    caFile: specFields.absolutePath.optional(),
    verify: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .strict();
