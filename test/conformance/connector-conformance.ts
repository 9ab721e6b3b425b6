/**
 * The one conformance suite every connector passes against its real server (DESIGN.md §7).
 * A connector's test file calls `connectorConformance(...)` with a setup that knows how to
 * reach the real server and how to log in as an account for real.
 *
 * @example
 *   connectorConformance('redis', async () => ({ create: ..., unreachable: ..., prestaged: {...} }));
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/index.js';
import type { AccountSpec, Connector, RevealedCredential, SessionsEnded } from '../../src/ports/index.js';

/** A real login on the target, kept open to prove that revocation ends it. */
export interface Session {
  /** Does the session still work (runs a trivial command)? */
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

export type LoginResult = Session | 'rejected';

export interface ConformanceSetup {
  /** A connector to the real server (timeout as given, default 5 s). */
  create(options?: { timeoutMs?: number }): Connector;
  /** The same connector type pointed at a closed port on 127.0.0.1 with timeoutMs 1000. */
  unreachable(): Connector;
  prestaged?: {
    /** A fresh, unused principal name for one test. */
    newPrincipal(): string;
    spec?(principal: string): AccountSpec;
    login(principal: string, secret: string): Promise<LoginResult>;
    /** Names that must work end to end, quoted safely, never executed. */
    hostileNames: readonly string[];
    /** Names that must be refused with AppError('validation') and change nothing. */
    rejectedNames: readonly string[];
    /**
     * Makes a login directly on the server, as someone other than Breakglass would: it exists,
     * can log in with `password` now. Staging must not take it over unless adopted.
     */
    plantLogin?(principal: string, password: string): Promise<void>;
    /** Logins the target reserves (its admin, system users): stage refuses them even when adopting. */
    reservedNames?: readonly string[];
  };
  ephemeral?: {
    spec(): AccountSpec;
    login(credential: RevealedCredential): Promise<LoginResult>;
  };
  teardown?(): Promise<void>;
}

let counter = 0;
const grantId = () => `gr_conf${Date.now().toString(36)}${(counter++).toString(36)}`;
const secret = (tag: string) => `S3cret-${tag}-${Math.random().toString(36).slice(2, 12)}-x`;

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw new Error(`expected an AppError, got ${inspect(error)}`);
  }
  throw new Error('expected the call to fail');
}

// issue 12 (evidence): a connector that can end sessions says how many it found and ended.
/**
 * With one live session open when `disable`/`revoke` ran: at least one seen, every one seen
 * ended. A connector that declares `supportsSessionKill` and returns nothing fails here.
 */
function expectOneSessionEnded(ended: SessionsEnded | void, what: string): void {
  expect(ended, `${what} must return {sessionsBefore, sessionsEnded} when supportsSessionKill is true`).toMatchObject({ sessionsBefore: expect.any(Number), sessionsEnded: expect.any(Number) });
  const { sessionsBefore, sessionsEnded } = ended as SessionsEnded;
  expect(sessionsBefore, `${what}: sessionsBefore`).toBeGreaterThanOrEqual(1);
  expect(sessionsEnded, `${what}: sessionsEnded`).toBe(sessionsBefore);
}

async function expectAlive(login: LoginResult): Promise<Session> {
  expect(login, 'login should be accepted').not.toBe('rejected');
  const session = login as Session;
  expect(await session.alive()).toBe(true);
  return session;
}

/** Captures everything written to stdout/stderr and console while a connector works. */
function captureOutput(): { text(): string; restore(): void } {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const grab = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  return {
    text: () => chunks.join(''),
    restore() {
      process.stdout.write = out;
      process.stderr.write = err;
    },
  };
}

