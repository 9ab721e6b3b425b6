/**
 * Adopting an existing login is explicit (hardening issue, point 5): staging never silently takes
 * over a login someone else made, but restages what Breakglass staged itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { runCeremony } from '../custodians/ceremony.js';

const vaultWithOfflineAccess = `  - name: db-vault
    target: db
    mode: prestaged
    user: bg_vault
    policy: p0
    approval: { mode: custodians, threshold: 2, offlineAccess: true }
    custodians: [carol, dave, erin]
`;

describe('adopting an existing login', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  it('adopt: a login that already exists with power of its own is refused unless the account says adopt: true', async () => {
    bed.target.plant('bg_admin', 'someone-elses-password');
    const refused = await bed.apply(bedCatalog);
    const staging = refused.staging.find((s) => s.account === 'db-breakglass');
    expect(staging?.staging).toBe('pending');
    expect(staging?.error).toMatch(/already exists on the target with login.*adopt: true/);
    // Nothing was touched: the owner's password still works, the login still can.
    expect(bed.target.account('bg_admin')).toMatchObject({ secret: 'someone-elses-password', canLogin: true });
    // The background job keeps refusing too: retrying never turns into a takeover.
    bed.clock.advance(5_000);
    await bed.runDue();
    expect(bed.target.account('bg_admin')).toMatchObject({ secret: 'someone-elses-password', canLogin: true });

    const adopted = await bed.apply(bedCatalog.replace('user: bg_admin, policy: p0', 'user: bg_admin, adopt: true, policy: p0'));
    expect(adopted.staging.find((s) => s.account === 'db-breakglass')).toEqual({ account: 'db-breakglass', staging: 'staged' });
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
    expect(bed.target.account('bg_admin')?.secret).not.toBe('someone-elses-password');
  });

  it('adopt: a login that exists but cannot log in is inert and is staged without adopt', async () => {
    bed.target.plant('bg_admin', 'old', { canLogin: false });
    const result = await bed.apply(bedCatalog);
    expect(result.staging.find((s) => s.account === 'db-breakglass')?.staging).toBe('staged');
  });

  it('adopt: a login Breakglass staged itself is staged again without adopt (a new ceremony of an offline-access account)', async () => {
    await bed.apply(`${bedCatalog}${vaultWithOfflineAccess}`);
    await runCeremony(bed.ctx, bed.actors.admin, 'db-vault');
    bed.clock.advance(2_000);
    await bed.runDue();
    // Offline access: the login stands ready between grants, so it looks like anyone's login.
    const first = bed.target.account('bg_vault');
    expect(first?.canLogin).toBe(true);

    await runCeremony(bed.ctx, bed.actors.admin, 'db-vault');
    bed.clock.advance(2_000);
    await bed.runDue();
    const second = bed.target.account('bg_vault');
    expect(second?.canLogin).toBe(true);
    expect(second?.secret).not.toBe(first?.secret);
    const staged = (await bed.auditEvents()).filter((e) => e.action === 'account.staged' && e.subject === 'db-vault');
    expect(staged).toHaveLength(2);
  });

  it('adopt: pointing an account at another existing login is somewhere new, and needs adopt', async () => {
    await bed.apply(bedCatalog);
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);
    bed.target.plant('bg_other', 'theirs');
    const moved = await bed.apply(bedCatalog.replace('user: bg_admin', 'user: bg_other'));
    expect(moved.staging.find((s) => s.account === 'db-breakglass')?.error).toMatch(/adopt: true/);
    expect(bed.target.account('bg_other')).toMatchObject({ secret: 'theirs', canLogin: true });
  });
});
