import { z } from 'zod';

const made = new WeakMap<z.ZodType, z.ZodType>();
const exactly = new WeakSet<z.ZodType>();

/**
 * Marks an answer that a client shows exactly as described, which `tolerant` leaves as it is:
 * a field it does not know is dropped, not passed on. For answers that carry a secret, so
 * nothing unknown is ever printed beside it.
 */
export function exact<S extends z.ZodType>(schema: S): S {
  exactly.add(schema);
  return schema;
}

/**
 * The same schema, but every object in it lets unknown keys through: how a client reads an
 * answer, since a newer server may add fields. Everything else is kept as it is (types,
 * enums, checks such as `.min(2)` or a regex): a missing or mistyped field is still refused,
 * so a client reports an unexpected answer instead of printing `undefined`. Schemas marked
 * `exact` are kept as they are.
 *
 * @example
 * const grant = tolerant(grantViewSchema).parse(await response.json());
 */
export function tolerant<S extends z.ZodType>(schema: S): S {
  let loose = made.get(schema);
  if (loose === undefined) {
    loose = loosen(schema);
    made.set(schema, loose);
  }
  return loose as S;
}

function loosen(schema: z.ZodType): z.ZodType {
  if (exactly.has(schema)) return schema;
  if (schema instanceof z.ZodObject) {
    const shape = Object.fromEntries(Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, field]) => [key, tolerant(field)]));
    return schema.clone({ ...schema.def, shape, catchall: z.unknown() });
  }
  if (schema instanceof z.ZodArray) return schema.clone({ ...schema.def, element: tolerant(schema.element as z.ZodType) });
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) {
    // The three wrap one `innerType`; the rest of the def (a default value) is kept as it is.
    const wrapper = schema as z.ZodOptional<z.ZodType>;
    return wrapper.clone({ ...wrapper.def, innerType: tolerant(wrapper.def.innerType) });
  }
  if (schema instanceof z.ZodUnion) return schema.clone({ ...schema.def, options: (schema.options as z.ZodType[]).map((option) => tolerant(option)) });
  if (schema instanceof z.ZodRecord) return schema.clone({ ...schema.def, valueType: tolerant(schema.valueType as z.ZodType) });
  return schema;
}
