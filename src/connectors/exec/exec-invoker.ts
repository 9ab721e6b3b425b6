/**
 * One protocol exchange with the script: build the request, run the process, check the answer,
 * and turn every way it can go wrong into an AppError whose text carries no secret.
 */
import { AppError } from '../../errors/index.js';
import { runProcess, type ProcessOutcome, type StderrTail } from './exec-process.js';
import {
  PROTOCOL_VERSION,
  credentialStrings,
  failureAnswer,
  successAnswers,
  type ExecRequest,
  type FailureAnswer,
  type Operation,
  type SuccessAnswer,
} from './exec-protocol.js';
import { evidence } from './exec-redact.js';

/** The answer is one small JSON document; anything bigger is a broken or hostile script. */
export const MAX_STDOUT_BYTES = 1024 * 1024;
export const MAX_STDERR_BYTES = 1024 * 1024;
/** How much of stderr and of the script's own error text goes into an AppError message. */
const EVIDENCE_CHARS = 500;
/** sysexits.h EX_TEMPFAIL: a script that cannot answer may still say "try again later". */
export const EXIT_TEMPFAIL = 75;
const RETRYABLE_SPAWN = new Set(['EAGAIN', 'EMFILE', 'ENFILE', 'ENOMEM', 'EBUSY', 'ETXTBSY']);

export interface InvokerConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly workingDirectory: string | undefined;
  readonly timeoutMs: number;
  readonly adminSecret: string | undefined;
  /** For messages: the target's name, or the script's path. */
  readonly label: string;
}

/** The request fields of one call, besides version, operation, timeout and admin secret. */
export type RequestFields = Omit<ExecRequest, 'version' | 'operation' | 'timeoutMs' | 'adminSecret'>;

/**
 * The script's environment is built, never inherited: the server's own environment may hold
 * BREAKGLASS_* keys or *_PASSWORD variables, and a script has no business seeing them.
 */
function scriptEnvironment(): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/',
    LANG: 'C.UTF-8',
  };
}

/** Runs `operation` and returns the checked success answer, or throws an AppError. */
export async function invoke<O extends Operation>(config: InvokerConfig, operation: O, fields: RequestFields): Promise<SuccessAnswer<O>> {
  const withAdmin = operation !== 'capabilities' && config.adminSecret !== undefined;
  const request: ExecRequest = {
    version: PROTOCOL_VERSION,
    operation,
    timeoutMs: config.timeoutMs,
    ...fields,
    ...(withAdmin ? { adminSecret: config.adminSecret } : {}),
  };
  const secrets = [request.secret, request.newSecret, request.adminSecret].filter((s): s is string => s !== undefined);
  const outcome = await runProcess({
    command: config.command,
    argv: [...config.args, operation],
    cwd: config.workingDirectory,
    env: scriptEnvironment(),
    stdin: `${JSON.stringify(request)}\n`,
    timeoutMs: config.timeoutMs,
    maxStdoutBytes: MAX_STDOUT_BYTES,
    maxStderrBytes: MAX_STDERR_BYTES,
  });
  const where = `exec target ${config.label}: ${operation}${fields.principal === undefined ? '' : ` of ${JSON.stringify(fields.principal)}`}`;
  return checkOutcome(outcome, operation, { where, secrets, timeoutMs: config.timeoutMs });
}

interface Context {
  readonly where: string;
  readonly secrets: readonly string[];
  readonly timeoutMs: number;
}

function checkOutcome<O extends Operation>(outcome: ProcessOutcome, operation: O, ctx: Context): SuccessAnswer<O> {
  switch (outcome.kind) {
    case 'spawn_failed': {
      const retryable = RETRYABLE_SPAWN.has(outcome.errno);
      // The spawn error names only the executable and its fixed arguments: never a secret.
      return fail(retryable, `${ctx.where} failed: the script could not be started (${outcome.errno})`, outcome.error);
    }
    case 'timeout':
      return fail(true, `${ctx.where} failed: no answer within ${ctx.timeoutMs} ms; the script's process group was killed${stderrPart(outcome.stderr, ctx.secrets)}`);
    case 'overflow':
      return fail(false, `${ctx.where} failed: the script wrote more than ${MAX_STDOUT_BYTES} bytes to stdout; it was killed${stderrPart(outcome.stderr, ctx.secrets)}`);
    case 'exited':
      return checkAnswer(outcome, operation, ctx);
  }
}

function checkAnswer<O extends Operation>(outcome: Extract<ProcessOutcome, { kind: 'exited' }>, operation: O, ctx: Context): SuccessAnswer<O> {
  const exit = { exitCode: outcome.code, signal: outcome.signal };
  const how = outcome.signal === null ? `exited with code ${String(outcome.code)}` : `was killed by ${outcome.signal}`;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(outcome.stdout).trim();
  } catch {
    return fail(false, `${ctx.where} failed: the answer is not UTF-8 (script ${how})${stderrPart(outcome.stderr, ctx.secrets)}`, exit);
  }
  // A failed issue may have printed a freshly made credential; keep it out of the evidence.
  const secrets = operation === 'issue' ? [...ctx.secrets, ...credentialStrings(text)] : ctx.secrets;
  const stderr = stderrPart(outcome.stderr, secrets);
  if (text === '') {
    const retryable = outcome.code === EXIT_TEMPFAIL;
    return fail(retryable, `${ctx.where} failed: the script ${how} without an answer${stderr}`, exit);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail(false, `${ctx.where} failed: the answer is not one JSON document (script ${how})${stderr}`, exit);
  }
  const failure = failureAnswer.safeParse(json);
  if (failure.success) return failed(failure.data, ctx, secrets, stderr, exit);
  const success = successAnswers[operation].safeParse(json);
  if (!success.success) {
    const issue = success.error.issues[0];
    const detail = issue === undefined ? 'unexpected shape' : `${issue.path.join('.') || '(answer)'}: ${issue.message}`;
    return fail(false, `${ctx.where} failed: malformed answer (${evidence(detail, secrets, false, EVIDENCE_CHARS)})${stderr}`, exit);
  }
  if (outcome.code !== 0) {
    // "ok" with a failing exit is a script contradicting itself; do not believe the ok.
    return fail(false, `${ctx.where} failed: the script answered ok but ${how}${stderr}`, exit);
  }
  return success.data as SuccessAnswer<O>;
}

/** The script said `{"ok":false}`: its own classification decides the code. */
function failed(answer: FailureAnswer, ctx: Context, secrets: readonly string[], stderr: string, exit: object): never {
  const said = evidence(answer.error, secrets, false, EVIDENCE_CHARS) || 'no reason given';
  const message = `${ctx.where} failed: ${said}${stderr}`;
  if (answer.invalid === true) throw new AppError('validation', message, { cause: exit });
  return fail(answer.retryable === true, message, exit);
}

function fail(retryable: boolean, message: string, cause?: unknown): never {
  throw new AppError(retryable ? 'target_unavailable' : 'target_error', message, { retryable, ...(cause === undefined ? {} : { cause }) });
}

function stderrPart(stderr: StderrTail, secrets: readonly string[]): string {
  const text = evidence(stderr.text, secrets, stderr.truncated, EVIDENCE_CHARS);
  return text === '' ? '' : `; stderr: ${text}`;
}

