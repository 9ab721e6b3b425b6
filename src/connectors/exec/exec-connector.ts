/**
 * The script connector (`type: exec`): every operation runs an executable the operator wrote,
 * speaking the JSON protocol of examples/README.md. What the script can do is declared in the
 * target settings (`capabilities`) and confirmed by the script itself before the first call.
 * Invariants and import rules: ./README.md.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { AppError, isAppError } from '../../errors/index.js';
import {
  ephemeralPrincipal,
  type AccountInspection,
  type AccountSpec,
  type Connector,
  type ConnectorCapabilities,
  type ConnectorDriver,
  type EphemeralOperations,
  type PrestagedOperations,
  type TargetConnection,
} from '../../ports/index.js';
import { invoke, type InvokerConfig, type RequestFields } from './exec-invoker.js';
import type { Operation, SuccessAnswer } from './exec-protocol.js';

const DEFAULT_TIMEOUT_MS = 5000;
/** Generous for any real account name; the script refuses what its target cannot hold. */
const MAX_PRINCIPAL_BYTES = 512;
const MAX_GRANT_ID_CHARS = 128;
const MAX_SECRET_BYTES = 64 * 1024;
const MAX_SPEC_BYTES = 64 * 1024;

const noNul = (text: string) => !text.includes('\0');
const absolutePath = z.string().max(4096).refine((p) => isAbsolute(p) && noNul(p), 'must be an absolute path without NUL');

const settingsSchema = z.object({
  command: absolutePath,
  args: z.array(z.string().max(4096).refine(noNul, 'must not contain NUL')).max(64).optional(),
  workingDirectory: absolutePath.optional(),
  capabilities: z
    .object({
      supportsSessionKill: z.boolean().optional(),
      supportsNativeExpiry: z.boolean().optional(),
      supportsPrestaged: z.boolean().optional(),
      supportsEphemeral: z.boolean().optional(),
    })
    .optional(),
});

type Declared = NonNullable<z.infer<typeof settingsSchema>['capabilities']>;
const capabilityFlags = ['supportsSessionKill', 'supportsNativeExpiry', 'supportsPrestaged', 'supportsEphemeral'] as const;

/**
 * Creates the connector for one script target. Nothing runs until the first call; then the
 * script is asked once (per connector) to confirm every capability the settings claim.
 *
 * @example
 *   const target = createExecConnector({
 *     type: 'exec',
 *     settings: {
 *       command: '/opt/breakglass/exec-mariadb.sh',
 *       args: ['--host', 'db.internal', '--port', '3306', '--user', 'breakglass'],
 *       capabilities: { supportsPrestaged: true, supportsEphemeral: true, supportsSessionKill: true },
 *     },
 *     adminSecret: unsealedAdminPassword,
 *   });
 *   await target.prestaged?.disable('oncall_dba');
 */
export function createExecConnector(target: TargetConnection): Connector {
  const settings = parseSettings(target.settings);
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new AppError('validation', 'exec target timeoutMs must be a positive integer', { path: 'timeoutMs' });
  }
  const declared: Declared = settings.capabilities ?? {};
  // Whatever the settings do not claim, the connector does not offer: never over-promise
  // session kill or native expiry on the strength of a script nobody has asked yet.
  const capabilities: ConnectorCapabilities = Object.freeze({
    supportsSessionKill: declared.supportsSessionKill === true,
    supportsNativeExpiry: declared.supportsNativeExpiry === true,
    supportsPrestaged: declared.supportsPrestaged === true,
    supportsEphemeral: declared.supportsEphemeral === true,
  });
  const config: InvokerConfig = {
    command: settings.command,
    args: settings.args ?? [],
    workingDirectory: settings.workingDirectory,
    timeoutMs,
    adminSecret: target.adminSecret === '' ? undefined : target.adminSecret,
    label: target.name === undefined ? JSON.stringify(settings.command) : JSON.stringify(target.name),
  };
  const calls = createCaller(config, capabilities);
  return {
    capabilities,
    ...(capabilities.supportsPrestaged ? { prestaged: prestagedOperations(calls.call) } : {}),
    ...(capabilities.supportsEphemeral ? { ephemeral: ephemeralOperations(calls.call) } : {}),
    close: calls.close,
  };
}

export const execDriver: ConnectorDriver = { create: createExecConnector };

function parseSettings(raw: Readonly<Record<string, unknown>>): z.infer<typeof settingsSchema> {
  const parsed = settingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AppError('validation', `exec target settings are invalid: ${issue?.message ?? 'unknown'}`, {
    path: `settings.${issue?.path.join('.') ?? ''}`,
  });
}

type Call = <O extends Operation>(operation: O, fields: RequestFields) => Promise<SuccessAnswer<O>>;

/**
 * Runs the calls of one connector one at a time, in order: a script is not assumed to be safe
 * against itself (two invocations changing the same account at once), and `close` then only
 * has to wait for the queue, so a half-finished disable is never abandoned. Every call first
 * needs the script to confirm the declared capabilities (asked at most once per connector;
 * a retryable failure is not cached, so the next call asks again).
 */
