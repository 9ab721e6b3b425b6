import { RE2JS } from 're2js';
import { AppError } from '../errors/index.js';

/**
 * The one matcher for regular expressions that come from the catalog or a request (a policy's
 * `incidentPattern`). It is RE2 (its JavaScript port `re2js`: the native `re2` package builds
 * from source for many minutes on a machine without its prebuilt binary), whose matching time is linear in the input whatever the
 * pattern: `(a+)+$` or `(a|aa)+$` against a long incident answers in microseconds instead of
 * backtracking for ever on the event loop, where it would stop every revocation. A syntax
 * blacklist cannot promise that; the engine does.
 *
 * RE2 has no backreferences or lookaround; a pattern that needs them is refused when the
 * catalog is checked (`linearPatternProblem`), so nothing refused here reaches a use case.
 */
export interface LinearPattern {
  readonly source: string;
  /** Does the pattern match somewhere in `text` (as `RegExp.prototype.test`)? Linear in `text`. */
  test(text: string): boolean;
}

function compile(source: string): RE2JS | string {
  try {
    return RE2JS.compile(source);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Why the engine cannot compile `source` (its own words, e.g. `missing ]: [0-9+$`), or undefined when it can. */
export function linearPatternProblem(source: string): string | undefined {
  const compiled = compile(source);
  return typeof compiled === 'string' ? compiled : undefined;
}

/**
 * Compiles `source` for linear-time matching. Throws `conflict` when the engine cannot
 * compile it (a pattern stored before the catalog checked with this engine, e.g. a lookahead).
 * @example linearPattern('^INC-[0-9]+$').test('INC-42') // true
 */
export function linearPattern(source: string): LinearPattern {
  const compiled = compile(source);
  if (typeof compiled === 'string') {
    throw new AppError('conflict', `pattern ${source} is not supported by the linear-time engine (RE2): ${compiled}; apply a catalog with a simpler pattern`);
  }
  return { source, test: (text) => compiled.matcher(text).find() };
}
