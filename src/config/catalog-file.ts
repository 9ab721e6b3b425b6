/**
 * The catalog document (targets, policies, accounts, users) that an admin writes in YAML and
 * `breakglass apply` sends to the server. One schema for both sides:
 * - `catalogFileSchema`: the file as written; a target names the environment variable that
 *   holds its admin password (`passwordEnv`), never the password itself.
 * - `catalogApplySchema`: the JSON body of `POST /v1/apply`; the CLI has replaced each
 *   `passwordEnv` by `password`, so the server never sees names of variables it cannot read.
 * Durations stay strings such as `15m` (checked here with `parseDuration`); the server parses
 * them again when it stores the policy.
 */
import { Cron } from 'croner';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { alertIssues, applyChannel, fileChannel, route } from './alert-config.js';
import { isReservedUserName, linearPatternProblem, parseDuration, userRoles, type DrillSchedule } from '../domain/index.js';
import { incidentCheckFallbacks, incidentCheckUrlProblem, isUserRole } from '../domain/index.js';
import { httpUrl } from './channels/channel-spec.js';

import { AppError } from '../errors/index.js';
import { accountFieldIssues, accountFieldShape, targetSchema, type CatalogTarget } from './catalog-specs.js';

export { accountPrincipal, accountSpec, generatedSecretTypes, type CatalogTarget } from './catalog-specs.js';

const durationHint = 'use a number and s, m, h or d, e.g. 10s, 15m, 1h, 2d';

const duration = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, { error: (issue) => `"${String(issue.input)}" is not a duration; ${durationHint}` });

const name = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-", starting with a letter or digit');

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name');

/**
 * A pattern is checked with the engine that will match it (RE2, linear time: see
 * src/domain/linear-pattern.ts), so what the catalog accepts is exactly what invoke can run.
 */
const linearRegExp = z.string().max(500).superRefine((source, ctx) => {
  const problem = linearPatternProblem(source);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `is not a valid regular expression for the linear-time engine (RE2): ${problem}` });
});

