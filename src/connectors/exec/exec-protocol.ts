/**
 * The wire protocol between the exec connector and a script, version 1 (examples/README.md).
 * One JSON request on stdin, one JSON answer on stdout. Every answer is checked here with zod
 * before anything is believed: a script is code Breakglass did not write.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

export const operations = [
  'capabilities',
  'stage',
  'enable',
  'disable',
  'rotate',
  'verify',
  'inspect',
  'issue',
  'revoke',
  'inspectIssued',
] as const;

export type Operation = (typeof operations)[number];

/** What the script reads on stdin. Only the fields that apply to the operation are present. */
export interface ExecRequest {
  readonly version: typeof PROTOCOL_VERSION;
  readonly operation: Operation;
  /** The script's budget, so it can bound its own calls (the connector kills it after this). */
  readonly timeoutMs: number;
  readonly principal?: string;
  readonly secret?: string;
  readonly newSecret?: string;
  /** ISO 8601, UTC. */
  readonly validUntil?: string;
  readonly grantId?: string;
  readonly spec?: Readonly<Record<string, unknown>>;
  /** `stage` only: may the script take over a login that already exists with power of its own? */
  readonly adopt?: boolean;
  readonly adminSecret?: string;
}

/** `{"ok":false,...}`: `invalid` marks input the target cannot hold safely (a validation error). */
export const failureAnswer = z.object({
  ok: z.literal(false),
  error: z.string(),
  retryable: z.boolean().optional(),
  invalid: z.boolean().optional(),
});

export type FailureAnswer = z.infer<typeof failureAnswer>;

const ok = z.literal(true);

export const capabilitiesAnswer = z.object({
  ok,
  capabilities: z.object({
    supportsSessionKill: z.boolean(),
    supportsNativeExpiry: z.boolean(),
    supportsPrestaged: z.boolean(),
    supportsEphemeral: z.boolean(),
  }),
});

export const doneAnswer = z.object({ ok });

// issue 12 (P2): disable and revoke may say what they found and ended (revocation evidence).
const count = z.number().int().min(0).max(1_000_000);
export const sessionsAnswer = z.object({ ok, sessionsBefore: count.optional(), sessionsEnded: count.optional() });

export const verifyAnswer = z.object({ ok, result: z.enum(['accepted', 'rejected']) });

export const inspectAnswer = z.object({
  ok,
  inspection: z.object({
    exists: z.boolean(),
    canLogin: z.boolean(),
    validUntil: z.iso.datetime({ offset: true }).nullable().optional(),
    sessions: z.number().int().min(0),
  }),
});

/** A credential is a username plus at least one more string (password, certificate, …). */
export const issueAnswer = z.object({
  ok,
  credential: z
    .object({ username: z.string().min(1) })
    .catchall(z.string())
    .refine((c) => Object.keys(c).length >= 2, 'a credential needs a secret besides the username'),
});

/** The answer schema each operation expects on success. */
export const successAnswers = {
  capabilities: capabilitiesAnswer,
  stage: doneAnswer,
  enable: doneAnswer,
  disable: sessionsAnswer,
  rotate: doneAnswer,
  verify: verifyAnswer,
  inspect: inspectAnswer,
  issue: issueAnswer,
  revoke: sessionsAnswer,
  inspectIssued: inspectAnswer,
} as const satisfies Record<Operation, z.ZodType>;

export type SuccessAnswer<O extends Operation> = z.infer<(typeof successAnswers)[O]>;

/**
 * Strings under `credential` of whatever the script printed, parsed or not: if the answer is
 * rejected as malformed, these may still be secrets the script also echoed to stderr.
 */
export function credentialStrings(stdout: string): string[] {
  try {
    const parsed = JSON.parse(stdout) as unknown;
    const credential = (parsed as { credential?: unknown } | null)?.credential;
    if (typeof credential !== 'object' || credential === null) return [];
    return Object.entries(credential).flatMap(([key, value]) => (key !== 'username' && typeof value === 'string' ? [value] : []));
  } catch {
    return [];
  }
}
