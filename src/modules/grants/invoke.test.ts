import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { invoke } from './invoke.js';

/** Patterns that backtrack exponentially in a backtracking engine, with an incident that triggers it. */
const catastrophic = [
  ['(a+)+$', `${'a'.repeat(50_000)}!`],
  ['(a|aa)+$', `${'a'.repeat(50_000)}!`],
  ['^(a|a)*$', `${'a'.repeat(50_000)}!`],
  ['^(\\w+\\s?)*$', `${'word '.repeat(10_000)}!`],
  ['^(a+)+b', 'a'.repeat(50_000)],
] as const;

describe('invoke', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  it.each(catastrophic)('patterns cannot freeze the server: invoke against %s answers in milliseconds', async (pattern, incident) => {
    await bed.apply(bedCatalog.replace(`'^INC-[0-9]+$'`, () => `'${pattern}'`));
    const started = performance.now();
    const refused = await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'db down', incident, ttl: '15m' }).catch(
      (error: unknown) => error,
    );
    expect(performance.now() - started).toBeLessThan(500);
    expect(refused).toMatchObject({ code: 'policy_violation' });
  });
});
