/**
 * How ioredis failures become AppErrors. The driver error itself is never kept as `cause`:
 * ioredis attaches the failed command's arguments to it (`err.command.args`), which for AUTH is
 * the admin password and for ACL SETUSER the password hash. Only the error code survives.
 */
import { ReplyError as untypedReplyError } from 'ioredis';
import { AppError } from '../../errors/index.js';
import { certificateProblem } from '../lib/transport.js';

/** ioredis declares its ReplyError (an error reply from the server) as `any`. */
const ReplyError = untypedReplyError as new (message: string) => Error;

/** Server replies that mean "not now": loading the dataset, a busy script, a failover. */
const RETRYABLE_REPLIES = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN']);

const REPLY_MEANINGS: Record<string, string> = {
  WRONGPASS: 'the admin user or its secret was refused',
  NOAUTH: 'the server requires authentication and no admin secret is configured',
  NOPERM: 'the admin user lacks a permission this operation needs',
  LOADING: 'the server is loading its dataset',
  BUSY: 'the server is busy running a script',
};

/** The error code Redis put first in its reply (`WRONGPASS`, `NOPERM`, `ERR`, …). */
export function replyCode(err: unknown): string | undefined {
  if (!(err instanceof ReplyError)) return undefined;
  return /^[A-Z]+/.exec(err.message)?.[0];
}

/** `ERR No such user '…'`: Redis has no distinct code for it, so its fixed text is all there is. */
export function isNoSuchUser(err: unknown): boolean {
  return err instanceof ReplyError && /^ERR No such user\b/.test(err.message);
}

/** ACL SAVE on a server without `aclfile`: users live in memory or in redis.conf. */
export function isNoAclFile(err: unknown): boolean {
  return err instanceof ReplyError && /not configured to use an ACL file/.test(err.message);
}

/**
 * Classifies a failure. The server's text helps operators (ACL SETUSER names the rule it
 * refused), so it is kept, with any 64-hex run masked: ACL SETUSER quotes the modifier it failed
 * on, which could be the `#<hash>` of a password. For a command that carried a plaintext secret
 * (AUTH), and for any WRONGPASS, only the code is kept.
 */
export function toAppError(err: unknown, op: string, user: string, plaintextSecret: boolean): AppError {
  if (err instanceof AppError) return err;
  const where = `redis ${op} of user ${JSON.stringify(user)} failed`;
  if (err instanceof ReplyError) {
    const code = replyCode(err) ?? 'ERR';
    const retryable = RETRYABLE_REPLIES.has(code);
    const meaning = REPLY_MEANINGS[code];
    const text = plaintextSecret || code === 'WRONGPASS' ? '' : `: ${err.message.replace(/[0-9a-f]{64}/gi, '<hash>')}`;
    const message = `${where}: ${code}${meaning === undefined ? '' : ` (${meaning})`}${text}`;
    return new AppError(retryable ? 'target_unavailable' : 'target_error', message, { cause: { code }, retryable });
  }
  const tls = certificateProblem(err);
  if (tls !== undefined) return new AppError('target_error', `${where}: ${tls}`, { cause: { code: (err as { code: string }).code }, retryable: false });
  // Everything else comes from the socket or the driver (refused, reset, "Connection is closed.",
  // "Command timed out"): the target is unreachable or slow, so the same call may work later.
  const netCode = (err as { code?: unknown } | null)?.code;
  const label = typeof netCode === 'string' ? netCode : err instanceof Error ? err.message : 'unknown error';
  return new AppError('target_unavailable', `${where}: ${label}`, { cause: { code: label }, retryable: true });
}
