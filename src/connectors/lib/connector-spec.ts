/**
 * What a connector says about itself to the catalog: the target settings it takes, the account
 * fields of each mode it supports, which field names a pre-staged login, and whether Breakglass
 * makes its admin secret. zod (and domain types) only, no driver library: src/config (and through it the CLI, which
 * validates catalog files offline) imports every spec.
 */
import { z } from 'zod';
import type { AccountMode } from '../../domain/index.js';

export type { AccountMode };

/** Fields by name, each with its zod schema (`.optional()` where it may be left out). */
export type FieldShape = Readonly<Record<string, z.ZodType>>;

export interface ConnectorSpec {
  /** Target settings as written in the catalog, besides name, type, timeout and the password. */
  readonly settings: FieldShape;
  /**
   * The account fields of each supported mode; a mode that is missing is not supported. A
   * field whose schema accepts `undefined` (`.optional()`) may be left out; the others are required.
   */
  readonly accounts: { readonly [mode in AccountMode]?: FieldShape };
  /** The account field that names a pre-staged account's login on the target (`role`, `user`, `dn`). */
  readonly principalField?: string;
  /**
   * Why a pre-staged login can never be a break-glass account on a target with these settings
   * (the target's own admin, the system's logins), or `undefined`. The catalog refuses such an
   * account at apply; the connector refuses it again at staging.
   */
  readonly reservedPrincipal?: (principal: string, settings: Readonly<Record<string, unknown>>) => string | undefined;
  /** Breakglass generates the admin secret itself (the SSH CA key) when the catalog gives none. */
  readonly generatesAdminSecret?: boolean;
  /** A catalog target of this type and one account per supported mode, as the README shows them. */
  readonly example: { readonly target: Readonly<Record<string, unknown>>; readonly accounts: readonly Readonly<Record<string, unknown>>[] };
}

/** A string field that must be filled, bounded and free of NUL. */
export const noNul = (max: number) => z.string().min(1, 'must not be empty').max(max).refine((t) => !t.includes('\0'), 'must not contain NUL');

/**
 * Fields several connectors take. Shared as one schema object each: the catalog checks a field
 * where it stands in the account whenever every type that takes it agrees on its schema.
 */
export const specFields = {
  host: z.string().min(1, 'must not be empty').max(255),
  port: z
    .number({ error: 'must be a number between 1 and 65535' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535'),
  absolutePath: z.string().regex(/^\/[^\0]*$/, 'must be an absolute path').max(4096),
  /** The login name of a pre-staged account (MariaDB, Redis, a script's target). */
  user: noNul(128),
  /** Privilege strings, each checked by the connector (MariaDB GRANT clauses, a script's own). */
  privileges: z.array(noNul(512)).min(1, 'list at least one privilege').max(32),
  /**
   * TLS to the target: `true` (the system's CAs, verified) or `{caFile, verify, servername}`.
   * Verification is on unless `verify: false` says otherwise (see lib/transport.ts).
   */
  tls: z.union([
    z.boolean(),
    z
      .object({
        caFile: z.string().regex(/^\/[^\0]*$/, 'must be an absolute path').max(4096).optional(),
        verify: z.boolean().optional(),
        servername: z.string().min(1).max(255).optional(),
      })
      .strict(),
  ]),
  /** Lets the connector send a password the target asks for in clear (no TLS, no challenge). */
  allowCleartext: z.boolean(),
  /** A pre-staged account may take over a login that already exists with power of its own. */
  adopt: z.boolean(),
} as const;
