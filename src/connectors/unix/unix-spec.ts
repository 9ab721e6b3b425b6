/**
 * What the catalog accepts for `type: unix` (src/connectors/specs.ts): the host Breakglass
 * reaches over SSH (`host`, `port`), the admin login (`user`) whose private key the file names
 * with `privateKeyEnv` (sealed like any target password), the host's pinned public key
 * (`hostKey`, required: no trust on first use), and the accounts: a pre-staged local `user`
 * with optional supplementary `groups`, or an ephemeral user per grant with its `groups`.
 * zod only; names are checked again, strictly, by unix-names.ts.
 */
import { z } from 'zod';
import { specFields, type ConnectorSpec } from '../lib/connector-spec.js';

/** A host name or an IP address; never an option (`-oProxyCommand=…`) nor a `user@` prefix. */
export const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?)*|[0-9A-Fa-f:.]{2,45})$/;
/** `type base64 [comment]`: the host's public key as `/etc/ssh/ssh_host_*_key.pub` holds it. */
export const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) ([A-Za-z0-9+/]+={0,3})(?: [^\n\r\0]*)?$/;
/** A portable POSIX login or group name (no leading dash, no dot, no upper case, at most 32). */
export const POSIX_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

const groups = z.array(z.string().regex(POSIX_NAME, 'must be a group name ([a-z_][a-z0-9_-]*, at most 32)')).max(16);

export const unixSpec: ConnectorSpec = {
  settings: {
    host: specFields.host.regex(HOST, 'must be a host name or an IP address'),
    port: specFields.port.optional(),
    user: z.string().regex(POSIX_NAME, 'must be a login name ([a-z_][a-z0-9_-]*, at most 32)'),
    hostKey: z.string().max(16_384).regex(HOST_KEY, 'must be the host\'s public key line ("ssh-ed25519 AAAA…")'),
    // The file's name for the variable holding the admin private key; the CLI replaces it by the key (resolvePasswords).
    privateKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name').optional(),
  },
  accounts: {
    prestaged: { user: specFields.user, groups: groups.optional(), adopt: specFields.adopt.optional() },
    ephemeral: { groups: groups.optional() },
  },
  principalField: 'user',
  reservedPrincipal: (user, settings) => {
    if (user === 'root') return "it is the host's superuser";
    if (user === settings['user']) return "it is the target's user, the login Breakglass connects as";
    return undefined;
  },
  example: {
    target: {
      name: 'db-host',
      type: 'unix',
      host: 'db1.internal',
      port: 22,
      user: 'breakglass',
      hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0gX2y1m9l2Jb9t2iSg8vJ7m8Wm2G4yYFh8H0aW2Xx root@db1',
      privateKeyEnv: 'DB1_ADMIN_KEY',
    },
    accounts: [
      { name: 'db1-oncall', target: 'db-host', mode: 'prestaged', user: 'oncall-root', groups: ['sudo'], policy: 'p0' },
      { name: 'db1-temp', target: 'db-host', mode: 'ephemeral', groups: ['sudo'], policy: 'p0' },
    ],
  },
};