/** Cross-field checks run on partly invalid objects too, so one pass reports every problem. */
const isObjectPayload = (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null;

/** Runs on partly invalid input too, so every problem is reported in one pass. */
function checkTtlOrder(p: { defaultTtl: unknown; maxTtl: unknown; minTtl?: unknown }, ctx: z.RefinementCtx): void {
  const ms = (value: unknown) => (typeof value === 'string' ? parseDuration(value) : undefined);
  const [defaultMs, maxMs, minMs] = [ms(p.defaultTtl), ms(p.maxTtl), ms(p.minTtl)];
  if (defaultMs !== undefined && maxMs !== undefined && defaultMs > maxMs) {
    ctx.addIssue({ code: 'custom', path: ['maxTtl'], message: `maxTtl ${String(p.maxTtl)} is shorter than defaultTtl ${String(p.defaultTtl)}` });
  }
  if (defaultMs !== undefined && minMs !== undefined && minMs > defaultMs) {
    ctx.addIssue({ code: 'custom', path: ['minTtl'], message: `minTtl ${String(p.minTtl)} is longer than defaultTtl ${String(p.defaultTtl)}` });
  }
}

// issue 11 (H2): a grant's total lifetime (maxTotal) holds at least one full maxTtl.
function checkMaxTotal(p: { maxTtl: unknown; maxTotal?: unknown }, ctx: z.RefinementCtx): void {
  const [maxMs, totalMs] = [p.maxTtl, p.maxTotal].map((value) => (typeof value === 'string' ? parseDuration(value) : undefined));
  if (maxMs !== undefined && totalMs !== undefined && totalMs < maxMs) {
    ctx.addIssue({ code: 'custom', path: ['maxTotal'], message: `maxTotal ${String(p.maxTotal)} is shorter than maxTtl ${String(p.maxTtl)}` });
  }
}

/** Per-operation timeout on a target: bounded, so one slow target cannot hold revocations for long. */
const operationTimeout = duration.refine((text) => (parseDuration(text) ?? 0) <= 60_000, 'must be at most 60s');

/** Targets: their type's settings (catalog-specs.ts); the file names the password's variable, the apply body carries it. */
const targetCommon = { name, timeout: operationTimeout.optional() };
const fileTarget = targetSchema(targetCommon, { passwordEnv: envName.optional() }) as unknown as z.ZodType<
  CatalogTarget & { passwordEnv?: string | undefined }
>;
const applyTarget = targetSchema(targetCommon, { password: z.string().min(1, 'must not be empty').optional() }) as unknown as z.ZodType<
  CatalogTarget & { password?: string | undefined }
>;

// issue 11 (H4): the incident system asked at invocation; its URL follows the alert channels' rules (httpUrl).
const incidentCheck = z
  .strictObject({
    url: httpUrl.refine((text) => text.includes('{incident}'), 'must contain {incident}, replaced by the incident reference'),
    onUnreachable: z.enum(incidentCheckFallbacks, { error: 'must be allow or deny' }),
    /** How long the incident system may take (default 5s, at most 30s). */
    timeout: duration.refine((text) => (parseDuration(text) ?? 0) <= 30_000, 'must be at most 30s').optional(),
    /** Accept http:// to a non-loopback host: the incident reference travels in clear. */
    allowCleartext: z.boolean().optional(),
  })
  .superRefine((check, ctx) => {
    const problem = incidentCheckUrlProblem(check.url, check.allowCleartext === true);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
  }, { when: isObjectPayload });

// issue 11 (H1): k distinct approvers (user names or roles) before activation; `escalate.after` past silent ones.
/** How long a request waits for its approvers when the policy gives no `timeout`. */
export const defaultApprovalTimeoutMs = 30 * 60_000;
const approversApproval = z.strictObject({
  mode: z.literal('approvers'),
  threshold: z.number().int().min(1, 'at least 1 approver').max(255),
  approvers: z.array(name).min(1, 'list at least one approver (a user name or a role)').max(255),
  timeout: duration.optional(),
});

function checkApprovers(p: { approval?: unknown; escalate?: unknown }, ctx: z.RefinementCtx): void {
  const ms = (value: unknown) => (typeof value === 'string' ? parseDuration(value) : undefined);
  const approval = (typeof p.approval === 'object' && p.approval !== null ? p.approval : {}) as { mode?: unknown; timeout?: unknown };
  const escalate = (typeof p.escalate === 'object' && p.escalate !== null ? p.escalate : undefined) as { after?: unknown } | undefined;
  if (escalate === undefined) return;
  if (approval.mode !== 'approvers') {
    ctx.addIssue({ code: 'custom', path: ['escalate'], message: 'escalate goes past approvers: it needs approval: { mode: approvers, … }' });
    return;
  }
  const afterMs = ms(escalate.after);
  const timeoutMs = approval.timeout === undefined ? defaultApprovalTimeoutMs : ms(approval.timeout);
  if (afterMs !== undefined && timeoutMs !== undefined && afterMs >= timeoutMs) {
    ctx.addIssue({ code: 'custom', path: ['escalate', 'after'], message: `escalate.after ${String(escalate.after)} is not shorter than approval.timeout: the request would expire first` });
  }
}

const policy = z
  .strictObject({
    name,
    conditions: z.array(z.string().min(1, 'must not be empty').max(64)).min(1, 'list at least one condition'),
    incidentPattern: linearRegExp.optional(),
    approval: z.discriminatedUnion('mode', [z.strictObject({ mode: z.literal('post-hoc') }), /* issue 11 (H1) */ approversApproval], {
      error: 'unsupported approval mode; supported: post-hoc, approvers',
    }),
    defaultTtl: duration,
    maxTtl: duration,
    minTtl: duration.optional(),
    invokers: z.array(z.string().min(1, 'must not be empty').max(64)).optional(),
    /** `grant.expiring` this long before expiry (default 10m). */
    expiryWarning: duration.optional(),
    // issue 11 (H4): invocation criteria (invokers above: roles or user names, checked in checkInvokers)
    reasonMinLength: z.number().int('must be a whole number of characters').min(0, 'must be 0 or more').max(1000, 'must be at most 1000').optional(),
    incidentCheck: incidentCheck.optional(),
    // issue 11 (H1): after this long without enough approvals, the requester may escalate (`invoke --escalate --reason2`).
    escalate: z.strictObject({ after: duration }).optional(),
    // issue 11 (H3): past this long awaiting certification, a case is certification-overdue.
    certifyWithin: duration.optional(),
    // issue 11 (H2): bounds while active and repeated use.
    /** How many times an active grant may be extended (absent: none). */
    maxExtensions: z.number().int().min(0).max(100).optional(),
    /** The longest a grant may live from activation, extensions included. */
    maxTotal: duration.optional(),
    /** After a case on an account ends, wait this long before the account may be invoked again. */
    cooldown: duration.optional(),
    /** Refuse a new invocation while the account's last case is not certified (an admin may override). */
    requireCertifiedPrevious: z.boolean().optional(),
  })
  // issue 11 (H2): maxTotal bounds the whole lifetime, so it cannot be shorter than one maxTtl.
  .superRefine((p, ctx) => checkMaxTotal(p, ctx), { when: isObjectPayload })
  .superRefine((p, ctx) => checkTtlOrder(p, ctx), { when: isObjectPayload })
  // issue 11 (H1)
  .superRefine((p, ctx) => checkApprovers(p, ctx), { when: isObjectPayload });

/** The approval and custodians of an account with a custodian quorum. */
const quorumFields = {
  /** Cryptographic dual control: k of the custodians must present their shares to release. */
  approval: z
    .strictObject({
      mode: z.literal('custodians', { error: 'accounts support approval mode custodians (post-hoc comes from the policy)' }),
      threshold: z.number().int().min(2, 'a quorum needs at least 2 custodians').max(255),
      window: duration.optional(),
      /** Keep the account able to log in between grants, so the offline kit works with Breakglass down. */
      offlineAccess: z.boolean().optional(),
    })
    .optional(),
  custodians: z.array(name).min(2, 'list at least two custodians').max(255).optional(),
};

/** A cron expression (five or six fields, UTC), checked with the engine that evaluates it. */
const cronExpression = z.string().max(128).refine(
  (text) => {
    try {
      new Cron(text, { paused: true, timezone: 'UTC' }).stop();
      return true;
    } catch {
      return false;
    }
  },
  { error: (issue) => `"${String(issue.input)}" is not a cron expression, e.g. "0 3 * * 1" (Mondays 03:00 UTC)` },
);

const accountCore = {
  name,
  target: name,
  mode: z.enum(['prestaged', 'ephemeral'], { error: 'unsupported mode; supported: prestaged, ephemeral' }),
  policy: name,
  /** A drift scan fixes what it can on this account (disable, end sessions, drop a leftover) and verifies. */
  autoRemediate: z.boolean().optional(),
  /** Drill the account by itself on a schedule (issue 10); `maxAge`: the longest time without a passed drill. */
  drill: z.strictObject({ schedule: cronExpression, maxAge: duration }).optional(),
};

/** An account's drill schedule, if it has one. */
export function accountDrill(item: { drill?: { schedule: string; maxAge: string } | undefined }): DrillSchedule | undefined {
  if (!item.drill) return undefined;
  return { schedule: item.drill.schedule, maxAgeMs: parseDuration(item.drill.maxAge) ?? 0 };
}

/** An account as the catalog holds it: its type's fields (role, user, privileges, …) beside these. */
export type CatalogAccount = z.output<z.ZodObject<typeof accountCore & typeof quorumFields>> & Readonly<Record<string, unknown>>;

/** Account fields; which are required depends on the target's type and the mode (checkAccountFields). */
const account = z.strictObject({ ...accountCore, ...accountFieldShape, ...quorumFields }) as unknown as z.ZodType<CatalogAccount>;

/** Default time custodians have to present their shares before a request expires. */
export const defaultQuorumWindowMs = 30 * 60_000;

/** The custodian quorum of an account, if it has one. */
export function accountQuorum(item: {
  approval?: { threshold: number; window?: string | undefined; offlineAccess?: boolean | undefined } | undefined;
  custodians?: string[] | undefined;
}) {
  if (!item.approval || !item.custodians) return undefined;
  const windowMs = item.approval.window === undefined ? defaultQuorumWindowMs : (parseDuration(item.approval.window) ?? defaultQuorumWindowMs);
  return { threshold: item.approval.threshold, custodians: item.custodians, windowMs, ...(item.approval.offlineAccess ? { offlineAccess: true } : {}) };
}

const user = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9._-]{0,62}$/, 'use 1 to 63 lowercase letters, digits, ".", "_" and "-", starting with a letter')
    .refine((name) => !isReservedUserName(name), { error: (issue) => `"${String(issue.input)}" is reserved for the engine itself; choose another name` }),
  roles: z.array(z.enum(userRoles, { error: `unknown role; roles are ${userRoles.join(', ')}` })),
  /** A custodian's X25519 public key (from `breakglass custodian keygen`): shares are encrypted to it. */
  recipient: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a recipient printed by `breakglass custodian keygen`').optional(),
  /** Automation, not a person: an admin may create its tokens (`breakglass token create NAME`). */
  service: z.boolean().optional(),
  /** Every token of a disabled user stops working at once. */
  disabled: z.boolean().optional(),
});

