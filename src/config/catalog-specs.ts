/**
 * The per-type parts of the catalog, built from the connectors' own specs
 * (src/connectors/specs.ts): the target variants, the account fields of each type and mode, the
 * principal of a pre-staged account and the types whose admin secret Breakglass generates.
 * Nothing here names a type: a connector added to the registry is in the catalog.
 */
import { z } from 'zod';
import { connectorSpecs, type ConnectorSpec, type FieldShape } from '../connectors/specs.js';
import { AppError } from '../errors/index.js';

const specEntries: readonly (readonly [string, ConnectorSpec])[] = Object.entries(connectorSpecs);

/** The registered target types, in the order messages list them. */
export const targetTypes: readonly string[] = specEntries.map(([type]) => type);

/** A target as the catalog holds it: its type's settings beside name, type and timeout. */
export type CatalogTarget = { name: string; type: string; timeout?: string | undefined } & Readonly<Record<string, unknown>>;

/**
 * One strict object per registered type, told apart by `type`: name, type, `timeout`, the
 * type's settings and `secret` (how the admin password is given: `passwordEnv` or `password`).
 */
export function targetSchema(common: { name: z.ZodType<string>; timeout: z.ZodType<string | undefined> }, secret: z.ZodRawShape) {
  const variants = specEntries.map(([type, spec]) =>
    z.strictObject({ name: common.name, type: z.literal(type), timeout: common.timeout, ...spec.settings, ...secret }),
  );
  const [first, ...rest] = variants;
  if (first === undefined) throw new AppError('internal', 'no connector type is registered');
  return z.discriminatedUnion('type', [first, ...rest], { error: `unsupported target type; supported: ${targetTypes.join(', ')}` });
}

/** Target types whose admin secret Breakglass generates itself (the SSH CA key). */
export const generatedSecretTypes: readonly string[] = specEntries.filter(([, spec]) => spec.generatesAdminSecret === true).map(([type]) => type);

const optionalInner = (schema: z.ZodType): z.ZodType => (schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema);
const unique = (items: readonly string[]) => [...new Set(items)];
const modeShapes = specEntries.flatMap(([, spec]) => Object.values(spec.accounts));

/** The fields that name a pre-staged login (`role`, `user`, `dn`), first in every account. */
const principalFields = unique(specEntries.flatMap(([, spec]) => (spec.principalField === undefined ? [] : [spec.principalField])));

/** Every account field some type takes: principal fields first, then in registry order. */
const accountSpecKeys = unique([...principalFields, ...modeShapes.flatMap((shape) => Object.keys(shape))]);

/** A field's schema, when every type and mode that takes it uses the same one (today all do). */
function agreedSchema(key: string): z.ZodType | undefined {
  const schemas = new Set(modeShapes.flatMap((shape) => (shape[key] === undefined ? [] : [optionalInner(shape[key])])));
  return schemas.size === 1 ? [...schemas][0] : undefined;
}
const agreedSchemas = new Map(accountSpecKeys.map((key) => [key, agreedSchema(key)]));

/**
 * The type-specific account fields, all optional (which are required depends on the target's
 * type and the mode: accountFieldIssues). A field is checked where it stands, so its problems
 * are reported with the others of the account, unless the types disagree on its schema: then
 * accountFieldIssues checks it with the schema of the account's own type.
 */
export const accountFieldShape: Readonly<Record<string, z.ZodType>> = Object.fromEntries(
  accountSpecKeys.map((key) => [key, (agreedSchemas.get(key) ?? z.unknown()).optional()]),
);

export interface FieldIssue {
  readonly path: PropertyKey[];
  readonly message: string;
}

/**
 * What is wrong with an account's fields for its target's type and mode: a mode the type does
 * not support, a required field missing, a field the type and mode do not use, a pre-staged
 * login the target reserves (its admin, system logins: never a break-glass account).
 */
export function accountFieldIssues(type: string, item: Readonly<Record<string, unknown>>, target: Readonly<Record<string, unknown>> = {}): FieldIssue[] {
  const spec = specEntries.find(([known]) => known === type)?.[1];
  const mode = item['mode'];
  if (spec === undefined || (mode !== 'prestaged' && mode !== 'ephemeral')) return [];
  const shape = spec.accounts[mode];
  if (!shape) return [{ path: ['mode'], message: `${type} targets support mode ${Object.keys(spec.accounts).join(', ')}, not ${mode}` }];
  const issues = modeFieldIssues(item, shape, `${mode} ${type}`);
  const field = spec.principalField;
  const principal = field === undefined ? undefined : item[field];
  const reserved = mode === 'prestaged' && typeof principal === 'string' ? spec.reservedPrincipal?.(principal, target) : undefined;
  if (field !== undefined && reserved !== undefined) issues.push({ path: [field], message: `"${principal as string}" is reserved (${reserved}); choose another login for the break-glass account` });
  return issues;
}

function modeFieldIssues(item: Readonly<Record<string, unknown>>, shape: FieldShape, what: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    if (item[key] === undefined && !schema.safeParse(undefined).success) issues.push({ path: [key], message: `required for ${what} accounts` });
  }
  for (const key of accountSpecKeys) {
    const schema = shape[key];
    if (item[key] === undefined) continue;
    if (schema === undefined) {
      issues.push({ path: [key], message: `not used by ${what} accounts` });
    } else if (agreedSchemas.get(key) === undefined) {
      const parsed = schema.safeParse(item[key]);
      for (const problem of parsed.success ? [] : parsed.error.issues) issues.push({ path: [key, ...problem.path], message: problem.message });
    }
  }
  return issues;
}

/** The account's type-specific settings, as the connector receives them. */
export function accountSpec(item: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(accountSpecKeys.filter((key) => item[key] !== undefined).map((key) => [key, item[key]]));
}

/**
 * The login name of a pre-staged account on its target: the field its type names as principal
 * (`role`, `user`, `dn`; an account carries only its own type's fields). Ephemeral ones get one
 * per grant.
 */
export function accountPrincipal(item: Readonly<Record<string, unknown>>): string {
  const principal = principalFields.map((field) => item[field]).find((value) => typeof value === 'string');
  return typeof principal === 'string' ? principal : '(per grant)';
}
