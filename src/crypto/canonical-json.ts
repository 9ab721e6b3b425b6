import canonicalizeModule from 'canonicalize';
import { AppError } from '../errors/index.js';

type Serialize = (input: unknown) => string | undefined;

/*
 * `canonicalize` is CommonJS (`module.exports = serialize`) but ships a `.d.ts` that says
 * `export default`. Under NodeNext, TypeScript therefore types the default import as the module
 * object `{ default: serialize }`, while Node (and vitest) hand us the function itself. Accept
 * both shapes so the code is right for the compiler, for Node, and for any bundler.
 */
const moduleValue: unknown = canonicalizeModule;
const serialize: Serialize =
  typeof moduleValue === 'function' ? (moduleValue as Serialize) : canonicalizeModule.default;

/**
 * RFC 8785 (JCS) canonical JSON: sorted keys, no whitespace, ECMAScript number formatting.
 * Hashes and signatures are computed over this form, so the same value always gives the same bytes.
 *
 * Callers convert `Date`s to ISO strings themselves (what is hashed should be visible at the call
 * site). Throws `AppError('validation')` for values JSON cannot represent: `undefined`, functions,
 * symbols, `NaN`, `Infinity`, `BigInt`.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = serialize(value);
  } catch (cause) {
    throw new AppError('validation', 'value cannot be written as canonical JSON', { cause });
  }
  if (text === undefined) {
    throw new AppError('validation', 'value cannot be written as canonical JSON (undefined)');
  }
  return text;
}
