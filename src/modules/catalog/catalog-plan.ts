import { canonicalJson } from '../../crypto/index.js';
import { accountDrill, accountPrincipal, accountQuorum, accountSpec, defaultApprovalTimeoutMs, type CatalogApply } from '../../config/catalog-file.js';
import { parseDuration, type Policy } from '../../domain/index.js';
import { isUserRole } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord, ChannelRecord, RouteRecord, TargetRecord, UserRecord } from '../../ports/index.js';

/**
 * What an apply changes, object by object and field by field: the plan `apply --dry-run` prints,
 * and the evidence each apply writes to the audit chain (one event per created, changed or
 * removed object). Secrets are never in it: a changed password shows as `"changed"`.
 */
export type PlanKind = 'target' | 'policy' | 'account' | 'user' | 'channel' | 'route';
export type PlanOp = 'create' | 'change' | 'remove';
export type FieldChange = { readonly before: unknown; readonly after: unknown } | 'changed';

export interface PlanEntry {
  readonly kind: PlanKind;
  readonly name: string;
  readonly op: PlanOp;
  /** Field → before/after (for `create`: every field with `before: null`; for `remove`: `after: null`). */
  readonly changes: Readonly<Record<string, FieldChange>>;
}

/** The catalog as stored, in the shape the file is compared with. */
export interface CurrentCatalog {
  readonly targets: readonly TargetRecord[];
  readonly policies: readonly Policy[];
  readonly accounts: readonly AccountRecord[];
  readonly users: readonly UserRecord[];
  readonly channels: readonly ChannelRecord[];
  readonly routes: readonly RouteRecord[];
}

type Fields = Readonly<Record<string, unknown>>;

/** The fields whose change means the target is a different system: its admin secret must be given again. */
export const connectionFields = (settings: Fields): Fields => Object.fromEntries(Object.entries(settings).filter(([key]) => key !== 'timeoutMs'));

const ms = (text: string | undefined, path: string): number | null => {
  if (text === undefined) return null;
  const value = parseDuration(text);
  if (value === undefined) throw new AppError('validation', `${path}: "${text}" is not a duration`, { path });
  return value;
};

/** A target of the file as stored: connection settings (timeout in ms) apart from its password. */
export function targetParts(spec: CatalogApply['targets'][number], i: number) {
  const { name, type, timeout, ...rest } = spec;
  const { password, ...settings } = rest as typeof rest & { password?: string };
  const timeoutMs = ms(timeout, `targets[${i}].timeout`);
  return { name, type, password, settings: { ...settings, ...(timeoutMs === null ? {} : { timeoutMs }) } as Fields };
}

export function policyFields(spec: CatalogApply['policies'][number], i: number): Omit<Policy, 'id' | 'name'> {
  return {
    conditions: spec.conditions,
    incidentPattern: spec.incidentPattern,
    approval: { mode: spec.approval.mode },
    defaultTtlMs: ms(spec.defaultTtl, `policies[${i}].defaultTtl`)!,
    maxTtlMs: ms(spec.maxTtl, `policies[${i}].maxTtl`)!,
    minTtlMs: ms(spec.minTtl, `policies[${i}].minTtl`) ?? undefined,
    invokers: (spec.invokers ?? []).filter(isUserRole),
    ...(spec.expiryWarning === undefined ? {} : { expiryWarningMs: ms(spec.expiryWarning, `policies[${i}].expiryWarning`)! }),
    // issue 11 (H4): invocation criteria; a name in `invokers` that is not a role is a user's.
    ...invocationCriteriaFields(spec, i),
    // issue 11 (H1)
    ...approverFields(spec, i),
    // issue 11 (H3)
    ...(spec.certifyWithin === undefined ? {} : { certifyWithinMs: ms(spec.certifyWithin, `policies[${i}].certifyWithin`)! }),
    // issue 11 (H2): bounds while active and repeated use.
    ...(spec.maxExtensions === undefined ? {} : { maxExtensions: spec.maxExtensions }),
    ...(spec.maxTotal === undefined ? {} : { maxTotalMs: ms(spec.maxTotal, `policies[${i}].maxTotal`)! }),
    ...(spec.cooldown === undefined ? {} : { cooldownMs: ms(spec.cooldown, `policies[${i}].cooldown`)! }),
    ...(spec.requireCertifiedPrevious === true ? { requireCertifiedPrevious: true } : {}),
  };
}

// issue 11 (H4): invocation criteria
function invocationCriteriaFields(spec: CatalogApply['policies'][number], i: number): Pick<Policy, 'reasonMinLength' | 'invokerUsers' | 'incidentCheck'> {
  const users = (spec.invokers ?? []).filter((name) => !isUserRole(name));
  const check = spec.incidentCheck;
  const timeoutMs = check === undefined ? null : ms(check.timeout, `policies[${i}].incidentCheck.timeout`);
  return {
    ...(spec.reasonMinLength === undefined ? {} : { reasonMinLength: spec.reasonMinLength }),
    ...(users.length === 0 ? {} : { invokerUsers: users }),
    ...(check === undefined
      ? {}
      : {
          incidentCheck: {
            url: check.url,
            onUnreachable: check.onUnreachable,
            ...(timeoutMs === null ? {} : { timeoutMs }),
            ...(check.allowCleartext === true ? { allowCleartext: true } : {}),
          },
        }),
  };
}