type Section = 'targets' | 'policies' | 'accounts' | 'users';
const singular: Record<Section, string> = { targets: 'target', policies: 'policy', accounts: 'account', users: 'user' };

/** The items of a section as far as they parsed: refinements also run on partly invalid input. */
function namedItems(doc: unknown, section: Section): { index: number; item: Record<string, unknown> }[] {
  const list = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[section] : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap((item: unknown, index) => (typeof item === 'object' && item !== null ? [{ index, item: item as Record<string, unknown> }] : []));
}

/** Unique names per section and account references to known targets and policies. */
function checkReferences(doc: unknown, ctx: z.RefinementCtx): void {
  const names = {} as Record<Section, Set<string>>;
  for (const section of ['targets', 'policies', 'accounts', 'users'] as const) {
    names[section] = new Set();
    for (const { index, item } of namedItems(doc, section)) {
      if (typeof item['name'] !== 'string') continue;
      if (names[section].has(item['name'])) {
        ctx.addIssue({ code: 'custom', path: [section, index, 'name'], message: `duplicate ${singular[section]} "${item['name']}"` });
      }
      names[section].add(item['name']);
    }
  }
  checkAccountFields(doc, ctx);
  checkCustodians(doc, ctx);
  checkInvokers(doc, ctx);
  for (const { index, item } of namedItems(doc, 'accounts')) {
    for (const [field, section] of [['target', 'targets'], ['policy', 'policies']] as const) {
      const ref = item[field];
      if (typeof ref === 'string' && !names[section].has(ref)) {
        ctx.addIssue({ code: 'custom', path: ['accounts', index, field], message: `unknown ${field} "${ref}"` });
      }
    }
  }
}

