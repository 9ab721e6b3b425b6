/**
 * Drills of a dual-control account (issue 10): without its custodians by default (a drill
 * secret of its own, the quorum "not drilled"), and with them on demand (`withQuorum`: the
 * grant waits for k shares presented the normal way). Fake clock, memory target, real crypto.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, bedVaultAccount, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { combineCustodianShares, decodeShare, openWithPrivateKey } from '../../crypto/index.js';
import { asGrantId } from '../../domain/index.js';
import { isAppError } from '../../errors/index.js';
import { custodianSecretAad } from '../custodians/account-secret.js';
import { runCeremony } from '../custodians/ceremony.js';
import { submitShare } from '../custodians/submit-share.js';
import { invoke } from '../grants/invoke.js';
import { reveal } from '../grants/reveal.js';
import { showGrant } from '../grants/show-grant.js';
import { openDrillGrant } from './drill-grant.js';
import { runDrill, type DrillOptions, type QuorumWait } from './run-drill.js';

const allPassed = ['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated'].map((name) => [name, 'passed']);
/** Polls without waiting: the grant's state, on the fake clock, is the only deadline. */
const noWait = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('drills of a dual-control account', () => {
  let bed: TestBed;
  let shares: Record<string, string>;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(`${bedCatalog}${bedVaultAccount}`);
    shares = { ...(await runCeremony(bed.ctx, bed.actors.admin, 'db-vault')).shares };
    bed.clock.advance(2_000);
    await bed.runDue();
    expect(bed.target.account('bg_vault')).toMatchObject({ canLogin: false });
  });
  afterEach(async () => {
    await bed.close();
  });

  /** The secret the store holds for the account, opened as k custodians would (the server cannot). */
  async function storedSecret(holders: readonly ('carol' | 'dave' | 'erin')[]): Promise<string> {
    return bed.store.transaction(async (tx) => {
      const account = (await tx.catalog.findAccountByName('db-vault'))!;
      const key = (await tx.catalog.getCustodianKey(account.id))!;
      const privateKey = await combineCustodianShares(holders.map((h) => decodeShare(shares[h]!).share), key.publicKey);
      return openWithPrivateKey(privateKey, account.secretSealed!, await custodianSecretAad(tx, account, account.secretVersion)).toString('utf8');
    });
  }

  const present = (grantId: string, who: 'carol' | 'dave' | 'erin') => submitShare(bed.ctx, bed.actors[who], grantId, shares[who]!);

  /** Runs a drill with the quorum and hands each wait report to `onWait`, which may present shares. */
  function drillWithQuorum(onWait: (wait: QuorumWait, waits: QuorumWait[]) => void, options: Partial<DrillOptions> = {}) {
    const waits: QuorumWait[] = [];
    const report = runDrill(bed.ctx, bed.actors.admin, 'db-vault', {
      withQuorum: true,
      sleep: noWait,
      onQuorumWait: (w) => {
        waits.push(w);
        onWait(w, waits);
      },
      ...options,
    });
    return { report, waits };
  }

  it('dual control, default: drills without custodians, every step passes, the quorum "not drilled"', async () => {
    const before = bed.target.account('bg_vault')!.secret;
    let drillSecret = '';
    const report = await runDrill(bed.ctx, bed.actors.admin, 'db-vault', {
      onStep: (s) => {
        if (s.name === 'invoke') drillSecret = bed.target.account('bg_vault')!.secret;
      },
    });
    expect(report.steps.map((s) => [s.name, s.result])).toEqual(allPassed);
    expect(report).toMatchObject({ result: 'passed', quorum: 'not drilled' });
    expect(report.custodians).toBeUndefined();
    expect(report.steps.find((s) => s.name === 'login')!.detail).toMatch(/dual control: the stored secret is checked only with --with-quorum/);
    expect(report.steps.find((s) => s.name === 'verify-rotated')!.detail).toMatch(/cannot be opened by the server; the rotation verified it/);
    // A drill secret of its own was set, logged in with, and rotated away.
    expect(drillSecret).not.toBe(before);
    expect(bed.target.account('bg_vault')!.secret).not.toBe(drillSecret);
    expect(bed.target.account('bg_vault')).toMatchObject({ canLogin: false, sessions: 0 });
    expect(await showGrant(bed.ctx, bed.actors.admin, report.grantId!)).toMatchObject({ state: 'closed', drill: true });
    const events = await bed.auditEvents();
    expect(events.find((e) => e.action === 'drill.passed')!.details).toMatchObject({ account: 'db-vault', quorum: 'not drilled', steps: report.steps });
    expect(events.filter((e) => e.action === 'account.drill-secret-staged')).toHaveLength(1);
    expect(events.map((e) => e.action)).not.toContain('grant.quorum-reached');
    // The drill secret and the new one are nowhere in the chain or the logs.
    const written = JSON.stringify(events) + JSON.stringify(bed.logs);
    expect(written).not.toContain(drillSecret);
    expect(written).not.toContain(bed.target.account('bg_vault')!.secret);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('dual control, default: the secret after the drill is sealed to the custodians, and any k shares of the ceremony open it to what the target accepts', async () => {
    await runDrill(bed.ctx, bed.actors.admin, 'db-vault');
    const onTarget = bed.target.account('bg_vault')!.secret;
    // The shares split the account's private key, not the secret: the ceremony's shares still hold.
    expect(await storedSecret(['carol', 'erin'])).toBe(onTarget);
    expect(await storedSecret(['dave', 'carol'])).toBe(onTarget);
    const sealed = (await bed.store.transaction((tx) => tx.catalog.findAccountByName('db-vault')))!.secretSealed!;
    expect(() => bed.ctx.vault.open(sealed, 'anything')).toThrow();
    // And a case after the drill is released by the custodians as before, with that secret.
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-vault', condition: 'outage', reason: 'vault down', incident: 'INC-7', ttl: '15m' });
    await present(grant.id, 'dave');
    expect((await present(grant.id, 'erin')).grant.state).toBe('active');
    expect(bed.target.login('bg_vault', onTarget)).not.toBe('rejected');
  });

  it('dual control, default: the rotation proves the drill secret dead — a target that keeps it fails the rotate step', async () => {
    const connectors = bed.ctx.connectors;
    let rotations = 0;
    const ctx = {
      ...bed.ctx,
      connectors: (target: Parameters<typeof connectors>[0]) => {
        const connector = connectors(target);
        const prestaged = connector.prestaged!;
        // The first rotation (the drill secret) lands; the one after use does not.
        const rotate = (principal: string, secret: string) => (rotations++ === 0 ? prestaged.rotate(principal, secret) : Promise.resolve());
        return { ...connector, prestaged: { ...prestaged, rotate }, close: () => connector.close() };
      },
    };
    const report = await runDrill(ctx, bed.actors.admin, 'db-vault');
    expect(report.result).toBe('failed');
    expect(report.steps.find((s) => s.name === 'rotate')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/not verified \(old accepted, new rejected\)/) });
    expect((await showGrant(bed.ctx, bed.actors.admin, report.grantId!)).state).toBe('rotating');
  });

  it('a drill grant is never revealed: the drill secret of a dual-control account stays the engine\'s', async () => {
    const opened = await openDrillGrant(bed.ctx, bed.actors.admin, 'db-vault', { scheduled: false, withQuorum: false });
    expect(opened.grant.state).toBe('active');
    const refusal = await reveal(bed.ctx, bed.actors.admin, opened.grant.id).catch((e: unknown) => e);
    expect(isAppError(refusal) && refusal.code).toBe('invalid_transition');
    expect(String(refusal)).toMatch(/drill/);
  });

  it('--with-quorum: the drill waits, custodians present their shares concurrently, the drill passes and names them', async () => {
    let presenting: Promise<unknown> | undefined;
    const { report, waits } = drillWithQuorum((w) => {
      presenting ??= Promise.all([present(w.grantId, 'carol'), present(w.grantId, 'dave')]);
    });
    const done = await report;
    await presenting;
    expect(waits[0]).toMatchObject({ presented: 0, threshold: 2 });
    const grant = await showGrant(bed.ctx, bed.actors.admin, done.grantId!);
    expect(waits[0]!.grantId).toBe(done.grantId);
    expect(done.steps.map((s) => [s.name, s.result])).toEqual(allPassed);
    expect(done).toMatchObject({ result: 'passed', quorum: 'drilled' });
    expect([...done.custodians!].sort()).toEqual(['carol', 'dave']);
    expect(done.steps.find((s) => s.name === 'login')!.detail).toBeUndefined();
    expect(grant).toMatchObject({ state: 'closed', drill: true });
    const events = await bed.auditEvents();
    const passed = events.find((e) => e.action === 'drill.passed')!;
    expect(passed.details).toMatchObject({ quorum: 'drilled', custodians: expect.arrayContaining(['carol', 'dave']) });
    expect(events.map((e) => e.action)).not.toContain('account.drill-secret-staged');
    expect(events.filter((e) => e.subject === done.grantId && e.action === 'grant.quorum-reached')).toHaveLength(1);
    // Rotated to a new custodian-sealed secret that k shares open.
    expect(await storedSecret(['dave', 'erin'])).toBe(bed.target.account('bg_vault')!.secret);
  });

  it('--with-quorum: each counted share is told, once', async () => {
    const presented: Promise<unknown>[] = [];
    const { report, waits } = drillWithQuorum((w) => {
      presented.push(present(w.grantId, w.presented === 0 ? 'erin' : 'carol'));
    });
    expect((await report).result).toBe('passed');
    expect((await Promise.all(presented)).map((r) => (r as { presented: number }).presented)).toEqual([1, 2]);
    expect(waits.map((w) => w.presented)).toEqual([0, 1]);
  });

  it('--with-quorum: a secret changed outside Breakglass fails the login and says so', async () => {
    bed.target.plant('bg_vault', 'changed-by-hand-5566778899', { canLogin: false });
    let presenting: Promise<unknown> | undefined;
    const { report } = drillWithQuorum((w) => {
      presenting ??= Promise.all([present(w.grantId, 'carol'), present(w.grantId, 'erin')]);
    });
    const done = await report;
    await presenting;
    expect(done).toMatchObject({ result: 'failed', quorum: 'drilled' });
    expect(done.steps.map((s) => [s.name, s.result])).toEqual([['invoke', 'passed'], ['login', 'failed'], ...['expire', 'verify-revoked', 'rotate', 'verify-rotated'].map((n) => [n, 'skipped'])]);
    expect(done.steps[1]!.detail).toMatch(/changed outside Breakglass/);
    const failed = (await bed.auditEvents()).find((e) => e.action === 'drill.failed')!;
    expect(failed.details).toMatchObject({ quorum: 'drilled', failedStep: 'login', failure: expect.stringMatching(/changed outside Breakglass/) });
    // The normal revocation and rotation follow; a person certifies.
    await bed.runDue();
    expect(await showGrant(bed.ctx, bed.actors.admin, done.grantId!)).toMatchObject({ state: 'awaiting-certification', drill: true });
    expect(await storedSecret(['carol', 'dave'])).toBe(bed.target.account('bg_vault')!.secret);
    expect(JSON.stringify(bed.logs) + JSON.stringify(await bed.auditEvents())).not.toContain('changed-by-hand');
  });

  it('--with-quorum: the window ends before the custodians gather, and the invoke step fails saying so', async () => {
    let expiresAt: Date | undefined;
    let carol: Promise<string> | undefined;
    const sleep = async () => {
      // The quorum window passes on the fake clock; the normal expire job closes it.
      if (expiresAt) bed.clock.set(new Date(expiresAt.getTime() + 1));
      await bed.runDue();
    };
    const { report } = drillWithQuorum(
      (w) => {
        expiresAt = w.expiresAt;
        // One share of two; it may land before the window closes, or be refused after.
        carol ??= present(w.grantId, 'carol').then(() => 'counted', (e: unknown) => (isAppError(e) ? e.code : 'unexpected'));
      },
      { sleep },
    );
    const done = await report;
    expect(['counted', 'invalid_transition']).toContain(await carol);
    expect(done).toMatchObject({ result: 'failed', quorum: 'drilled' });
    expect(done.steps[0]).toMatchObject({ name: 'invoke', result: 'failed', detail: expect.stringMatching(/quorum window closed before 2 custodians presented their shares/) });
    expect(done.steps.slice(1).every((s) => s.result === 'skipped')).toBe(true);
    expect(await showGrant(bed.ctx, bed.actors.admin, done.grantId!)).toMatchObject({ state: 'expired', drill: true });
    expect(bed.target.account('bg_vault')!.canLogin).toBe(false);
    expect((await bed.auditEvents()).find((e) => e.action === 'drill.failed')!.details).toMatchObject({ quorum: 'drilled', failedStep: 'invoke' });
  });

  it('--with-quorum: an abort (the client went away) cancels the drill grant the normal way', async () => {
    const aborter = new AbortController();
    const { report } = drillWithQuorum(() => aborter.abort(), { signal: aborter.signal });
    const done = await report;
    expect(done.steps[0]).toMatchObject({ name: 'invoke', result: 'failed', detail: expect.stringMatching(/client went away/) });
    expect(await showGrant(bed.ctx, bed.actors.admin, done.grantId!)).toMatchObject({ state: 'cancelled' });
    expect(await bed.audit()).toContain('grant.cancelled');
    const late = await present(asGrantId(done.grantId!), 'carol').catch((e: unknown) => e);
    expect(isAppError(late) && late.code).toBe('invalid_transition');
  });

  it('--with-quorum on an account without custodians is refused before anything is opened', async () => {
    const refusal = await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass', { withQuorum: true }).catch((e: unknown) => e);
    expect(isAppError(refusal) && refusal.code).toBe('conflict');
    expect(String(refusal)).toMatch(/no custodian quorum/);
    expect((await bed.audit()).filter((a) => a === 'grant.requested')).toHaveLength(0);
  });
});