function createCaller(config: InvokerConfig, declared: ConnectorCapabilities): { call: Call; close: () => Promise<void> } {
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

function prestagedOperations(call: Call): PrestagedOperations {
  return {
    async stage(principal, secret, spec) {
      await call('stage', { principal: checkPrincipal(principal), secret: checkSecret(secret, 'secret'), spec: checkSpec(spec ?? {}) });
    },
    async enable(principal, validUntil) {
      await call('enable', { principal: checkPrincipal(principal), validUntil: checkDate(validUntil) });
    },
    async disable(principal) {
      await call('disable', { principal: checkPrincipal(principal) });
    },
    async rotate(principal, newSecret) {
      await call('rotate', { principal: checkPrincipal(principal), newSecret: checkSecret(newSecret, 'newSecret') });
    },
    async verify(credential) {
      const principal = checkPrincipal(credential.username);
      // No account is ever given an empty secret, so an empty one cannot be right.
      if (typeof credential.password !== 'string' || credential.password === '') return 'rejected';
      const answer = await call('verify', { principal, secret: checkSecret(credential.password, 'secret') });
      return answer.result;
    },
    async inspect(principal) {
      return inspection(await call('inspect', { principal: checkPrincipal(principal) }));
    },
  };
}

function ephemeralOperations(call: Call): EphemeralOperations {
  // The script gets the login name Breakglass uses everywhere, plus the grant id to derive others.
  const fields = (grantId: string, spec: AccountSpec) => {
    const id = checkGrantId(grantId);
    return { grantId: id, principal: ephemeralPrincipal(id), spec: checkSpec(spec) };
  };
  return {
    async issue(request) {
      const answer = await call('issue', { ...fields(request.grantId, request.spec), validUntil: checkDate(request.validUntil) });
      return answer.credential;
    },
    async revoke(request) {
      await call('revoke', fields(request.grantId, request.spec));
    },
    async inspectIssued(request) {
      return inspection(await call('inspectIssued', fields(request.grantId, request.spec)));
    },
  };
}

function inspection(answer: SuccessAnswer<'inspect'>): AccountInspection {
  const { exists, canLogin, validUntil, sessions } = answer.inspection;
  return { exists, canLogin, validUntil: validUntil == null ? undefined : new Date(validUntil), sessions };
}

const invalid = (message: string, path: string) => new AppError('validation', `exec ${message}`, { path });

/**
 * The connector cannot know the target's naming rules (the script refuses what its target
 * cannot hold, with `invalid: true`); it refuses what no script can handle safely: control
 * characters (a shell script reading lines would split on them), lone surrogates (not
 * representable in the UTF-8 of the request), and absurd lengths.
 */
function checkPrincipal(principal: unknown): string {
  if (typeof principal !== 'string' || principal === '') throw invalid('principal is empty', 'principal');
  if (/\p{Cc}/u.test(principal)) throw invalid('principal contains a control character', 'principal');
  if (/\p{Cs}/u.test(principal)) throw invalid('principal is not well-formed Unicode', 'principal');
  if (Buffer.byteLength(principal, 'utf8') > MAX_PRINCIPAL_BYTES) throw invalid(`principal is longer than ${MAX_PRINCIPAL_BYTES} bytes`, 'principal');
  return principal;
}

function checkSecret(secret: unknown, path: string): string {
  if (typeof secret !== 'string' || secret === '' || secret.includes('\0') || /\p{Cs}/u.test(secret)) {
    throw invalid(`${path} must be a non-empty, well-formed string without NUL`, path);
  }
  if (Buffer.byteLength(secret, 'utf8') > MAX_SECRET_BYTES) throw invalid(`${path} is longer than ${MAX_SECRET_BYTES} bytes`, path);
  return secret;
}

function checkGrantId(grantId: unknown): string {
  if (typeof grantId !== 'string' || grantId === '' || grantId.length > MAX_GRANT_ID_CHARS || /[\p{Cc}\p{Cs}]/u.test(grantId)) {
    throw invalid('grant id is malformed', 'grantId');
  }
  return grantId;
}

function checkDate(date: unknown): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw invalid('validUntil must be a valid date', 'validUntil');
  return date.toISOString();
}

/** The spec travels as JSON, byte-exact: it must be plain data of a bounded size. */
function checkSpec(spec: unknown): Readonly<Record<string, unknown>> {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw invalid('spec must be an object', 'spec');
  let json: string;
  try {
    json = JSON.stringify(spec);
  } catch {
    throw invalid('spec is not JSON-serialisable', 'spec');
  }
  if (Buffer.byteLength(json, 'utf8') > MAX_SPEC_BYTES) throw invalid(`spec is larger than ${MAX_SPEC_BYTES} bytes`, 'spec');
  return JSON.parse(json) as Record<string, unknown>;
}
