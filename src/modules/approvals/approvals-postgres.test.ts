/**
 * Issue 11 (H1) on PostgreSQL: the policy's approvers rule and a grant's decisions survive the
 * store (migration 0017), and two approvals sent together both count. (This does not force the
 * interleaving that the account lock in `applyDecision` guards against; it passes without it.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStoreDatabase } from '../../../test/support/harness.js';
import { probeTcp, requireService } from '../../../test/support/integration.js';
import { createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Actor } from '../../domain/index.js';
import { createPostgresStore } from '../../store/create-store.js';
import { invoke } from '../grants/invoke.js';
import { approveGrant } from './decide-grant.js';

const postgres = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));

const catalog = `
targets:
  - { name: db, type: exec, command: /dev/null/memory-target }
policies:
  - name: p2
    conditions: [outage]
    approval: { mode: approvers, threshold: 2, approvers: [approver], timeout: 20m }
    escalate: { after: 5m }
    defaultTtl: 15m
    maxTtl: 1h
accounts:
  - { name: db-two, target: db, mode: ephemeral, policy: p2 }
users:
  - { name: frank, roles: [approver] }
  - { name: grace, roles: [approver] }
`;

describe.skipIf(postgres.skip)('approvals on PostgreSQL', () => {
  let bed: TestBed;
  let drop: () => Promise<void>;
  const actor = async (name: string): Promise<Actor> => {
    const user = (await bed.store.transaction((tx) => tx.users.findByName(name)))!;
    return { id: user.id, name: user.name, roles: user.roles };
  };
  beforeEach(async () => {
    const database = await createStoreDatabase();
    drop = database.drop;
    bed = await createTestBed({ store: await createPostgresStore(database.url, { poolSize: 4 }) });
    await bed.apply(catalog);
  });
  afterEach(async () => {
    await bed?.close();
    await drop?.();
  });

  it('the approvers rule and the decisions round-trip; two approvals sent together both count and the grant activates', async () => {
    const policy = await bed.store.transaction(async (tx) => (await tx.catalog.listPolicies()).find((p) => p.name === 'p2'));
    expect(policy).toMatchObject({ approval: { mode: 'approvers' }, approvers: { threshold: 2, approvers: ['approver'], timeoutMs: 20 * 60_000 }, escalateAfterMs: 5 * 60_000 });
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-two', condition: 'outage', reason: 'r', incident: 'INC-1', ttl: '15m' });
    const [frank, grace] = [await actor('frank'), await actor('grace')];
    await Promise.all([approveGrant(bed.ctx, frank, grant.id, 'one'), approveGrant(bed.ctx, grace, grant.id, 'two')]);
    const stored = (await bed.store.transaction((tx) => tx.grants.findById(grant.id)))!;
    expect(stored.state).toBe('active');
    expect(stored.approvals?.map((a) => a.byName).sort()).toEqual(['frank', 'grace']);
    expect(stored.approvals?.[0]?.at).toBeInstanceOf(Date);
  });
});
