/**
 * The state of one in-memory fake target and the fault controls tests turn on it. Not a
 * production target: nothing here is persisted, and the secrets are kept in plaintext so a test
 * can look at them. See README.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors/index.js';
import type { AccountSpec, Clock, ConnectorCapabilities } from '../../ports/index.js';

export const memoryOperations = ['stage', 'enable', 'disable', 'rotate', 'verify', 'tryLogin', 'inspect', 'issue', 'revoke', 'inspectIssued', 'extendIssued'] as const;
/** A connector operation the controls can count, fail or delay. */
export type MemoryOperation = (typeof memoryOperations)[number];

export interface SessionState {
  readonly principal: string;
  readonly openedAt: Date;
  open: boolean;
}

export interface AccountState {
  secret: string;
  canLogin: boolean;
  /** Native expiry, kept only when the target declares `supportsNativeExpiry`. */
  validUntil: Date | undefined;
  spec: AccountSpec;
  /** Set for the per-grant credential of an ephemeral grant. */
  grantId: string | undefined;
  readonly sessions: Set<SessionState>;
}

interface Gate {
  readonly until: PromiseLike<unknown>;
  arrived(): void;
}

/** Longest principal the fake accepts (the catalog's limit for user names). */
export const maxPrincipalLength = 128;

export interface MemoryState {
  readonly name: string;
  readonly clock: Clock;
  readonly capabilities: ConnectorCapabilities;
  /** Names a mutation must never touch (the target's admin). */
  readonly reserved: readonly string[];
  readonly accounts: Map<string, AccountState>;
  down: boolean;
  openConnectors: number;
  readonly counts: Map<MemoryOperation, number>;
  readonly failures: Map<MemoryOperation, { remaining: number; error: AppError | undefined }>;
  readonly gates: Map<MemoryOperation, Gate[]>;
}

export function createMemoryState(options: { name: string; clock: Clock; capabilities: ConnectorCapabilities; reserved: readonly string[] }): MemoryState {
  return {
    ...options,
    accounts: new Map(),
    down: false,
    openConnectors: 0,
    counts: new Map(),
    failures: new Map(),
    gates: new Map(),
  };
}

export function unavailable(state: MemoryState, what: string): AppError {
  return new AppError('target_unavailable', `memory target "${state.name}" is unreachable (${what})`);
}

/**
 * Runs one operation the way a remote call would reach the target: counted, held while a test's
 * gate is closed, then refused if the target is down or an injected failure is pending. The
 * state is read only after the gate opens, so a delayed call acts on the target as it is then.
 */
export async function reach<T>(state: MemoryState, operation: MemoryOperation, work: () => T): Promise<T> {
  state.counts.set(operation, (state.counts.get(operation) ?? 0) + 1);
  const gate = state.gates.get(operation)?.shift();
  if (gate) {
    gate.arrived();
    await gate.until;
  }
  if (state.down) throw unavailable(state, operation);
  const failure = state.failures.get(operation);
  if (failure && failure.remaining > 0) {
    failure.remaining -= 1;
    throw failure.error ?? new AppError('target_unavailable', `memory target "${state.name}" failed ${operation} (injected)`);
  }
  return work();
}

/**
 * Returns the name if a real target could hold it unambiguously: not empty, at most 128
 * characters, no whitespace of any kind, control, formatting (invisible) or private-use
 * characters, no lone surrogates, and not the admin. Quotes, semicolons, backslashes and
 * non-Latin letters are fine: nothing here is ever concatenated into a command.
 */
export function checkPrincipal(state: MemoryState, name: unknown): string {
  const bad = (why: string) => new AppError('validation', `principal ${why}`, { path: 'principal' });
  if (typeof name !== 'string' || name === '') throw bad('is empty');
  if (/[\s\p{Cc}\p{Cf}\p{Co}]/u.test(name)) throw bad('contains whitespace, control or formatting characters');
  if (/\p{Cs}/u.test(name)) throw bad('is not well-formed Unicode');
  if (name.length > maxPrincipalLength) throw bad(`is longer than ${maxPrincipalLength} characters`);
  if (state.reserved.includes(name)) throw bad('is reserved for the target admin');
  return name;
}

export function checkSecret(secret: unknown): string {
  if (typeof secret !== 'string' || secret === '' || /\p{Cs}/u.test(secret)) {
    throw new AppError('validation', 'secret must be a non-empty, well-formed string', { path: 'secret' });
  }
  return secret;
}

/** Constant-time comparison, the way a target compares a candidate with what it stores. */
export function secretMatches(account: AccountState, candidate: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(account.secret), digest(candidate));
}

/** Ends the live sessions of an account, where the target can; returns how many it ended (issue 12, P2). */
export function endSessions(state: MemoryState, account: AccountState): number {
  if (!state.capabilities.supportsSessionKill) return 0;
  const live = liveSessions(state, account);
  for (const session of account.sessions) session.open = false;
  account.sessions.clear();
  return live;
}

/** Live sessions as the target reports them: 0 where it cannot tell (no session kill). */
export function liveSessions(state: MemoryState, account: AccountState): number {
  if (!state.capabilities.supportsSessionKill) return 0;
  return [...account.sessions].filter((s) => s.open).length;
}

/** Could this secret open a new session on the account now (enabled, right secret, not expired)? */
export function admits(state: MemoryState, account: AccountState | undefined, secret: string): account is AccountState {
  if (!account || !account.canLogin || !secretMatches(account, secret)) return false;
  return account.validUntil === undefined || state.clock.now().getTime() < account.validUntil.getTime();
}
