/**
 * The in-memory fake target passes the same conformance suite as every real connector, so a
 * use-case test that runs on it exercises the contract the real targets keep; then its own
 * test controls (down, injected failures, held calls, counts, native expiry on a given clock).
 */
import { describe, expect, it } from 'vitest';
import { connectorConformance, type LoginResult } from '../../../test/conformance/connector-conformance.js';
import { AppError } from '../../errors/index.js';
import type { Clock } from '../../ports/index.js';
import { createMemoryTarget, type MemorySession } from './memory-target.js';

const HOSTILE_NAMES = [
  `bgt_q"uote`,
  `bgt_it's`,
  `bgt_semi;colon;DROP/**/ROLE/**/admin;--`,
  `bgt_back\\slash\\`,
  `\u0430dmin`, // Cyrillic "а": looks like the admin, is not
  `bgt_$1%s{}[]`,
  `bgt_*~&+@all`,
  `bgt_ünï€😀`,
  'bgt_'.padEnd(128, 'x'),
];
const REJECTED_NAMES = ['', 'bgt_nul\0byte', 'bgt_with space', 'bgt_tab\tx', 'bgt_new\nline', 'bgt_cr\rx', 'bgt_ctl\u0001', 'bgt_nbsp\u00a0x', 'bgt_zw\u200bx', 'bgt_'.padEnd(129, 'x'), 'bgt_\uD800', 'admin'];

const asSession = (login: MemorySession | 'rejected'): LoginResult =>
  login === 'rejected' ? 'rejected' : { alive: () => Promise.resolve(login.alive()), close: () => Promise.resolve(login.close()) };

connectorConformance('memory', async () => {
  const target = createMemoryTarget({ name: 'conformance' });
  const down = createMemoryTarget({ name: 'unreachable' });
  down.setDown(true);
  let n = 0;
  return {
    create: () => target.connector(),
    unreachable: () => down.connector(),
    prestaged: {
      newPrincipal: () => `bgt_c${++n}`,
      login: (principal, secret) => Promise.resolve(asSession(target.login(principal, secret))),
      hostileNames: HOSTILE_NAMES,
      rejectedNames: REJECTED_NAMES,
      plantLogin: (principal, password) => Promise.resolve(target.plant(principal, password)),
      reservedNames: ['admin'],
    },
    ephemeral: {
      spec: () => ({}),
      login: (credential) => Promise.resolve(asSession(target.login(credential.username, credential['password'] ?? ''))),
    },
  };
});

function manualClock(start = new Date('2030-01-01T00:00:00Z')): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms) => void (now += ms) };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error('expected an AppError');
  return error;
}

