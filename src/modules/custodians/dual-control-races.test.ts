/**
 * Dual control on the test bed: the races a real server makes hard to stage, staged exactly.
 * Shares are plain text here (no recipient keys); the crypto is the real one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, bedVaultAccount, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { combineCustodianShares, decodeShare, openWithPrivateKey } from '../../crypto/index.js';
import { holdsAccount, type Grant } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import { invoke } from '../grants/invoke.js';
import { showGrant } from '../grants/show-grant.js';
import { custodianSecretAad } from './account-secret.js';
import { runCeremony } from './ceremony.js';
import { submitShare } from './submit-share.js';

const catalog = `${bedCatalog}
${bedVaultAccount}`;

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe('dual control races', () => {
  let bed: TestBed;
  let shares: Record<string, string>;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    shares = { ...(await runCeremony(bed.ctx, bed.actors.admin, 'db-vault')).shares };
    bed.clock.advance(2_000);
    await bed.runDue();
    expect(bed.target.account('bg_vault')).toMatchObject({ canLogin: false });
  });
  afterEach(async () => {
    await bed.close();
  });

  const request = () => invoke(bed.ctx, bed.actors.alice, { account: 'db-vault', condition: 'outage', reason: 'vault down', incident: 'INC-9', ttl: '15m' });
  const present = (grant: Grant, who: 'carol' | 'dave' | 'erin') => submitShare(bed.ctx, bed.actors[who], grant.id, shares[who]!);
  const stateOf = async (grant: Grant) => showGrant(bed.ctx, bed.actors.bob, grant.id);

  /** The secret the store holds for the account, opened as k custodians would (the server cannot). */
  async function storedSecret(): Promise<string> {
    return bed.store.transaction(async (tx) => {
      const account = (await tx.catalog.findAccountByName('db-vault'))!;
      const key = (await tx.catalog.getCustodianKey(account.id))!;
      const privateKey = await combineCustodianShares([decodeShare(shares['carol']!).share, decodeShare(shares['erin']!).share], key.publicKey);
      return openWithPrivateKey(privateKey, account.secretSealed!, await custodianSecretAad(tx, account, account.secretVersion)).toString('utf8');
    });
  }

  it('race: two custodians presenting the last shares together release exactly once', async () => {
    const grant = await request();
    expect(grant.state).toBe('awaiting-quorum');
    const receipts = await Promise.all([present(grant, 'carol'), present(grant, 'dave')]);
    expect(receipts.map((r) => r.presented).sort()).toEqual([1, 2]);
    const releasing = receipts.find((r) => r.presented === 2)!;
    expect(releasing.grant.state).toBe('active');
    expect((await stateOf(grant)).state).toBe('active');
    expect(bed.target.account('bg_vault')?.canLogin).toBe(true);
    const actions = (await bed.auditEvents()).filter((e) => e.subject === grant.id).map((e) => e.action);
    expect(actions.filter((a) => a === 'grant.share-presented')).toHaveLength(2);
    expect(actions.filter((a) => a === 'grant.quorum-reached')).toHaveLength(1);
    // A third share after the release counts for nothing.
    expect((await refusal(present(grant, 'erin'))).code).toBe('invalid_transition');
  });

  it('a share whose audit event cannot be written does not count', async () => {
    const grant = await request();
    const append = bed.ctx.audit.append.bind(bed.ctx.audit);
    let fail = true;
    (bed.ctx.audit as { append: typeof append }).append = (tx, entry) =>
      fail && entry.action === 'grant.share-presented' ? Promise.reject(new AppError('audit_failed', 'disk full')) : append(tx, entry);
    expect((await refusal(present(grant, 'carol'))).code).toBe('audit_failed');
    fail = false;
    expect((await present(grant, 'dave')).presented).toBe(1);
    expect((await stateOf(grant)).state).toBe('awaiting-quorum');
    expect((await present(grant, 'carol')).grant.state).toBe('active');
  });

  it('race: a failed activation holds the account against a ceremony until its cleanup is verified', async () => {
    const grant = await request();
    await present(grant, 'carol');
    // The enable fails, and the target then goes down: the cleanup cannot be verified yet.
    bed.target.failNext('enable', 1, new AppError('target_error', 'permission denied'));
    await refusal(present(grant, 'dave'));
    bed.target.setDown(true);
    await bed.runDue();
    const failed = await stateOf(grant);
    expect(failed).toMatchObject({ state: 'failed', revokedAt: undefined });
    expect(holdsAccount(failed)).toBe(true);

    const refused = await refusal(runCeremony(bed.ctx, bed.actors.admin, 'db-vault'));
    expect(refused.code).toBe('conflict');
    expect(refused.message).toContain(grant.id);
    expect((await refusal(request())).code).toBe('conflict');

    // The target is back: the cleanup disables, rotates the released secret away, and frees the account.
    bed.target.setDown(false);
    bed.clock.advance(120_000);
    await bed.runDue();
    const cleaned = await stateOf(grant);
    expect(cleaned.revokedAt).toBeDefined();
    expect(holdsAccount(cleaned)).toBe(false);
    const secret = await storedSecret();
    const ops = bed.target.connector().prestaged!;
    expect(await ops.verify({ username: 'bg_vault', password: secret })).toBe('accepted');
    expect(bed.target.account('bg_vault')?.canLogin).toBe(false);
    // Now a ceremony may run, and the account is staged again under the new key.
    shares = { ...(await runCeremony(bed.ctx, bed.actors.admin, 'db-vault')).shares };
    await bed.runDue();
    expect(await ops.verify({ username: 'bg_vault', password: await storedSecret() })).toBe('accepted');
    expect(await bed.verify()).toMatchObject({ ok: true });
  });
});
