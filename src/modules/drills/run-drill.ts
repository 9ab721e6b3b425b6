import { authorize, type Actor, type GrantId } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { AccountRecord, Connector, Credential, PrestagedOperations, VerifyResult } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadCase, loadGrant, type Case } from '../grants/grant-store.js';
import { revokeGrant } from '../jobs/revoke-grant.js';
import { rotateGrant } from '../jobs/rotate-grant.js';
import { ephemeralOps, openAccountSecret, prestagedOps, withConnector } from '../targets.js';
import { openGrantCredential, releasedPassword } from '../grants/grant-credential.js';
import { openDrillGrant } from './drill-grant.js';
import { awaitQuorum, quorumCustodians, QuorumNotReached, type QuorumWaitOptions } from './drill-quorum.js';

export type { QuorumWait } from './drill-quorum.js';

export const drillStepNames = ['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated'] as const;
export type DrillStepName = (typeof drillStepNames)[number];

/** One step of a drill and how long it took (ms on the context's clock). */
export interface DrillStep {
  readonly name: DrillStepName;
  readonly result: 'passed' | 'failed' | 'skipped';
  readonly ms: number;
  /** Why it failed, or what a passed step could not prove (never a secret). */
  readonly detail?: string;
}

/** A dual-control account's custodian quorum: drilled (`--with-quorum`) or not (the default). */
export type DrillQuorum = 'drilled' | 'not drilled';

export interface DrillReport {
  readonly account: string;
  readonly grantId: GrantId | undefined;
  readonly result: 'passed' | 'failed';
  readonly steps: readonly DrillStep[];
  /** Dual-control accounts only: whether the custodians' quorum was part of the drill. */
  readonly quorum?: DrillQuorum;
  /** With the quorum drilled: who presented the shares that released the grant (names only). */
  readonly custodians?: readonly string[];
}

export interface DrillOptions extends QuorumWaitOptions {
  /**
   * Drill the custodian quorum too (dual-control accounts): the grant waits in
   * `awaiting-quorum` until k custodians present their shares (`onQuorumWait` tells the
   * progress). Without it a dual-control account drills with a secret of the drill's own.
   */
  readonly withQuorum?: boolean;
  /** Set by the scheduler: the drill was due, nobody asked for it now. */
  readonly scheduled?: boolean;
  /** Told of each step as it ends (live progress). */
  readonly onStep?: (step: DrillStep) => void;
}

/** A step failed: the drill stops there, records why and ends the grant. */
class StepFailed extends Error {}

/**
 * Runs the real path of a case end to end on one account, as evidence that it works: invoke →
 * log in with the stored secret (a real login where the connector has `tryLogin`, else
 * `verify`) → end the grant → the credential rejected and no live session → the normal
 * rotation → the old secret rejected and the new one accepted. An ephemeral account logs in
 * with the credential issued for the drill; its rotation steps are `skipped` (nothing to rotate). One audit event, `drill.passed`
 * or `drill.failed`, carries the steps with their durations; a passed drill certifies its own
 * grant (`grant.drill-certified`). A failed one leaves its grant to the normal revocation and
 * rotation and to a person's certification.
 *
 * @example const report = await runDrill(ctx, admin, 'db-breakglass');
 */
export async function runDrill(ctx: ModuleContext, actor: Actor, accountName: string, options: DrillOptions = {}): Promise<DrillReport> {
  const quorum = await refuseUndrillable(ctx, actor, accountName, options);
  const steps: DrillStep[] = [];
  let grantId: GrantId | undefined;
  let custodians: string[] | undefined;
  const step = async <T>(name: DrillStepName, work: () => Promise<T>, note?: string): Promise<T> => {
    const started = ctx.clock.now().getTime();
    const done = (result: DrillStep['result'], detail?: string) => {
      const entry: DrillStep = { name, result, ms: ctx.clock.now().getTime() - started, ...(detail === undefined ? {} : { detail }) };
      steps.push(entry);
      options.onStep?.(entry);
    };
    try {
      const value = await work();
      done('passed', note);
      return value;
    } catch (error) {
      const told = error instanceof AppError || error instanceof StepFailed || error instanceof QuorumNotReached;
      done('failed', told ? error.message : 'unexpected error');
      throw new StepFailed(name);
    }
  };
  try {
    const opened = await step('invoke', async () => {
      const drill = await openDrillGrant(ctx, actor, accountName, { scheduled: options.scheduled === true, withQuorum: quorum === 'drilled' });
      grantId = drill.grant.id;
      if (drill.grant.state !== 'awaiting-quorum') return drill;
      const active = await awaitQuorum(ctx, actor, drill.grant.id, drill.account.quorum?.threshold ?? 0, options);
      custodians = await quorumCustodians(ctx, drill.grant.id, drill.requestedSeq);
      return active;
    });
    const skip = (name: DrillStepName, detail: string) => {
      const entry: DrillStep = { name, result: 'skipped', ms: 0, detail };
      steps.push(entry);
      options.onStep?.(entry);
    };
    await (opened.account.mode === 'prestaged' ? drillCase(ctx, opened, step, quorum) : drillEphemeral(ctx, opened, step, skip));
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    for (const name of drillStepNames.slice(steps.length)) steps.push({ name, result: 'skipped', ms: 0 });
  }
  // Skipped without a failure: steps that do not apply (an ephemeral credential is not rotated).
  const passed = !steps.some((s) => s.result === 'failed');
  const evidence = { ...(quorum === undefined ? {} : { quorum }), ...(custodians === undefined ? {} : { custodians }) };
  await record(ctx, actor, accountName, grantId, passed, steps, evidence);
  return { account: accountName, grantId, result: passed ? 'passed' : 'failed', steps, ...evidence };
}

