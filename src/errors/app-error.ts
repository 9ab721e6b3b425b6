/**
 * The one error type of Breakglass. `code` is a closed union: callers branch on it, never on
 * the message. The HTTP layer owns the single table from code to status (src/http/error-status.ts).
 * Messages are for people and must never contain a secret.
 */
export type ErrorCode =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'invalid_transition'
  | 'policy_violation'
  | 'already_revealed'
  | 'separation_of_duties'
  | 'target_unavailable'
  | 'target_error'
  /** The target accepts a wrong password: no rotation or revocation could ever be proven on it. */
  | 'unverifiable'
  | 'audit_failed'
  | 'integrity'
  | 'crypto'
  /** The root key is sealed: the server answers only seal status and unseal until k shares arrive. */
  | 'sealed'
  /**
   * The store cannot be trusted with a write now (full, read-only, unreachable) or is gone (its
   * file removed or replaced under the server): nothing that hands out or changes access runs.
   */
  | 'store_unavailable'
  | 'internal';

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is, for validation errors: a path such as `accounts[0].policy`. */
  readonly path: string | undefined;
  /** For target errors: may the same action succeed if retried later? */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; path?: string; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.path = options.path;
    this.retryable = options.retryable ?? code === 'target_unavailable';
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** Shorthand constructors keep call sites short and the codes consistent. */
export const appError = {
  validation: (message: string, path?: string) =>
    new AppError('validation', message, path === undefined ? {} : { path }),
  notFound: (what: string) => new AppError('not_found', `${what} not found`),
  forbidden: (message: string) => new AppError('forbidden', message),
  conflict: (message: string) => new AppError('conflict', message),
} as const;