// issue 11 (H4): who may invoke is the permission table's `policy-invokers`; here only that each name means someone.
/** Each of a policy's `invokers` is a role or a declared user. */
function checkInvokers(doc: unknown, ctx: z.RefinementCtx): void {
  const users = new Set(namedItems(doc, 'users').map(({ item }) => item['name']));
  for (const { index, item } of namedItems(doc, 'policies')) {
    const invokers = item['invokers'];
    if (!Array.isArray(invokers)) continue;
    invokers.forEach((invoker: unknown, i) => {
      if (typeof invoker !== 'string' || isUserRole(invoker) || users.has(invoker)) return;
      ctx.addIssue({ code: 'custom', path: ['policies', index, 'invokers', i], message: `"${invoker}" is neither a role (${userRoles.join(', ')}) nor a declared user` });
    });
  }
}

/** Custodians are declared users with the custodian role, enough of them for the threshold. */
function checkCustodians(doc: unknown, ctx: z.RefinementCtx): void {
  const users = new Map(namedItems(doc, 'users').map(({ item }) => [item['name'], item['roles']]));
  for (const { index, item } of namedItems(doc, 'accounts')) {
    const approval = item['approval'] as { threshold?: unknown } | undefined;
    const custodians = Array.isArray(item['custodians']) ? (item['custodians'] as unknown[]) : undefined;
    const at = (key: string) => ['accounts', index, key];
    if (approval && !custodians) ctx.addIssue({ code: 'custom', path: at('custodians'), message: 'approval mode custodians needs a custodians list' });
    if (custodians && !approval) ctx.addIssue({ code: 'custom', path: at('approval'), message: 'custodians need approval: { mode: custodians, threshold: k }' });
    if (item['mode'] === 'ephemeral' && approval) ctx.addIssue({ code: 'custom', path: at('approval'), message: 'custodian quorum protects a pre-staged secret; ephemeral accounts have none' });
    if (!custodians) continue;
    if (typeof approval?.threshold === 'number' && approval.threshold > custodians.length) {
      ctx.addIssue({ code: 'custom', path: ['accounts', index, 'approval', 'threshold'], message: `threshold ${approval.threshold} is more than the ${custodians.length} custodians` });
    }
    custodians.forEach((custodian, i) => {
      const roles = users.get(custodian);
      if (new Set(custodians).size !== custodians.length && custodians.indexOf(custodian) !== i) {
        ctx.addIssue({ code: 'custom', path: ['accounts', index, 'custodians', i], message: `"${String(custodian)}" is listed twice` });
      } else if (!Array.isArray(roles)) {
        ctx.addIssue({ code: 'custom', path: ['accounts', index, 'custodians', i], message: `unknown user "${String(custodian)}"` });
      } else if (!roles.includes('custodian')) {
        ctx.addIssue({ code: 'custom', path: ['accounts', index, 'custodians', i], message: `user "${String(custodian)}" lacks the custodian role` });
      }
    });
  }
}