/**
 * The authorization, then what no drill can do, before anything is opened. Returns whether a
 * dual-control account's quorum is drilled (undefined: the account has none).
 */
async function refuseUndrillable(ctx: ModuleContext, actor: Actor, accountName: string, options: DrillOptions): Promise<DrillQuorum | undefined> {
  const account = await ctx.store.transaction((tx) => tx.catalog.findAccountByName(accountName));
  authorize(actor, 'drill.run', {});
  if (!account) throw appError.notFound(`account "${accountName}"`);
  if (account.quorum) return options.withQuorum === true ? 'drilled' : 'not drilled';
  if (options.withQuorum === true) throw appError.conflict(`account "${account.name}" has no custodian quorum to drill; drill it without --with-quorum`);
  return undefined;
}

type Step = <T>(name: DrillStepName, work: () => Promise<T>, note?: string) => Promise<T>;

async function drillCase(ctx: ModuleContext, { grant, account, target }: Case, step: Step, quorum: DrillQuorum | undefined): Promise<void> {
  const ops = <T>(work: (ops: PrestagedOperations) => Promise<T>) => withConnector(ctx, target, (c) => work(prestagedOps(c, target)));
  const login = (o: PrestagedOperations, credential: Credential): Promise<VerifyResult> => (o.tryLogin ?? o.verify).call(o, credential);
  // A dual-control secret is closed to the server: the one this grant carries (released by the
  // custodians, or the drill's own) is what logs in, and what the rotation must prove dead.
  const oldSecret = quorum === undefined ? openAccountSecret(ctx, account) : await ctx.store.transaction((tx) => releasedPassword(ctx, tx, grant.id));
  const credential = { username: account.principal, password: oldSecret ?? '' };
  const ownSecret = quorum === 'not drilled';
  await loginThenExpire(
    ctx,
    grant.id,
    step,
    () => {
      if (oldSecret === undefined) throw new StepFailed(`grant ${grant.id} carries no secret of "${account.name}" to log in with`);
      return ops((o) => login(o, credential));
    },
    {
      refused: ownSecret
        ? `the drill secret just set on "${target.name}" does not log in as "${account.name}": the account was not enabled, or the target did not keep the secret`
        : `the stored secret of "${account.name}" does not log in on "${target.name}": it was changed outside Breakglass, or the account was not enabled`,
      revoked: ['rotating', 'awaiting-certification'],
      ...(ownSecret ? { note: 'dual control: the stored secret is checked only with --with-quorum (the drill logged in with a secret of its own)' } : {}),
    },
  );
  await step('verify-revoked', async () => {
    // Without a real login only the target's own account of itself counts: `verify` accepts a
    // right secret on a disabled account, which is no failure.
    const [verdict, inspection] = await ops(async (o) => [o.tryLogin ? await login(o, credential) : 'rejected', await o.inspect(account.principal)] as const);
    if (verdict !== 'rejected') throw new StepFailed(`the credential of "${account.name}" still logs in after the end of the grant`);
    if (inspection.canLogin || inspection.sessions > 0) {
      throw new StepFailed(`"${account.name}" on "${target.name}" after the end: canLogin=${inspection.canLogin}, sessions=${inspection.sessions}`);
    }
  });
  await step('rotate', async () => {
    await rotateGrant(ctx, grant.id);
    // Reached only through `rotation-verified`, which rotateGrant writes once the target rejected the old secret and accepted the new one.
    await expectState(ctx, grant.id, ['awaiting-certification'], 'rotation not verified');
  });
  const sealedToCustodians =
    'dual control: the new secret is sealed to the custodians\' key and cannot be opened by the server; the rotation verified it accepted and the old one rejected (grant.rotation-verified)';
  await step(
    'verify-rotated',
    async () => {
      const rotated = await reloadAccount(ctx, account);
      if (rotated.secretVersion === account.secretVersion) throw new StepFailed(`the secret version of "${account.name}" did not change`);
      if (quorum !== undefined) {
        const oldVerdict = await ops((o) => o.verify(credential));
        if (oldVerdict !== 'rejected') throw new StepFailed(`after rotation: old secret ${oldVerdict}`);
        return;
      }
      const newSecret = openAccountSecret(ctx, rotated);
      const [oldVerdict, newVerdict] = await ops(async (o) => [await o.verify(credential), await o.verify({ ...credential, password: newSecret })] as const);
      if (oldVerdict !== 'rejected' || newVerdict !== 'accepted') throw new StepFailed(`after rotation: old secret ${oldVerdict}, new secret ${newVerdict}`);
    },
    quorum === undefined ? undefined : sealedToCustodians,
  );
}

