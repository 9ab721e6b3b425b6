/**
 * The admin side of one script target: its calls run one at a time, in order, each after the
 * script has confirmed the capabilities the settings declare. Shared by both modes.
 */
import { AppError, isAppError } from '../../errors/index.js';
import type { AccountInspection, ConnectorCapabilities, SessionsEnded } from '../../ports/index.js';
import { invoke, type InvokerConfig, type RequestFields } from './exec-invoker.js';
import type { Operation, SuccessAnswer } from './exec-protocol.js';

export const capabilityFlags = ['supportsSessionKill', 'supportsNativeExpiry', 'supportsPrestaged', 'supportsEphemeral'] as const;

export type Call = <O extends Operation>(operation: O, fields: RequestFields) => Promise<SuccessAnswer<O>>;

/**
 * Runs the calls of one connector one at a time, in order: a script is not assumed to be safe
 * against itself (two invocations changing the same account at once), and `close` then only
 * has to wait for the queue, so a half-finished disable is never abandoned. Every call first
 * needs the script to confirm the declared capabilities (asked at most once per connector;
 * a retryable failure is not cached, so the next call asks again).
 */
export function createCaller(config: InvokerConfig, declared: ConnectorCapabilities): { call: Call; close: () => Promise<void> } {
  let confirmed: Promise<void> | undefined;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();

  const confirm = (): Promise<void> => {
    confirmed ??= confirmCapabilities(config, declared).catch((err: unknown) => {
      if (isAppError(err) && err.retryable) confirmed = undefined;
      throw err;
    });
    return confirmed;
  };

  const call: Call = (operation, fields) => {
    if (closed) return Promise.reject(new AppError('target_error', `exec target ${config.label}: the connector is closed`));
    const run = queue.then(confirm).then(() => invoke(config, operation, fields));
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    call,
    close: async () => {
      closed = true;
      await queue;
    },
  };
}

async function confirmCapabilities(config: InvokerConfig, declared: ConnectorCapabilities): Promise<void> {
  const { capabilities: offered } = await invoke(config, 'capabilities', {});
  const missing = capabilityFlags.filter((flag) => declared[flag] && !offered[flag]);
  if (missing.length > 0) {
    throw new AppError(
      'target_error',
      `exec target ${config.label}: the settings declare ${missing.join(', ')} but the script does not confirm ${missing.length === 1 ? 'it' : 'them'}`,
    );
  }
}

// issue 12 (P2): what the script says disable/revoke ended (absent: it cannot tell, recorded as 0).
export function sessionsEnded(answer: SuccessAnswer<'disable'>): SessionsEnded | undefined {
  if (answer.sessionsBefore === undefined && answer.sessionsEnded === undefined) return undefined;
  return { sessionsBefore: answer.sessionsBefore ?? 0, sessionsEnded: answer.sessionsEnded ?? 0 };
}

export function inspection(answer: SuccessAnswer<'inspect'>): AccountInspection {
  const { exists, canLogin, validUntil, sessions } = answer.inspection;
  return { exists, canLogin, validUntil: validUntil == null ? undefined : new Date(validUntil), sessions };
}

