import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, bedVaultAccount, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Actor } from '../../domain/index.js';
import { invoke } from '../grants/invoke.js';
import { kitDocument } from './kit.js';
import { runCeremony } from './ceremony.js';
import { submitShare } from './submit-share.js';

const catalog = `${bedCatalog}${bedVaultAccount}  - name: db-vault-2
    target: db
    mode: prestaged
    user: bg_vault2
    policy: p0
    approval: { mode: custodians, threshold: 2 }
    custodians: [dave, erin, frank]
users:
  - { name: admin, roles: [admin] }
  - { name: alice, roles: [responder] }
  - { name: mallory, roles: [responder] }
  - { name: bob, roles: [incident-owner] }
  - { name: carol, roles: [custodian] }
  - { name: dave, roles: [custodian] }
  - { name: erin, roles: [custodian] }
  - { name: frank, roles: [custodian] }
`;
const ask = { condition: 'outage', reason: 'db down', incident: 'INC-1', ttl: '15m' };
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'allowed', (error: unknown) => (error as { code: string }).code);

describe('authorize before you answer', () => {
  let bed: TestBed;
  let mallory: Actor;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    for (const account of ['db-vault', 'db-vault-2']) await runCeremony(bed.ctx, bed.actors.admin, account);
    bed.clock.advance(2_000);
    await bed.runDue();
    const user = (await bed.store.transaction((tx) => tx.users.findByName('mallory')))!;
    mallory = { id: user.id, name: user.name, roles: user.roles };
  });
  afterEach(async () => {
    await bed.close();
  });

  it('authorize before you answer: a share for a case one may not see is "not found", whatever its state', async () => {
    const active = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-ephemeral' });
    const waiting = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-vault' });
    // Not waiting for custodians, or waiting: the same answer as for no case at all.
    expect(await codeOf(submitShare(bed.ctx, mallory, active.id, 'bgshare1.x'))).toBe('not_found');
    expect(await codeOf(submitShare(bed.ctx, mallory, waiting.id, 'bgshare1.x'))).toBe('not_found');
    expect(await codeOf(submitShare(bed.ctx, mallory, 'gr_nothere', 'bgshare1.x'))).toBe('not_found');
    // Someone who sees the case but is not its custodian is refused, and the state stays untold.
    expect(await codeOf(submitShare(bed.ctx, bed.actors.bob, active.id, 'bgshare1.x'))).toBe('forbidden');
    // The tries on real cases are on the record.
    expect((await bed.audit()).filter((action) => action === 'grant.share-refused')).toHaveLength(3);
  });

  it('authorize before you answer: custodians read the kit only of accounts that name them', async () => {
    expect((await kitDocument(bed.ctx, bed.actors.carol, 'db-vault')).account).toBe('db-vault');
    expect(await codeOf(kitDocument(bed.ctx, bed.actors.carol, 'db-vault-2'))).toBe('forbidden');
    expect((await kitDocument(bed.ctx, bed.actors.admin, 'db-vault-2')).account).toBe('db-vault-2');
    expect(await codeOf(kitDocument(bed.ctx, mallory, 'db-vault'))).toBe('forbidden');
  });
});
