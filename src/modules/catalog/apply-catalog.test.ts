/**
 * The catalog is declarative and its changes are evidence (issue 7, points 4 and 6), on the
 * test bed: retire what the file no longer lists, refuse that while a case holds it, a dry run
 * that changes nothing, one audit event per changed object with a field diff, and an admin
 * password that stays bound to the connection it was given for.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { AppError } from '../../errors/index.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { listAccounts } from './list-accounts.js';

const withPassword = (catalog: string, password: string) => catalog.replace('command: /dev/null/memory-target', `command: /dev/null/memory-target\n    password: ${password}`);
const withoutEphemeral = bedCatalog.replace('  - { name: db-ephemeral, target: db, mode: ephemeral, policy: p0 }\n', '');

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe('a declarative catalog whose changes are evidence', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(withPassword(bedCatalog, 'first-admin-secret'));
  });
  afterEach(async () => {
    await bed.close();
  });

  const names = async () => (await listAccounts(bed.ctx, bed.actors.admin)).map((a) => a.name);
  const eventsOf = async (action: string) => (await bed.auditEvents()).filter((e) => e.action === action);

  it('the catalog is declarative: an account the file no longer lists is retired, audited, and cannot be invoked', async () => {
    const result = await bed.apply(withPassword(withoutEphemeral, 'first-admin-secret'));
    expect(result.plan).toEqual([{ kind: 'account', name: 'db-ephemeral', op: 'remove', changes: expect.any(Object) as unknown }]);
    expect(await names()).toEqual(['db-breakglass']);
    const refused = await refusal(invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'r', incident: 'INC-1', ttl: '5m' }));
    expect(refused.code).toBe('not_found');
    expect((await eventsOf('account.retired')).map((e) => e.subject)).toEqual(['db-ephemeral']);
    // Declared again, it comes back.
    await bed.apply(withPassword(bedCatalog, 'first-admin-secret'));
    expect(await names()).toEqual(['db-breakglass', 'db-ephemeral']);
  });

  it('retiring an account is refused while one of its cases is open, naming the case', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'r', incident: 'INC-1', ttl: '5m' });
    const refused = await refusal(bed.apply(withPassword(withoutEphemeral, 'first-admin-secret')));
    expect(refused.code).toBe('conflict');
    expect(refused.message).toContain(grant.id);
    expect(await names()).toEqual(['db-breakglass', 'db-ephemeral']);
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await bed.runDue();
    await bed.apply(withPassword(withoutEphemeral, 'first-admin-secret'));
    expect(await names()).toEqual(['db-breakglass']);
  });

  it('apply --dry-run answers the plan per object and field and changes nothing', async () => {
    const chain = (await bed.audit()).length;
    const changed = withPassword(withoutEphemeral, 'first-admin-secret').replace('maxTtl: 1h', 'maxTtl: 2h');
    const result = await bed.ctx.store.transaction((tx) => tx.catalog.listPolicies());
    const dry = await bed.apply(changed, bed.actors.admin, { dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.plan).toEqual([
      { kind: 'policy', name: 'p0', op: 'change', changes: { maxTtlMs: { before: 3_600_000, after: 7_200_000 } } },
      { kind: 'account', name: 'db-ephemeral', op: 'remove', changes: expect.any(Object) as unknown },
    ]);
    expect(await bed.ctx.store.transaction((tx) => tx.catalog.listPolicies())).toEqual(result);
    expect(await names()).toEqual(['db-breakglass', 'db-ephemeral']);
    expect((await bed.audit()).length).toBe(chain);
  });

  it('catalog changes are evidence: a raised maxTtl, a new admin, a removed incidentPattern and a redirected target each leave a diff', async () => {
    const changed = withPassword(bedCatalog, 'second-admin-secret')
      .replace('maxTtl: 1h', 'maxTtl: 4h')
      .replace("    incidentPattern: '^INC-[0-9]+$'\n", '')
      .replace('command: /dev/null/memory-target', 'command: /dev/null/elsewhere')
      .concat('users:\n  - { name: alice, roles: [responder, admin] }\n');
    await bed.apply(changed);
    const [policy] = await eventsOf('policy.changed');
    expect(policy?.details['changes']).toEqual({
      incidentPattern: { before: '^INC-[0-9]+$', after: null },
      maxTtlMs: { before: 3_600_000, after: 14_400_000 },
    });
    const [user] = await eventsOf('user.changed');
    expect(user).toMatchObject({ subject: 'alice', details: { changes: { roles: { before: ['responder'], after: ['responder', 'admin'] } } } });
    const [target] = await eventsOf('target.changed');
    expect(target?.details['changes']).toEqual({
      password: 'changed',
      settings: { before: { command: '/dev/null/memory-target' }, after: { command: '/dev/null/elsewhere' } },
    });
    // Secrets only ever as "changed".
    const text = JSON.stringify(await bed.auditEvents());
    for (const secret of ['first-admin-secret', 'second-admin-secret']) expect(text).not.toContain(secret);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('secrets stay bound to their target: a changed connection without the password again is refused, naming the path', async () => {
    const redirected = bedCatalog.replace('command: /dev/null/memory-target', 'command: /dev/null/elsewhere');
    const refused = await refusal(bed.apply(redirected));
    expect(refused).toMatchObject({ code: 'validation', path: 'targets[0].passwordEnv' });
    expect(refused.message).toContain('give it again');
    // The same connection keeps its stored password when the file gives none.
    const kept = await bed.apply(bedCatalog);
    expect(kept.plan).toEqual([]);
  });
});