/**
 * An ephemeral account: the credential issued for the drill's grant logs in (through the
 * connector's real login of its pre-staged side, or its `verify`), is destroyed at the end and
 * then rejected; there is nothing to rotate.
 */
async function drillEphemeral(ctx: ModuleContext, { grant, account, target }: Case, step: Step, skip: (name: DrillStepName, detail: string) => void): Promise<void> {
  const request = { grantId: grant.id, spec: account.spec };
  const issued = await ctx.store.transaction((tx) => openGrantCredential(ctx, tx, grant.id));
  const password = issued?.['password'];
  const credential = { username: issued?.username ?? '', password: typeof password === 'string' ? password : '' };
  const login = (c: Connector): Promise<VerifyResult> => {
    // A connector that logs in with what it issued (SSH: key and certificate) does so itself.
    const e = ephemeralOps(c, target);
    if (e.tryLoginIssued) {
      if (!issued) throw new StepFailed(`no credential was issued for the drill's grant`);
      return e.tryLoginIssued(request, issued);
    }
    const o = c.prestaged;
    if (!o || credential.password === '') throw new StepFailed(`targets of type ${target.type} offer no login with an issued credential to drill`);
    return (o.tryLogin ?? o.verify).call(o, credential);
  };
  await loginThenExpire(ctx, grant.id, step, () => withConnector(ctx, target, login), {
    refused: `the credential issued for the drill does not log in on "${target.name}"`,
    revoked: ['awaiting-certification'],
  });
  await step('verify-revoked', async () => {
    const [verdict, inspection] = await withConnector(ctx, target, async (c) => [await login(c), await ephemeralOps(c, target).inspectIssued(request)] as const);
    if (verdict !== 'rejected') throw new StepFailed(`the credential issued for the drill still logs in after the end of the grant`);
    if ((inspection.exists && inspection.canLogin) || inspection.sessions > 0) {
      throw new StepFailed(`the drill's credential on "${target.name}" after the end: exists=${inspection.exists}, canLogin=${inspection.canLogin}, sessions=${inspection.sessions}`);
    }
  });
  skip('rotate', 'ephemeral: the credential no longer exists, nothing to rotate');
  skip('verify-rotated', 'ephemeral: nothing was rotated');
}

/**
 * The `login` step (a refused login ends the grant at once, so the normal revocation follows)
 * and the `expire` step: the grant ended and its revocation verified by the normal job handler.
 */
async function loginThenExpire(
  ctx: ModuleContext,
  id: GrantId,
  step: Step,
  login: () => Promise<VerifyResult>,
  expect: { refused: string; revoked: readonly string[]; note?: string },
): Promise<void> {
  try {
    await step(
      'login',
      async () => {
        if ((await login()) !== 'accepted') throw new StepFailed(expect.refused);
      },
      expect.note,
    );
  } catch (error) {
    await endDrillGrant(ctx, id);
    throw error;
  }
  await step('expire', async () => {
    await endDrillGrant(ctx, id);
    await revokeGrant(ctx, id);
    await expectState(ctx, id, expect.revoked, 'revocation not verified');
  });
}

/** Ends the drill's grant if it is still active; the normal revocation (job) follows. */
async function endDrillGrant(ctx: ModuleContext, id: GrantId): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    if (grant.state !== 'active') return;
    await applyEvent(ctx, tx, grant, { type: 'end' }, 'system', { drill: true });
    await tx.jobs.schedule({ kind: 'revoke', grantId: id, dueAt: ctx.clock.now() });
  });
  ctx.wake();
}

async function expectState(ctx: ModuleContext, id: GrantId, states: readonly string[], what: string): Promise<void> {
  const { state } = await ctx.store.transaction((tx) => loadGrant(tx, id));
  if (!states.includes(state)) throw new StepFailed(`${what} (grant ${id} is ${state})`);
}

async function reloadAccount(ctx: ModuleContext, account: AccountRecord): Promise<AccountRecord> {
  const found = await ctx.store.transaction((tx) => tx.catalog.findAccountById(account.id));
  if (!found) throw appError.notFound(`account "${account.name}"`);
  return found;
}

/** The evidence: one audit event with every step; a passed drill certifies its grant in the same transaction. */
async function record(
  ctx: ModuleContext,
  actor: Actor,
  account: string,
  grantId: GrantId | undefined,
  passed: boolean,
  steps: readonly DrillStep[],
  evidence: Pick<DrillReport, 'quorum' | 'custodians'>,
): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    if (passed && grantId !== undefined) {
      const { grant } = await loadCase(tx, grantId);
      await applyEvent(ctx, tx, grant, { type: 'drill-certified' }, 'system', { drill: true });
    }
    const failed = steps.find((s) => s.result === 'failed');
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: passed ? 'drill.passed' : 'drill.failed',
      subject: grantId ?? account,
      details: { account, ...evidence, steps: steps.map((s) => ({ ...s })), ...(failed ? { failedStep: failed.name, failure: failed.detail ?? '' } : {}) },
    });
  });
}
