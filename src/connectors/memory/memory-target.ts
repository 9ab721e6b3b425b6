import type { AppError } from '../../errors/index.js';
import { ephemeralPrincipal, systemClock, type AccountSpec, type Clock, type Connector, type ConnectorCapabilities } from '../../ports/index.js';
import { createMemoryConnector } from './memory-connector.js';
import { admits, createMemoryState, unavailable, type MemoryOperation, type MemoryState } from './memory-state.js';

export type { MemoryOperation } from './memory-state.js';
export { memoryOperations } from './memory-state.js';

/** What a test sees of an account on the fake target (a copy: changing it changes nothing). */
export interface MemoryAccount {
  readonly principal: string;
  readonly secret: string;
  readonly canLogin: boolean;
  readonly validUntil: Date | undefined;
  /** Open sessions, whatever the target's capabilities say it can report. */
  readonly sessions: number;
  readonly spec: AccountSpec;
  /** The grant of an ephemeral credential. */
  readonly grantId: string | undefined;
}

/** A login on the fake target, kept open until closed or ended by the target. */
export interface MemorySession {
  readonly principal: string;
  alive(): boolean;
  close(): void;
}

export interface MemoryTargetOptions {
  /** For messages; default `memory`. */
  readonly name?: string;
  /** Decides when a natively expiring credential stops admitting logins; default the system clock. */
  readonly clock?: Clock;
  /** Default: everything supported. */
  readonly capabilities?: Partial<ConnectorCapabilities>;
  /** Principals no operation may touch, like a real target's admin; default `['admin']`. */
  readonly reserved?: readonly string[];
}

/**
 * An in-memory fake target and its test controls. `connector()` hands out `Connector`s that
 * pass the shared conformance suite; the rest is for tests: look at accounts, log in, take the
 * target down, make calls fail or wait, count calls.
 *
 * @example
 *   const target = createMemoryTarget({ clock });
 *   await target.connector().prestaged!.stage('bg_admin', 's3cret');
 *   target.setDown(true); // every operation now throws a retryable target_unavailable
 */
export interface MemoryTarget {
  readonly name: string;
  readonly capabilities: ConnectorCapabilities;
  connector(): Connector;
  /** Opens a session if the account is enabled, the secret right and the native expiry not reached. */
  login(principal: string, secret: string): MemorySession | 'rejected';
  account(principal: string): MemoryAccount | undefined;
  /** The ephemeral credential of a grant, if it exists on the target. */
  issued(grantId: string): MemoryAccount | undefined;
  principals(): string[];
  /** Puts a login on the target that Breakglass did not make (someone's existing account). */
  plant(principal: string, secret: string, options?: { canLogin?: boolean }): void;
  /** A down target refuses every operation (and login) with a retryable `target_unavailable`. */
  setDown(down: boolean): void;
  readonly isDown: boolean;
  /** The next `times` calls of `operation` fail, with `error` or a retryable `target_unavailable`. */
  failNext(operation: MemoryOperation, times?: number, error?: AppError): void;
  /**
   * Holds the next call of `operation` until `until` settles; the call then acts on the target
   * as it is at that moment. `started` resolves when the held call has arrived.
   */
  delay(operation: MemoryOperation, until: PromiseLike<unknown>): { readonly started: Promise<void> };
  /** Calls that reached the target (after name checks), of one operation or of all. */
  calls(operation?: MemoryOperation): number;
  /** Connectors handed out and not yet closed. */
  readonly openConnectors: number;
}

const allCapabilities: ConnectorCapabilities = {
  supportsSessionKill: true,
  supportsNativeExpiry: true,
  supportsPrestaged: true,
  supportsEphemeral: true,
};

export function createMemoryTarget(options: MemoryTargetOptions = {}): MemoryTarget {
  const state = createMemoryState({
    name: options.name ?? 'memory',
    clock: options.clock ?? systemClock,
    capabilities: Object.freeze({ ...allCapabilities, ...options.capabilities }),
    reserved: options.reserved ?? ['admin'],
  });
  const account = (principal: string) => snapshot(state, principal);
  return {
    name: state.name,
    capabilities: state.capabilities,
    connector: () => createMemoryConnector(state),
    login: (principal, secret) => login(state, principal, secret),
    account,
    issued: (grantId) => account(ephemeralPrincipal(grantId)),
    principals: () => [...state.accounts.keys()],
    plant(principal, secret, { canLogin = true } = {}) {
      state.accounts.set(principal, { secret, canLogin, validUntil: undefined, spec: {}, grantId: undefined, sessions: new Set() });
    },
    setDown(down) {
      state.down = down;
    },
    get isDown() {
      return state.down;
    },
    failNext(operation, times = 1, error) {
      state.failures.set(operation, { remaining: times, error });
    },
    delay(operation, until) {
      let arrived = () => {};
      const started = new Promise<void>((resolve) => (arrived = resolve));
      state.gates.set(operation, [...(state.gates.get(operation) ?? []), { until, arrived }]);
      return { started };
    },
    calls(operation) {
      if (operation) return state.counts.get(operation) ?? 0;
      return [...state.counts.values()].reduce((sum, n) => sum + n, 0);
    },
    get openConnectors() {
      return state.openConnectors;
    },
  };
}

function snapshot(state: MemoryState, principal: string): MemoryAccount | undefined {
  const found = state.accounts.get(principal);
  if (!found) return undefined;
  const { secret, canLogin, validUntil, spec, grantId, sessions } = found;
  return { principal, secret, canLogin, validUntil, spec, grantId, sessions: [...sessions].filter((s) => s.open).length };
}

function login(state: MemoryState, principal: string, secret: string): MemorySession | 'rejected' {
  if (state.down) throw unavailable(state, 'login');
  const account = state.accounts.get(principal);
  if (!admits(state, account, secret)) return 'rejected';
  const session = { principal, openedAt: state.clock.now(), open: true };
  account.sessions.add(session);
  return {
    principal,
    alive: () => session.open,
    close() {
      session.open = false;
      account.sessions.delete(session);
    },
  };
}
