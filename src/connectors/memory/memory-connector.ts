import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors/index.js';
import { unadoptedLogin } from '../lib/adopt.js';
import {
  ephemeralPrincipal,
  type AccountInspection,
  type Connector,
  type EphemeralOperations,
  type IssueRequest,
  type PrestagedOperations,
} from '../../ports/index.js';
import {
  admits,
  checkPrincipal,
  checkSecret,
  endSessions,
  liveSessions,
  reach,
  secretMatches,
  type AccountState,
  type MemoryOperation,
  type MemoryState,
} from './memory-state.js';

/**
 * A `Connector` over an in-memory fake target (see README.md): the operations a real target
 * offers, with its capability flags honoured, its names validated, and every call going
 * through the target's fault controls. Each connector counts as one open connection until
 * closed; a closed connector refuses further calls.
 */
export function createMemoryConnector(state: MemoryState): Connector {
  let closed = false;
  state.openConnectors += 1;
  const call = <T>(operation: MemoryOperation, work: () => T): Promise<T> => {
    if (closed) return Promise.reject(new AppError('target_error', `memory connector to "${state.name}" used after close`));
    return reach(state, operation, work);
  };
  const { supportsPrestaged, supportsEphemeral } = state.capabilities;
  return {
    capabilities: state.capabilities,
    ...(supportsPrestaged ? { prestaged: prestagedOperations(state, call) } : {}),
    ...(supportsEphemeral ? { ephemeral: ephemeralOperations(state, call) } : {}),
    close() {
      if (!closed) state.openConnectors -= 1;
      closed = true;
      return Promise.resolve();
    },
  };
}

type Call = <T>(operation: MemoryOperation, work: () => T) => Promise<T>;

const nativeExpiry = (state: MemoryState, validUntil: Date) => (state.capabilities.supportsNativeExpiry ? new Date(validUntil.getTime()) : undefined);

function inspection(state: MemoryState, account: AccountState | undefined): AccountInspection {
  if (!account) return { exists: false, canLogin: false, validUntil: undefined, sessions: 0 };
  return { exists: true, canLogin: account.canLogin, validUntil: account.validUntil, sessions: liveSessions(state, account) };
}

function checkDate(value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new AppError('validation', 'validUntil must be a valid date', { path: 'validUntil' });
  return value;
}

function prestagedOperations(state: MemoryState, call: Call): PrestagedOperations {
  const existing = (principal: string, operation: string) => {
    const account = state.accounts.get(principal);
    if (!account) throw new AppError('target_error', `memory target "${state.name}" has no account to ${operation}`);
    return account;
  };
  return {
    async stage(principal, secret, spec = {}, options = { adopt: false }) {
      const name = checkPrincipal(state, principal);
      const value = checkSecret(secret);
      return await call('stage', () => {
        const account = state.accounts.get(name);
        // The fake's only power is logging in: a login that can is someone's, until adopted.
        if (account?.canLogin && !options.adopt) throw unadoptedLogin('memory account', name, ['login']);
        if (!account) {
          state.accounts.set(name, { secret: value, canLogin: false, validUntil: undefined, spec, grantId: undefined, sessions: new Set() });
          return;
        }
        Object.assign(account, { secret: value, canLogin: false, spec });
        endSessions(state, account);
      });
    },
    async enable(principal, validUntil) {
      const name = checkPrincipal(state, principal);
      const until = checkDate(validUntil);
      return await call('enable', () => {
        const account = existing(name, 'enable');
        account.canLogin = true;
        account.validUntil = nativeExpiry(state, until);
      });
    },
    async disable(principal) {
      const name = checkPrincipal(state, principal);
      return await call('disable', () => {
        const account = state.accounts.get(name);
        if (!account) return { sessionsBefore: 0, sessionsEnded: 0 }; // a missing account is as disabled as it gets
        account.canLogin = false;
        const ended = endSessions(state, account);
        return { sessionsBefore: ended, sessionsEnded: ended };
      });
    },
    async rotate(principal, newSecret) {
      const name = checkPrincipal(state, principal);
      const value = checkSecret(newSecret);
      return await call('rotate', () => {
        const account = existing(name, 'rotate');
        Object.assign(account, { secret: value, canLogin: false });
        endSessions(state, account);
      });
    },
    async verify(credential) {
      const name = checkPrincipal(state, credential.username);
      const candidate = checkSecret(credential.password);
      // Like a target that compares stored hashes: works while the account is disabled.
      return await call('verify', () => {
        const account = state.accounts.get(name);
        return account !== undefined && secretMatches(account, candidate) ? 'accepted' : 'rejected';
      });
    },
    // issue 12 (evidence): the verdict with the fake's own answer code. Counted, failed and
    // delayed as a `verify` call, so a test's controls on `verify` reach rotation evidence too.
    async verifyDetailed(credential) {
      const name = checkPrincipal(state, credential.username);
      const candidate = checkSecret(credential.password);
      return await call('verify', () => {
        const account = state.accounts.get(name);
        return account !== undefined && secretMatches(account, candidate)
          ? { verdict: 'accepted', code: 'stored-secret-match' }
          : { verdict: 'rejected', code: 'stored-secret-mismatch' };
      });
    },
    async tryLogin(credential) {
      const name = checkPrincipal(state, credential.username);
      const candidate = checkSecret(credential.password);
      // A real login: the account must be enabled and unexpired, not only the secret right.
      return await call('tryLogin', () => (admits(state, state.accounts.get(name), candidate) ? 'accepted' : 'rejected'));
    },
    async inspect(principal) {
      const name = checkPrincipal(state, principal);
      return await call('inspect', () => inspection(state, state.accounts.get(name)));
    },
  };
}

function ephemeralOperations(state: MemoryState, call: Call): EphemeralOperations {
  const principalOf = (request: Pick<IssueRequest, 'grantId'>) => {
    if (typeof request.grantId !== 'string' || request.grantId === '') throw new AppError('validation', 'grantId must not be empty', { path: 'grantId' });
    return ephemeralPrincipal(request.grantId);
  };
  return {
    async issue(request) {
      const username = principalOf(request);
      const until = checkDate(request.validUntil);
      return await call('issue', () => {
        // A retry replaces a half-made credential; its secret was never revealed, its sessions end.
        const earlier = state.accounts.get(username);
        if (earlier) endSessions(state, earlier);
        const password = randomBytes(24).toString('base64url');
        state.accounts.set(username, {
          secret: password,
          canLogin: true,
          validUntil: nativeExpiry(state, until),
          spec: request.spec,
          grantId: request.grantId,
          sessions: new Set(),
        });
        return { username, password };
      });
    },
    async revoke(request) {
      const username = principalOf(request);
      return await call('revoke', () => {
        const account = state.accounts.get(username);
        if (!account) return { sessionsBefore: 0, sessionsEnded: 0 };
        const ended = endSessions(state, account);
        state.accounts.delete(username);
        return { sessionsBefore: ended, sessionsEnded: ended };
      });
    },
    async inspectIssued(request) {
      const username = principalOf(request);
      return await call('inspectIssued', () => inspection(state, state.accounts.get(username)));
    },
    // issue 11 (H2): an extension moves the credential's native expiry.
    async extendIssued(request) {
      const username = principalOf(request);
      const until = checkDate(request.validUntil);
      return await call('extendIssued', () => {
        const account = state.accounts.get(username);
        if (!account) throw new AppError('target_error', `no credential issued for grant ${request.grantId}`);
        account.validUntil = nativeExpiry(state, until);
      });
    },
  };
}
