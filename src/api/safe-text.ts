import { z } from 'zod';

/**
 * Characters a terminal acts on instead of showing: C0 controls (NUL, ESC, CR, backspace…),
 * DEL, C1 controls (U+0080–U+009F, among them the one-byte CSI U+009B) and the bidirectional
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) that reorder what is shown.
 * A reason holding `\x1b[1A\x1b[2K` would otherwise rewrite the lines above it on the
 * certifier's terminal. Tab and newline are the only ones a multi-line text may keep.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const controlCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex -- idem, tab and newline included
const controlOrLineBreak = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const describe = (char: string) => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/** The first character of `text` a terminal would act on, if any (tab and newline allowed when `multiline`). */
export function firstControlCharacter(text: string, multiline: boolean): string | undefined {
  return (multiline ? controlCharacters : controlOrLineBreak).exec(text)?.[0];
}

/**
 * The one check on free text a request carries: refuses control characters, naming the first
 * one. `multiline` lets tab and newline through (a reason, a note, a share copied from paper).
 *
 * @example
 * const invokeBody = z.object({ reason: safeText({ max: 2000, multiline: true }) });
 */
export function safeText(options: { min?: number; max: number; multiline?: boolean }): z.ZodString {
  const base = z
    .string()
    .min(options.min ?? 1)
    .max(options.max);
  return refuseControlCharacters(base, options.multiline === true);
}

/** Adds the control-character check to a string schema (its other checks are kept). */
export function refuseControlCharacters(schema: z.ZodString, multiline = false): z.ZodString {
  return schema.check((payload) => {
    const found = firstControlCharacter(payload.value, multiline);
    if (found === undefined) return;
    payload.issues.push({
      code: 'custom',
      input: payload.value,
      message: `must not contain control characters (found ${describe(found)})${multiline ? '' : '; write it on one line'}`,
    });
  });
}

/**
 * The same check over every string of a nested request body whose schema is not built from
 * `safeText` (the catalog of `POST /v1/apply`: its fields come from each connector's spec).
 * Map keys are checked too. Newlines are refused everywhere in it: a catalog value is one line.
 */
export function refuseControlCharactersDeep<S extends z.ZodType>(schema: S): S {
  return schema.check((payload) => {
    for (const [path, text] of strings(payload.value, [])) {
      const found = firstControlCharacter(text, false);
      if (found !== undefined) {
        payload.issues.push({ code: 'custom', input: text, path, message: `must not contain control characters (found ${describe(found)})` });
      }
    }
  });
}

function* strings(value: unknown, path: (string | number)[]): Generator<[(string | number)[], string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* strings(item, [...path, i]);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      yield [[...path, key], key];
      yield* strings(item, [...path, key]);
    }
  }
}