export function connectorConformance(name: string, makeSetup: () => Promise<ConformanceSetup>, options: { skip?: boolean } = {}): void {
  describe.skipIf(options.skip ?? false)(`${name} connector conformance`, () => {
    let setup: ConformanceSetup;
    let connector: Connector;
    const secretsUsed: string[] = [];
    let output: ReturnType<typeof captureOutput> | undefined;
    const remember = (s: string) => (secretsUsed.push(s), s);

    beforeAll(async () => {
      setup = await makeSetup();
      connector = setup.create();
      output = captureOutput();
    });
    afterAll(async () => {
      output?.restore();
      await connector?.close();
      await setup?.teardown?.();
    });

    it('declares capabilities that match the operations it offers', () => {
      expect(connector.capabilities.supportsPrestaged).toBe(connector.prestaged !== undefined);
      expect(connector.capabilities.supportsEphemeral).toBe(connector.ephemeral !== undefined);
      expect(Boolean(setup.prestaged)).toBe(connector.capabilities.supportsPrestaged);
      expect(Boolean(setup.ephemeral)).toBe(connector.capabilities.supportsEphemeral);
    });

    it('an unreachable target fails fast with a retryable target_unavailable', async () => {
      const down = setup.unreachable();
      try {
        const started = Date.now();
        const call = down.prestaged
          ? down.prestaged.inspect('bg_nobody')
          : down.ephemeral!.inspectIssued({ grantId: grantId(), spec: setup.ephemeral!.spec() });
        const error = await thrown(call);
        expect(error.code).toBe('target_unavailable');
        expect(error.retryable).toBe(true);
        expect(Date.now() - started).toBeLessThan(4_000);
      } finally {
        await down.close();
      }
    });

    describe('pre-staged', () => {
      const ops = () => connector.prestaged!;
      const p = () => setup.prestaged!;
      const spec = (principal: string) => p().spec?.(principal) ?? {};
      const itIf = (title: string, fn: (ctx: { skip(): void }) => Promise<void>) => it(title, async (ctx) => {
        if (!setup.prestaged) return ctx.skip();
        await fn(ctx);
      });

      itIf('stage creates a disabled account whose secret verifies but cannot log in', async () => {
        const principal = p().newPrincipal();
        const s = remember(secret('stage'));
        await ops().stage(principal, s, spec(principal));
        await ops().stage(principal, s, spec(principal)); // idempotent
        expect(await ops().inspect(principal)).toMatchObject({ exists: true, canLogin: false, sessions: 0 });
        expect(await p().login(principal, s)).toBe('rejected');
        expect(await ops().verify({ username: principal, password: s })).toBe('accepted');
        expect(await ops().verify({ username: principal, password: 'not-the-secret-1A-' })).toBe('rejected');
      });

      itIf('enable lets the account log in, natively bounded where the target can', async () => {
        const principal = p().newPrincipal();
        const s = remember(secret('enable'));
        await ops().stage(principal, s, spec(principal));
        const until = new Date(Date.now() + 600_000);
        await ops().enable(principal, until);
        const session = await expectAlive(await p().login(principal, s));
        const seen = await ops().inspect(principal);
        expect(seen.canLogin).toBe(true);
        if (connector.capabilities.supportsNativeExpiry) expect(Math.abs((seen.validUntil?.getTime() ?? 0) - until.getTime())).toBeLessThan(2_000);
        await session.close();
        await ops().disable(principal);
      });

      itIf('disable blocks new logins and ends live sessions where the target can', async () => {
        const principal = p().newPrincipal();
        const s = remember(secret('disable'));
        await ops().stage(principal, s, spec(principal));
        await ops().enable(principal, new Date(Date.now() + 600_000));
        const session = await expectAlive(await p().login(principal, s));
        const ended = await ops().disable(principal);
        await ops().disable(principal); // idempotent
        expect(await p().login(principal, s)).toBe('rejected');
        const seen = await ops().inspect(principal);
        expect(seen.canLogin).toBe(false);
        if (connector.capabilities.supportsSessionKill) {
          expect(await session.alive()).toBe(false);
          expect(seen.sessions).toBe(0);
          expectOneSessionEnded(ended, 'disable');
        }
        await session.close();
      });

      itIf('rotate: the old secret is rejected, the new one accepted, the account stays disabled', async () => {
        const principal = p().newPrincipal();
        const old = remember(secret('old'));
        const next = remember(secret('new'));
        await ops().stage(principal, old, spec(principal));
        await ops().rotate(principal, next);
        expect(await ops().verify({ username: principal, password: old })).toBe('rejected');
        expect(await ops().verify({ username: principal, password: next })).toBe('accepted');
        expect((await ops().inspect(principal)).canLogin).toBe(false);
        await ops().enable(principal, new Date(Date.now() + 600_000));
        expect(await p().login(principal, old)).toBe('rejected');
        const session = await expectAlive(await p().login(principal, next));
        await session.close();
        await ops().disable(principal);
      });

      itIf('disable of an account that does not exist converges', async () => {
        await ops().disable(p().newPrincipal());
        expect((await ops().inspect(p().newPrincipal())).exists).toBe(false);
      });

      itIf('sql-injection: hostile names are quoted, never executed', async () => {
        for (const principal of p().hostileNames) {
          const s = remember(secret('hostile'));
          await ops().stage(principal, s, spec(principal));
          expect((await ops().inspect(principal)).exists, principal).toBe(true);
          await ops().enable(principal, new Date(Date.now() + 600_000));
          const session = await expectAlive(await p().login(principal, s));
          await session.close();
          await ops().disable(principal);
          expect((await ops().inspect(principal)).canLogin, principal).toBe(false);
        }
        for (const principal of p().rejectedNames) {
          const error = await thrown(ops().stage(principal, remember(secret('rejected')), spec(principal)));
          expect(error.code, JSON.stringify(principal)).toBe('validation');
        }
      });

      itIf('adopt: stage refuses a login that already exists with power of its own, and leaves it as it was', async (ctx) => {
        const plant = p().plantLogin;
        if (!plant) return ctx.skip();
        const principal = p().newPrincipal();
        const theirs = remember(secret('theirs'));
        await plant(principal, theirs);
        const refused = await thrown(ops().stage(principal, remember(secret('taken')), spec(principal)));
        expect(refused.code).toBe('conflict');
        expect(refused.message).toMatch(/adopt: true/);
        const still = await expectAlive(await p().login(principal, theirs));
        await still.close();

        const ours = remember(secret('adopted'));
        await ops().stage(principal, ours, spec(principal), { adopt: true });
        expect(await p().login(principal, theirs)).toBe('rejected');
        expect(await ops().verify({ username: principal, password: ours })).toBe('accepted');
        expect((await ops().inspect(principal)).canLogin).toBe(false);
        // Staged by us (disabled now), it is inert: staging it again needs no adopt.
        await ops().stage(principal, ours, spec(principal));
      });

      itIf('reserved: the target\'s own logins are refused even when adopting, and stay as they were', async (ctx) => {
        const names = p().reservedNames ?? [];
        if (names.length === 0) return ctx.skip();
        for (const principal of names) {
          const error = await thrown(ops().stage(principal, remember(secret('reserved')), spec(principal), { adopt: true }));
          expect(error.code, principal).toBe('validation');
        }
      });

      itIf('errors never carry a secret', async () => {
        const s = remember(secret('error'));
        const down = setup.unreachable();
        try {
          // Started one at a time, so no rejection is left unobserved while another is awaited.
          const calls = [() => down.prestaged!.stage(p().newPrincipal(), s), () => down.prestaged!.rotate(p().newPrincipal(), s), () => down.prestaged!.verify({ username: p().newPrincipal(), password: s })];
          for (const call of calls) {
            const error = await thrown(call());
            expect(inspect(error, { depth: 10 })).not.toContain(s);
          }
        } finally {
          await down.close();
        }
      });
    });

    describe('ephemeral', () => {
      const ops = () => connector.ephemeral!;
      const e = () => setup.ephemeral!;
      const itIf = (title: string, fn: () => Promise<void>) => it(title, async (ctx) => {
        if (!setup.ephemeral) return ctx.skip();
        await fn();
      });

      itIf('issue creates a working credential bounded by the grant', async () => {
        const id = grantId();
        const credential = await ops().issue({ grantId: id, spec: e().spec(), validUntil: new Date(Date.now() + 600_000) });
        for (const value of Object.values(credential)) if (value !== credential.username) remember(value);
        const session = await expectAlive(await e().login(credential));
        expect(await ops().inspectIssued({ grantId: id, spec: e().spec() })).toMatchObject({ exists: true, canLogin: true });
        await session.close();
        await ops().revoke({ grantId: id, spec: e().spec() });
      });

      itIf('issue is idempotent per grant: a retry replaces a half-made credential', async () => {
        const id = grantId();
        const first = await ops().issue({ grantId: id, spec: e().spec(), validUntil: new Date(Date.now() + 600_000) });
        const second = await ops().issue({ grantId: id, spec: e().spec(), validUntil: new Date(Date.now() + 600_000) });
        for (const c of [first, second]) for (const value of Object.values(c)) if (value !== c.username) remember(value);
        const session = await expectAlive(await e().login(second));
        await session.close();
        await ops().revoke({ grantId: id, spec: e().spec() });
      });

      itIf('revoke destroys the credential and ends live sessions where the target can', async () => {
        const id = grantId();
        const credential = await ops().issue({ grantId: id, spec: e().spec(), validUntil: new Date(Date.now() + 600_000) });
        for (const value of Object.values(credential)) if (value !== credential.username) remember(value);
        const session = await expectAlive(await e().login(credential));
        const ended = await ops().revoke({ grantId: id, spec: e().spec() });
        await ops().revoke({ grantId: id, spec: e().spec() }); // idempotent
        expect(await e().login(credential)).toBe('rejected');
        const seen = await ops().inspectIssued({ grantId: id, spec: e().spec() });
        expect(seen.exists && seen.canLogin).toBe(false);
        if (connector.capabilities.supportsSessionKill) {
          expect(await session.alive()).toBe(false);
          expectOneSessionEnded(ended, 'revoke');
        }
        await session.close();
      });

      itIf('revoke of a grant that never got a credential converges', async () => {
        const id = grantId();
        await ops().revoke({ grantId: id, spec: e().spec() });
        const seen = await ops().inspectIssued({ grantId: id, spec: e().spec() });
        expect(seen.exists && seen.canLogin).toBe(false);
      });
    });

    it('no connector output carries a secret', () => {
      const text = output?.text() ?? '';
      for (const s of secretsUsed) expect(text).not.toContain(s);
    });
  });
}