describe('memory target controls', () => {
  it('a natively bounded credential stops admitting logins at validUntil on the injected clock', async () => {
    const clock = manualClock();
    const target = createMemoryTarget({ clock });
    const ops = target.connector().prestaged!;
    await ops.stage('bg_admin', 'pw-1');
    await ops.enable('bg_admin', new Date(clock.now().getTime() + 60_000));
    clock.advance(59_999);
    expect(target.login('bg_admin', 'pw-1')).not.toBe('rejected');
    clock.advance(1);
    expect(target.login('bg_admin', 'pw-1')).toBe('rejected');
    expect(target.account('bg_admin')).toMatchObject({ canLogin: true, sessions: 1 });
  });

  it('without native expiry the credential stays usable until disabled', async () => {
    const clock = manualClock();
    const target = createMemoryTarget({ clock, capabilities: { supportsNativeExpiry: false } });
    const ops = target.connector().prestaged!;
    await ops.stage('bg_admin', 'pw-1');
    await ops.enable('bg_admin', new Date(clock.now().getTime() + 60_000));
    clock.advance(3_600_000);
    expect(target.login('bg_admin', 'pw-1')).not.toBe('rejected');
    expect((await ops.inspect('bg_admin')).validUntil).toBeUndefined();
  });

  it('without session kill, disable leaves sessions open and inspect cannot tell', async () => {
    const target = createMemoryTarget({ capabilities: { supportsSessionKill: false } });
    const ops = target.connector().prestaged!;
    await ops.stage('bg_admin', 'pw-1');
    await ops.enable('bg_admin', new Date(Date.now() + 60_000));
    const session = target.login('bg_admin', 'pw-1') as MemorySession;
    await ops.disable('bg_admin');
    expect(session.alive()).toBe(true);
    expect(await ops.inspect('bg_admin')).toMatchObject({ canLogin: false, sessions: 0 });
    expect(target.account('bg_admin')?.sessions).toBe(1);
  });

  // issue 12 (P2)
  it('disable and revoke report the live sessions they ended; none when the target cannot kill them', async () => {
    const target = createMemoryTarget();
    const ops = target.connector().prestaged!;
    await ops.stage('bg_admin', 'pw-1');
    await ops.enable('bg_admin', new Date(Date.now() + 60_000));
    const sessions = [target.login('bg_admin', 'pw-1'), target.login('bg_admin', 'pw-1')] as MemorySession[];
    expect(await ops.disable('bg_admin')).toEqual({ sessionsBefore: 2, sessionsEnded: 2 });
    expect(sessions.map((s) => s.alive())).toEqual([false, false]);
    expect(await ops.disable('bg_admin')).toEqual({ sessionsBefore: 0, sessionsEnded: 0 });
    const blind = createMemoryTarget({ capabilities: { supportsSessionKill: false } });
    await blind.connector().prestaged!.stage('bg_admin', 'pw-1');
    await blind.connector().prestaged!.enable('bg_admin', new Date(Date.now() + 60_000));
    blind.login('bg_admin', 'pw-1');
    expect(await blind.connector().prestaged!.disable('bg_admin')).toEqual({ sessionsBefore: 0, sessionsEnded: 0 });
  });

  it('capability flags decide which operations exist', () => {
    const target = createMemoryTarget({ capabilities: { supportsEphemeral: false } });
    const connector = target.connector();
    expect(connector.prestaged).toBeDefined();
    expect(connector.ephemeral).toBeUndefined();
  });

  it('a down target refuses every operation and login; it works again once back', async () => {
    const target = createMemoryTarget();
    const ops = target.connector().prestaged!;
    await ops.stage('bg_admin', 'pw-1');
    target.setDown(true);
    const error = await failure(ops.disable('bg_admin'));
    expect(error).toMatchObject({ code: 'target_unavailable', retryable: true });
    expect(() => target.login('bg_admin', 'pw-1')).toThrow(AppError);
    target.setDown(false);
    await ops.disable('bg_admin');
    expect(target.calls('disable')).toBe(2);
  });

  it('failNext fails exactly the next N calls of one operation', async () => {
    const target = createMemoryTarget();
    const ops = target.connector().prestaged!;
    await ops.stage('bg_admin', 'pw-1');
    target.failNext('inspect', 2);
    target.failNext('verify', 1, new AppError('target_error', 'permission denied'));
    expect((await failure(ops.inspect('bg_admin'))).code).toBe('target_unavailable');
    expect((await failure(ops.verify({ username: 'bg_admin', password: 'pw-1' }))).code).toBe('target_error');
    expect((await failure(ops.inspect('bg_admin'))).code).toBe('target_unavailable');
    expect((await ops.inspect('bg_admin')).exists).toBe(true);
    expect(await ops.verify({ username: 'bg_admin', password: 'pw-1' })).toBe('accepted');
    expect(target.calls('inspect')).toBe(3);
    expect(target.calls()).toBe(6);
  });

  // issue 12 (evidence): verifyDetailed, the verdict with the fake's answer code.
  it('verifyDetailed answers stored-secret-match / -mismatch, works while disabled, and is a verify call for the controls', async () => {
    const target = createMemoryTarget();
    const ops = target.connector().prestaged!;
    await ops.stage('bg_admin', 'pw-1');
    expect(await ops.verifyDetailed!({ username: 'bg_admin', password: 'pw-1' })).toEqual({ verdict: 'accepted', code: 'stored-secret-match' });
    expect(await ops.verifyDetailed!({ username: 'bg_admin', password: 'pw-2' })).toEqual({ verdict: 'rejected', code: 'stored-secret-mismatch' });
    expect(await ops.verifyDetailed!({ username: 'bg_nobody', password: 'pw-1' })).toEqual({ verdict: 'rejected', code: 'stored-secret-mismatch' });
    target.failNext('verify', 1, new AppError('target_error', 'permission denied'));
    expect((await failure(ops.verifyDetailed!({ username: 'bg_admin', password: 'pw-1' }))).code).toBe('target_error');
    expect(target.calls('verify')).toBe(4);
  });

  it('delay holds the next call until released; it then acts on the target as it is', async () => {
    const target = createMemoryTarget();
    const ops = target.connector().prestaged!;
    await ops.stage('bg_admin', 'pw-1');
    let release = () => {};
    const held = target.delay('enable', new Promise<void>((r) => (release = r)));
    const enabling = ops.enable('bg_admin', new Date(Date.now() + 60_000));
    await held.started;
    await ops.disable('bg_admin');
    expect(target.account('bg_admin')?.canLogin).toBe(false);
    release();
    await enabling;
    expect(target.account('bg_admin')?.canLogin).toBe(true);
  });

  it('counts open connectors; a closed connector refuses calls', async () => {
    const target = createMemoryTarget();
    const connector = target.connector();
    expect(target.openConnectors).toBe(1);
    await connector.close();
    await connector.close();
    expect(target.openConnectors).toBe(0);
    expect((await failure(connector.prestaged!.inspect('bg_admin'))).code).toBe('target_error');
  });

  it('issue again replaces the credential and ends sessions of the earlier one', async () => {
    const target = createMemoryTarget();
    const ops = target.connector().ephemeral!;
    const request = { grantId: 'gr_abc123', spec: {}, validUntil: new Date(Date.now() + 60_000) };
    const first = await ops.issue(request);
    const session = target.login(first.username, first['password']!) as MemorySession;
    const second = await ops.issue(request);
    expect(session.alive()).toBe(false);
    expect(second.username).toBe(first.username);
    expect(target.login(first.username, first['password']!)).toBe('rejected');
    expect(target.issued('gr_abc123')).toMatchObject({ canLogin: true, grantId: 'gr_abc123' });
  });
});