/** Each account has the fields its target type and mode need, and no others. */
function checkAccountFields(doc: unknown, ctx: z.RefinementCtx): void {
  const targets = new Map(namedItems(doc, 'targets').map(({ item }) => [item['name'], item]));
  for (const { index, item } of namedItems(doc, 'accounts')) {
    const target = targets.get(item['target']);
    const type = target?.['type'];
    if (typeof type !== 'string') continue;
    for (const { path, message } of accountFieldIssues(type, item, target)) ctx.addIssue({ code: 'custom', path: ['accounts', index, ...path], message });
  }
}

function catalogSchema<T extends z.ZodType, C extends z.ZodType>(target: T, channel: C, secretKey: 'secretEnv' | 'secret') {
  return z
    .strictObject(
      {
        targets: z.array(target).default([]),
        policies: z.array(policy).default([]),
        accounts: z.array(account).default([]),
        users: z.array(user).default([]),
        channels: z.array(channel).default([]),
        routes: z.array(route).default([]),
      },
      { error: (issue) => (issue.code === 'invalid_type' ? 'a catalog is a mapping with targets, policies, accounts, users, channels and routes' : undefined) },
    )
    .superRefine((doc, ctx) => {
      checkReferences(doc, ctx);
      for (const { path, message } of alertIssues(doc, secretKey)) ctx.addIssue({ code: 'custom', path, message });
    }, { when: isObjectPayload });
}

/** The catalog as written in YAML. Every section is optional. */
export const catalogFileSchema = catalogSchema(fileTarget, fileChannel, 'secretEnv');
export type CatalogFile = z.output<typeof catalogFileSchema>;

/** The catalog as `POST /v1/apply` receives it: passwords and channel secrets resolved from the environment. */
export const catalogApplySchema = catalogSchema(applyTarget, applyChannel, 'secret');
export type CatalogApply = z.output<typeof catalogApplySchema>;

/** `accounts[0].policy` from `['accounts', 0, 'policy']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

interface IssueLine {
  readonly path: string;
  readonly line: string;
}

/** Unknown fields get one line each at their own path, which is where a typo is fixed. */
function issueLines(error: z.ZodError): IssueLine[] {
  return error.issues.flatMap((issue) => {
    const entries =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }))
        : [{ path: formatPath(issue.path), message: issue.message }];
    return entries.map(({ path, message }) => ({ path, line: `${path === '' ? '(document)' : path}: ${message}` }));
  });
}

