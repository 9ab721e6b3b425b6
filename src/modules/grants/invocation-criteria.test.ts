/**
 * Invocation criteria on the engine (issue 11, H4): stored from the catalog (migration 0020),
 * enforced by invoke, each refusal naming its criterion as its `path` and in its message.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Actor } from '../../domain/index.js';
import { invoke } from './invoke.js';

describe('invocation criteria', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  const withPolicy = (fields: string) => bedCatalog.replace('    maxTtl: 1h\n', `    maxTtl: 1h\n${fields}`);
  const invokeAs = (actor: Actor, reason = 'primary db is down', incident = 'INC-7') =>
    invoke(bed.ctx, actor, { account: 'db-ephemeral', condition: 'outage', reason, incident, ttl: '15m' });
  const refusalOf = async (work: Promise<unknown>) => work.then(() => undefined, (error: unknown) => error as { code: string; path?: string; message: string });

  it('reasonMinLength: a short reason is refused naming the criterion, its length and the minimum', async () => {
    await bed.apply(withPolicy('    reasonMinLength: 10\n'));
    expect(await refusalOf(invokeAs(bed.actors.alice, 'down'))).toMatchObject({
      code: 'policy_violation',
      path: 'reasonMinLength',
      message: expect.stringContaining('reason is 4 characters; policy "p0" requires reasonMinLength 10'),
    });
    expect((await invokeAs(bed.actors.alice)).state).toBe('active');
  });

  it('invokers naming a user: that user invokes, the default roles no longer do, and the refusal names invokers', async () => {
    await bed.apply(withPolicy('    invokers: [bob]\n'));
    expect(await refusalOf(invokeAs(bed.actors.alice))).toMatchObject({ code: 'forbidden', path: 'invokers', message: expect.stringContaining('invokers: bob') });
    expect((await invokeAs(bed.actors.bob)).state).toBe('active');
  });

  it('invokers naming roles and users together', async () => {
    await bed.apply(withPolicy('    invokers: [admin, bob]\n'));
    expect((await invokeAs(bed.actors.admin)).state).toBe('active');
    expect(await refusalOf(invokeAs(bed.actors.alice))).toMatchObject({ code: 'forbidden', path: 'invokers' });
  });

  it('conditions and incidentPattern name themselves', async () => {
    await bed.apply(bedCatalog);
    expect(await refusalOf(invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'boredom', reason: 'x', incident: 'INC-1', ttl: '15m' }))).toMatchObject({
      path: 'conditions',
      message: expect.stringContaining('conditions: outage'),
    });
    expect(await refusalOf(invokeAs(bed.actors.alice, 'db down', 'JIRA-1'))).toMatchObject({ path: 'incidentPattern', message: expect.stringContaining('incidentPattern') });
  });

  it('the criteria are stored as applied: applying the same catalog again changes nothing', async () => {
    const catalog = withPolicy('    reasonMinLength: 10\n    invokers: [responder, bob]\n    incidentCheck: { url: "https://itsm.example/incidents/{incident}", onUnreachable: deny, timeout: 3s }\n');
    const first = await bed.apply(catalog);
    expect(first.plan.find((e) => e.kind === 'policy')?.changes).toMatchObject({
      reasonMinLength: { after: 10 },
      invokers: { after: ['responder'] },
      invokerUsers: { after: ['bob'] },
      incidentCheck: { after: { url: 'https://itsm.example/incidents/{incident}', onUnreachable: 'deny', timeoutMs: 3000 } },
    });
    const again = await bed.apply(catalog);
    expect(again.plan.filter((e) => e.kind === 'policy')).toEqual([]);
    const policy = await bed.store.transaction(async (tx) => tx.catalog.findPolicyById((await tx.catalog.findAccountByName('db-ephemeral'))!.policyId));
    expect(policy).toMatchObject({ reasonMinLength: 10, invokers: ['responder'], invokerUsers: ['bob'], incidentCheck: { onUnreachable: 'deny', timeoutMs: 3000 } });
  });
});
