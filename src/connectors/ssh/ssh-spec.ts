/**
 * What the catalog accepts for `type: ssh` (src/connectors/specs.ts): an optional `krlPath`
 * (the server defaults it, see `prepareSettings` in ssh-connector.ts), an optional `drillHost`
 * (the host drills log in to, its host key pinned) and the ephemeral
 * certificate's `principals`. Breakglass generates the CA key itself. zod only; principals are
 * checked again, strictly, by ssh-names.ts.
 */
import { z } from 'zod';
import { noNul, specFields, type ConnectorSpec } from '../lib/connector-spec.js';

/** A host name or an IP address; never an option (`-oProxyCommand=…`) nor a `user@` prefix. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?)*|[0-9A-Fa-f:.]{2,45})$/;
/** `type base64 [comment]`: the host's public key as `/etc/ssh/ssh_host_*_key.pub` holds it. */
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) ([A-Za-z0-9+/]+={0,3})(?: [^\n\r\0]*)?$/;

/**
 * `drillHost`: one host of the fleet a drill logs in to with the drill's certificate
 * (ssh-login.ts), its host key pinned here: the drill never trusts a host on first use.
 */
export const drillHostSchema = z.strictObject({
  host: specFields.host.regex(HOST, 'must be a host name or an IP address'),
  port: specFields.port.optional(),
  hostKey: z.string().max(16_384).regex(HOST_KEY, 'must be the host\'s public key line ("ssh-ed25519 AAAA…")'),
});

export const sshSpec: ConnectorSpec = {
  settings: { krlPath: specFields.absolutePath.optional(), drillHost: drillHostSchema.optional() },
  accounts: {
    ephemeral: { principals: z.array(noNul(64)).min(1, 'list at least one principal').max(16) },
  },
  generatesAdminSecret: true,
  example: {
    target: { name: 'hosts', type: 'ssh' },
    accounts: [{ name: 'ssh-root', target: 'hosts', mode: 'ephemeral', principals: ['root'], policy: 'p0' }],
  },
};