/**
 * One line per issue, `path: message`.
 * @example formatIssues(error) → ['accounts[0].policy: unknown policy "p9"']
 */
export function formatIssues(error: z.ZodError): string[] {
  return issueLines(error).map((issue) => issue.line);
}

function validationError(lines: readonly string[], path: string | undefined): AppError {
  return new AppError('validation', lines.join('\n'), path === undefined || path === '' ? {} : { path });
}

/**
 * Parses and validates a catalog file. Throws `AppError('validation')` whose message has one
 * line per problem (`line 3, column 5: …` for YAML syntax, `accounts[0].policy: …` for the
 * schema) and whose `path` is the first problem's path.
 * @example parseCatalogYaml(readFileSync('catalog.yaml', 'utf8'))
 */
export function parseCatalogYaml(text: string): CatalogFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  // The first syntax error is the cause; the parser's later ones are mostly its consequences.
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    throw validationError([`line ${line}, column ${col}: ${syntax.message}`], undefined);
  }
  const parsed = catalogFileSchema.safeParse(doc.toJS({ maxAliasCount: 100 }) ?? {});
  if (!parsed.success) {
    const lines = issueLines(parsed.error);
    throw validationError(
      lines.map((l) => l.line),
      lines[0]?.path,
    );
  }
  return parsed.data;
}

/**
 * Replaces each target's `passwordEnv` by the value of that environment variable. A variable
 * that is unset or empty is an error (a missing secret is never defaulted); all of them are
 * reported at once.
 * @example resolvePasswords(file, process.env)
 */
export function resolvePasswords(file: CatalogFile, env: Readonly<Record<string, string | undefined>>): CatalogApply {
  const problems: { path: string; line: string }[] = [];
  const targets = file.targets.map((target, index) => {
    // issue 12 (P3): a unix target names its admin private key with privateKeyEnv; it is read and sealed like a password.
    if (typeof target['privateKeyEnv'] === 'string') return resolvePrivateKey(target, index, env, problems);
    const { passwordEnv, ...rest } = target;
    if (passwordEnv === undefined) return rest;
    const path = `targets[${index}].passwordEnv`;
    const value = env[passwordEnv];
    if (value === undefined || value === '') {
      problems.push({ path, line: `${path}: environment variable ${passwordEnv} is ${value === undefined ? 'not set' : 'empty'}` });
      return rest;
    }
    return { ...rest, password: value };
  });
  const channels = file.channels.map((channel, index) => {
    const { secretEnv, ...rest } = channel;
    if (secretEnv === undefined) return rest;
    const path = `channels[${index}].secretEnv`;
    const value = env[secretEnv];
    if (value === undefined || value === '') {
      problems.push({ path, line: `${path}: environment variable ${secretEnv} is ${value === undefined ? 'not set' : 'empty'}` });
      return rest;
    }
    return { ...rest, secret: value };
  });
  if (problems.length > 0) {
    throw validationError(
      problems.map((p) => p.line),
      problems[0]?.path,
    );
  }
  return { ...file, targets, channels };
}

// issue 12 (P3): `privateKeyEnv` (unix targets) travels as the target's `password`, never beside `passwordEnv`.
function resolvePrivateKey(target: CatalogFile['targets'][number], index: number, env: Readonly<Record<string, string | undefined>>, problems: { path: string; line: string }[]) {
  const { passwordEnv, privateKeyEnv, ...rest } = target as CatalogFile['targets'][number] & { privateKeyEnv: string };
  const path = `targets[${index}].privateKeyEnv`;
  if (passwordEnv !== undefined) problems.push({ path, line: `${path}: give the admin private key with privateKeyEnv only, not passwordEnv too` });
  const value = env[privateKeyEnv];
  if (value === undefined || value === '') {
    problems.push({ path, line: `${path}: environment variable ${privateKeyEnv} is ${value === undefined ? 'not set' : 'empty'}` });
    return rest;
  }
  return { ...rest, password: value };
}