// issue 11 (H1): the approvers rule and the escalation of a policy, as stored.
function approverFields(spec: CatalogApply['policies'][number], i: number): Pick<Policy, 'approvers' | 'escalateAfterMs'> {
  const approval = spec.approval;
  return {
    ...(approval.mode !== 'approvers'
      ? {}
      : {
          approvers: {
            threshold: approval.threshold,
            approvers: approval.approvers,
            timeoutMs: ms(approval.timeout, `policies[${i}].approval.timeout`) ?? defaultApprovalTimeoutMs,
          },
        }),
    ...(spec.escalate === undefined ? {} : { escalateAfterMs: ms(spec.escalate.after, `policies[${i}].escalate.after`)! }),
  };
}

const storedPolicy = ({ id: _id, name: _name, ...fields }: Policy) => fields;

export function accountFields(spec: CatalogApply['accounts'][number]) {
  return {
    target: spec.target,
    policy: spec.policy,
    mode: spec.mode,
    principal: spec.mode === 'ephemeral' ? '(per grant)' : accountPrincipal(spec),
    spec: accountSpec(spec),
    quorum: accountQuorum(spec) ?? null,
    autoRemediate: spec['autoRemediate'] === true ? true : undefined,
    drill: accountDrill(spec) ?? null,
  };
}

/** Compares field by field; `undefined` and absent are the same, key order does not matter. */
function diff(before: Fields | undefined, after: Fields | undefined): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of [...keys].sort()) {
    const b = before?.[key] ?? null;
    const a = after?.[key] ?? null;
    if (canonicalJson(b) !== canonicalJson(a)) changes[key] = { before: b, after: a };
  }
  return changes;
}

function entries(kind: PlanKind, current: Map<string, Fields>, wanted: Map<string, Fields>, secretChanged: (name: string) => boolean = () => false): PlanEntry[] {
  const plan: PlanEntry[] = [];
  for (const [name, fields] of wanted) {
    const before = current.get(name);
    const changes = diff(before, fields);
    if (before && secretChanged(name)) changes[kind === 'channel' ? 'secret' : 'password'] = 'changed';
    if (!before) plan.push({ kind, name, op: 'create', changes });
    else if (Object.keys(changes).length > 0) plan.push({ kind, name, op: 'change', changes });
  }
  for (const [name, fields] of current) if (!wanted.has(name)) plan.push({ kind, name, op: 'remove', changes: diff(fields, undefined) });
  return plan;
}

/**
 * The plan of applying `doc` to `current`. `secretChanged(target)` says whether the file's
 * password differs from the stored one (the caller can open it; the plan never sees either).
 */
/** A channel of the file as stored: its settings apart from its secret. */
export function channelParts(spec: CatalogApply['channels'][number]) {
  const { name, type, secret, ...settings } = spec as typeof spec & { secret?: string };
  return { name, type, secret, settings: settings as Fields };
}

/** Routes have no names: each is known by its place in the file. */
const routeName = (i: number) => `routes[${i}]`;
const routeFields = (route: RouteRecord): Fields => ({
  events: route.events,
  channels: route.channels,
  accounts: route.accounts ?? null,
  minSeverity: route.minSeverity ?? null,
  ackWithin: route.ackWithin ?? null,
  escalateTo: route.escalateTo ?? null,
});

export function planCatalog(
  current: CurrentCatalog,
  doc: CatalogApply,
  secretChanged: (target: string) => boolean,
  channelSecretChanged: (channel: string) => boolean = () => false,
): PlanEntry[] {
  const targetNames = new Map(current.targets.map((t) => [t.id as string, t.name]));
  const policyNames = new Map(current.policies.map((p) => [p.id as string, p.name]));
  const byName = <R extends { name: string }>(rows: readonly R[], fields: (row: R) => Fields) => new Map(rows.map((row) => [row.name, fields(row)]));
  return [
    ...entries('target', byName(current.targets, (t) => ({ type: t.type, settings: t.settings })), new Map(doc.targets.map((t, i) => {
      const { type, settings } = targetParts(t, i);
      return [t.name, { type, settings }];
    })), secretChanged),
    ...entries('policy', byName(current.policies, storedPolicy), new Map(doc.policies.map((p, i) => [p.name, policyFields(p, i)]))),
    ...entries(
      'account',
      byName(current.accounts, (a) => ({
        target: targetNames.get(a.targetId) ?? a.targetId,
        policy: policyNames.get(a.policyId) ?? a.policyId,
        mode: a.mode,
        principal: a.principal,
        spec: a.spec,
        quorum: a.quorum ?? null,
        autoRemediate: a.autoRemediate,
        drill: a.drill ?? null,
      })),
      new Map(doc.accounts.map((a) => [a.name, accountFields(a)])),
    ),
    ...entries(
      'user',
      byName(current.users, (u) => ({ roles: u.roles, recipient: u.recipient ?? null, service: u.service, disabled: u.disabled })),
      new Map(doc.users.map((u) => [u.name, { roles: u.roles, recipient: u.recipient ?? null, service: u.service === true, disabled: u.disabled === true }])),
    ),
    ...entries(
      'channel',
      byName(current.channels, (c) => ({ type: c.type, settings: c.settings })),
      new Map(doc.channels.map((c) => {
        const { name, type, settings } = channelParts(c);
        return [name, { type, settings }];
      })),
      channelSecretChanged,
    ),
    ...entries('route', new Map(current.routes.map((r, i) => [routeName(i), routeFields(r)])), new Map(doc.routes.map((r, i) => [routeName(i), routeFields(r)]))),
  ];
}
