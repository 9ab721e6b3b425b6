import { describe, expect, it } from 'vitest';
import { linearPattern, linearPatternProblem } from './linear-pattern.js';

/**
 * Shapes that make a backtracking engine take exponential time, with inputs that trigger it,
 * and the right answer (`(a|a)*$` matches the empty string at the end of anything).
 */
const catastrophicShapes: readonly (readonly [pattern: string, input: string, matches: boolean])[] = [
  ['(a+)+$', `${'a'.repeat(50_000)}!`, false],
  ['(a|aa)+$', `${'a'.repeat(50_000)}!`, false],
  ['(a|a)*$', `${'a'.repeat(50_000)}!`, true],
  ['^(a|a)*$', `${'a'.repeat(50_000)}!`, false],
  ['^(\\w+\\s?)*$', `${'word '.repeat(10_000)}!`, false],
  ['^(a+)+b', 'a'.repeat(50_000), false],
  ['^(([a-z])+.)+[A-Z]([a-z])+$', `${'aaaaaaaaaa'.repeat(5_000)}!`, false],
  ['(x+x+)+y', 'x'.repeat(50_000), false],
  ['^(\\d+)*$', `${'1'.repeat(50_000)}x`, false],
];

describe('linearPattern', () => {
  it.each(catastrophicShapes)('patterns cannot freeze the server: catastrophic shape %s answers in milliseconds', (pattern, input, matches) => {
    const started = performance.now();
    const matched = linearPattern(pattern).test(input);
    expect(performance.now() - started).toBeLessThan(500);
    expect(matched).toBe(matches);
  });

  it('matches as a regular expression does where both engines agree', () => {
    expect(linearPattern('^INC-[0-9]+$').test('INC-42')).toBe(true);
    expect(linearPattern('^INC-[0-9]+$').test('JIRA-42')).toBe(false);
    expect(linearPattern('INC').test('see INC-1')).toBe(true);
    expect(linearPattern('^\\p{Lu}{3}-\\d+$').test('ÄBC-7')).toBe(true);
  });

  it('names what the engine cannot compile', () => {
    expect(linearPatternProblem('^INC-[0-9]+$')).toBeUndefined();
    expect(linearPatternProblem('(?=a)a')).toBe('error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
    expect(linearPatternProblem('(a)\\1')).toBe('error parsing regexp: invalid escape sequence: `\\1`');
    expect(() => linearPattern('(?<=a)b')).toThrowError(expect.objectContaining({ code: 'conflict' }) as Error);
  });
});
