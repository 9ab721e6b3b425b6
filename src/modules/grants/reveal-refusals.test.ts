/**
 * Requests are bounded: a loop of refused reveals cannot flood the audit chain. Refusals of one
 * grant by one user for one reason are one audit event per minute, on the fake clock; the ones
 * folded into a minute are counted in the next event.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { GrantId } from '../../domain/index.js';
import { invoke } from './invoke.js';
import { reveal } from './reveal.js';

describe('refused reveals on the record', () => {
  let bed: TestBed;
  let id: GrantId;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    id = (await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'db down', incident: 'INC-1', ttl: '30m' })).id;
    await reveal(bed.ctx, bed.actors.alice, id);
  });
  afterEach(async () => {
    await bed.close();
  });

  const refusals = async () => (await bed.auditEvents()).filter((event) => event.action === 'grant.reveal-refused');
  const refuse = (actor = bed.actors.alice) => reveal(bed.ctx, actor, id).then(
    () => expect.fail('the reveal should be refused'),
    (error: unknown) => (error as { code: string }).code,
  );

  it('requests are bounded: refused reveals of the same grant by the same user are one audit event per minute', async () => {
    for (let i = 0; i < 50; i++) expect(await refuse()).toBe('already_revealed');
    bed.clock.advance(30_000);
    for (let i = 0; i < 10; i++) await refuse();
    // Another user's refusal of the same grant is on the record at once, in its own count.
    expect(await refuse(bed.actors.bob)).toBe('forbidden');
    expect((await refusals()).map((event) => event.actor)).toEqual(['alice', 'bob']);
    expect((await refusals())[0]).toMatchObject({ actor: 'alice', subject: id, details: { code: 'already_revealed' } });
    expect(bed.logs.filter((line) => line.level === 'warn' && line.message.includes('refused reveals'))).toHaveLength(1);

    // A minute after the recorded one, the next refusal is recorded with the 59 folded before it.
    bed.clock.advance(30_000);
    await refuse();
    const [, , second] = await refusals();
    expect(second).toMatchObject({ details: { code: 'already_revealed', earlierRefusals: 59, earlierSince: '2030-01-01T00:00:00.000Z' } });
    expect(await bed.verify()).toMatchObject({ ok: true });
  });
});
