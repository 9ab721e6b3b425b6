/**
 * The account specs of the Redis connector and the ACL rules they carry. Rules are split into
 * tokens, each sent to `ACL SETUSER` as its own argument; a token may set permissions (keys,
 * channels, commands, selectors) but never a password, the on/off state or a `reset`: those
 * belong to the connector, and a rule that adds `nopass` or a second password would leave a way
 * in after revocation.
 */
import { z } from 'zod';
import type { AccountSpec } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';

/** The standing permissions of a pre-staged user when the catalog names none. */
export const DEFAULT_PRESTAGED_RULES = '~* &* +@all';

const MAX_RULES_LENGTH = 4096;
const MAX_RULE_TOKENS = 256;

/** Tokens that set, add or clear passwords or wipe the user: never taken from a spec. */
const PASSWORD_PREFIXES = ['>', '<', '#', '!'];
const FORBIDDEN_FLAGS = new Set(['nopass', 'resetpass', 'reset']);

export type RulesMode = 'prestaged' | 'ephemeral';

export interface PrestagedSpec {
  readonly rules: readonly string[];
}

export interface EphemeralSpec {
  readonly rules: readonly string[];
}

// `adopt` is the catalog's; the connector acts on StageOptions.adopt, which the engine derives from it.
const prestagedSchema = z.strictObject({ user: z.string().optional(), rules: z.string().optional(), adopt: z.boolean().optional() });
const ephemeralSchema = z.strictObject({ rules: z.string() });

function specError(error: z.ZodError, mode: RulesMode): AppError {
  const issue = error.issues[0];
  const path = `spec.${issue?.path.join('.') ?? ''}`;
  return new AppError('validation', `redis ${mode} spec is invalid at ${path}: ${issue?.message ?? 'unknown'}`, { path });
}

/**
 * `{user?, rules?, adopt?}`: `user` is the catalog's name for the principal and must be the principal
 * itself (a spec naming another user is a catalog mistake, not something to guess about).
 */
export function parsePrestagedSpec(spec: AccountSpec | undefined, principal: string): PrestagedSpec {
  const parsed = prestagedSchema.safeParse(spec ?? {});
  if (!parsed.success) throw specError(parsed.error, 'prestaged');
  if (parsed.data.user !== undefined && parsed.data.user !== principal) {
    throw new AppError('validation', 'redis prestaged spec.user does not match the principal', { path: 'spec.user' });
  }
  return { rules: parseRules(parsed.data.rules ?? DEFAULT_PRESTAGED_RULES, 'prestaged') };
}

/** `{rules}`: what the per-grant user may do, e.g. `"on ~cache:* +@read"`. */
export function parseEphemeralSpec(spec: AccountSpec): EphemeralSpec {
  const parsed = ephemeralSchema.safeParse(spec);
  if (!parsed.success) throw specError(parsed.error, 'ephemeral');
  const rules = parseRules(parsed.data.rules, 'ephemeral');
  if (rules.every((token) => token.toLowerCase() === 'on')) {
    throw new AppError('validation', 'redis ephemeral spec.rules grant nothing', { path: 'spec.rules' });
  }
  return { rules };
}

/**
 * Splits rules on spaces and checks each token. Any other whitespace (newline, tab, NBSP),
 * control or formatting character, or a lone surrogate is refused outright rather than treated
 * as a separator, so what the catalog shows is exactly what reaches the server.
 */
export function parseRules(rules: string, mode: RulesMode): string[] {
  const bad = (why: string) => new AppError('validation', `redis rules ${why}`, { path: 'spec.rules' });
  if (rules.length > MAX_RULES_LENGTH) throw bad(`are longer than ${MAX_RULES_LENGTH} characters`);
  if (/[^\S ]|[\p{Cc}\p{Cf}\p{Cs}]/u.test(rules)) {
    throw bad('may contain only printable characters separated by spaces (no newlines, tabs, NUL or control characters)');
  }
  const tokens = rules.split(/ +/).filter((token) => token !== '');
  if (tokens.length > MAX_RULE_TOKENS) throw bad(`have more than ${MAX_RULE_TOKENS} tokens`);
  tokens.forEach((token, index) => checkToken(token, mode, index, bad));
  return tokens;
}

function checkToken(token: string, mode: RulesMode, index: number, bad: (why: string) => AppError): void {
  // A selector `(~k* +get)` arrives as `(~k*` and `+get)`; look at the rule inside it too.
  const core = token.replace(/^\(+/, '').replace(/\)+$/, '');
  const flag = core.toLowerCase(); // Redis compares flags case-insensitively
  const where = `token ${index + 1}`;
  if (PASSWORD_PREFIXES.some((prefix) => core.startsWith(prefix))) {
    throw bad(`${where} sets or clears a password; passwords are the connector's to set`);
  }
  if (FORBIDDEN_FLAGS.has(flag)) throw bad(`${where} is "${flag}", which would change the user's passwords`);
  if (flag === 'off') throw bad(`${where} is "off"; enabling and disabling is the connector's to do`);
  if (flag === 'on' && mode === 'prestaged') {
    throw bad(`${where} is "on"; a pre-staged user stays off until a grant enables it`);
  }
}
