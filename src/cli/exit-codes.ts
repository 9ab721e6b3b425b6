/** Exit codes of `breakglass`; scripts branch on these, so they never change meaning. */
export const exitCodes = {
  ok: 0,
  /** An error reported by the server, or anything unexpected. */
  error: 1,
  /** Bad usage or invalid input (also a catalog that does not validate). */
  usage: 2,
  /** The audit chain does not verify. */
  auditBroken: 3,
  notFound: 4,
  /** Missing or invalid token, or not allowed. */
  denied: 5,
  /** The server cannot be reached. */
  unreachable: 6,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** The exit-code table for the `--help` of the root command. */
export const exitCodeHelp = `Exit codes:
  0  ok
  1  error reported by the server, or unexpected error
  2  usage or validation error (nothing was sent)
  3  audit chain broken
  4  not found
  5  unauthenticated or forbidden
  6  cannot reach the server`;

/** The one table from an error code (an `ErrorCode`, ours or the server's) to an exit code. */
export function exitCodeForError(code: string): ExitCode {
  switch (code) {
    case 'validation':
      return exitCodes.usage;
    case 'not_found':
      return exitCodes.notFound;
    case 'unauthenticated':
    case 'forbidden':
    case 'separation_of_duties':
      return exitCodes.denied;
    default:
      return exitCodes.error;
  }
}

/** For an error body without a known code. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 400) return exitCodes.usage;
  if (status === 401 || status === 403) return exitCodes.denied;
  if (status === 404) return exitCodes.notFound;
  return exitCodes.error;
}

/** A failure the CLI reports as `error: <message>` (and `hint: <hint>`) before exiting. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(exitCode: ExitCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** Ends a command with a non-zero exit code after it has already reported why. */
export class ExitWith extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode) {
    super(`exit ${exitCode}`);
    this.name = 'ExitWith';
    this.exitCode = exitCode;
  }
}
