import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { checkReveal, holdsAccount, transition, type GrantEvent } from './grant-lifecycle.js';
import { asAccountId, asGrantId, asUserId } from './ids.js';
import { grantStates, type Actor, type Grant, type GrantState } from './types.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

const alice: Actor = { id: asUserId('u-alice'), name: 'alice', roles: ['responder'] };
const bob: Actor = { id: asUserId('u-bob'), name: 'bob', roles: ['incident-owner'] };
const mallory: Actor = { id: asUserId('u-mallory'), name: 'mallory', roles: ['responder'] };
// issue 11 (H3)
const admin: Actor = { id: asUserId('u-admin'), name: 'admin', roles: ['admin'] };

function grant(state: GrantState, overrides: Partial<Grant> = {}): Grant {
  return {
    id: asGrantId('gr_1'),
    accountId: asAccountId('acc_1'),
    requesterId: alice.id,
    requesterName: alice.name,
    condition: 'outage',
    reason: 'db down',
    incident: 'INC-1',
    state,
    mode: 'prestaged',
    createdAt: t0,
    activatedAt: undefined,
    expiresAt: at(60_000),
    ttlMs: 60_000,
    endedAt: undefined,
    endReason: undefined,
    revokedAt: undefined,
    rotatedAt: undefined,
    revealedAt: undefined,
    closedAt: undefined,
    certification: undefined,
    failure: undefined,
    ...overrides,
  };
}

const answers = { necessary: true, scoped: true, removed: true, note: 'ok' };
const events: Record<GrantEvent['type'], GrantEvent> = {
  'quorum-reached': { type: 'quorum-reached' },
  'quorum-expired': { type: 'quorum-expired' },
  activate: { type: 'activate' },
  reveal: { type: 'reveal' },
  'activation-failed': { type: 'activation-failed', reason: 'target down' },
  deny: { type: 'deny' },
  cancel: { type: 'cancel' },
  expire: { type: 'expire' },
  end: { type: 'end' },
  'revocation-verified': { type: 'revocation-verified' },
  'rotation-started': { type: 'rotation-started' },
  'rotation-verified': { type: 'rotation-verified' },
  'certification-requested': { type: 'certification-requested' },
  'cleanup-verified': { type: 'cleanup-verified' },
  // Only a drill certifies itself: for every other grant it is refused in every state.
  'drill-certified': { type: 'drill-certified' },
  certify: { type: 'certify', actor: bob, answers },
  // issue 11 (H1)
  approve: { type: 'approve', actor: bob, note: 'ok', threshold: 1, quorumWindowMs: undefined },
  'approval-denied': { type: 'approval-denied', actor: bob, note: 'no' },
  'approval-expired': { type: 'approval-expired' },
  escalate: { type: 'escalate', reason2: 'nobody answered', afterMs: 0, quorumWindowMs: undefined },
  // issue 11 (H3)
  'certification-deadline-passed': { type: 'certification-deadline-passed' },
  resolve: { type: 'resolve', actor: admin, note: 'reviewed' },
  // issue 11 (H2): an extension is only for an active, unexpired grant (tried after expiry here: refused everywhere).
  extend: { type: 'extend', byMs: 60_000, limits: { policy: 'p', maxTtlMs: 3_600_000, maxExtensions: 5, maxTotalMs: undefined } },
  'incident-closed': { type: 'incident-closed' },
  // issue 12 (evidence)
  'sessions-ended': { type: 'sessions-ended', sessionsBefore: 1, sessionsEnded: 1 },
};

/** The legal transitions of DESIGN.md §2 for a pre-staged account, and where they lead. */
const legal: Record<string, GrantState> = {
  'awaiting-quorum/quorum-reached': 'requested',
  'awaiting-quorum/quorum-expired': 'expired',
  'awaiting-quorum/cancel': 'cancelled',
  'requested/activate': 'active',
  'active/reveal': 'active',
  'requested/activation-failed': 'failed',
  'requested/deny': 'denied',
  'requested/cancel': 'cancelled',
  'active/expire': 'revoking',
  'active/end': 'revoking',
  'revoking/revocation-verified': 'revoked',
  'revoked/rotation-started': 'rotating',
  'rotating/rotation-verified': 'awaiting-certification',
  'awaiting-certification/certify': 'closed',
  'failed/cleanup-verified': 'failed',
  // issue 11 (H1)
  'awaiting-approval/approve': 'requested',
  'awaiting-approval/approval-denied': 'denied',
  'awaiting-approval/approval-expired': 'expired',
  'awaiting-approval/escalate': 'requested',
  'awaiting-approval/cancel': 'cancelled',
  // issue 11 (H3)
  'awaiting-certification/certification-deadline-passed': 'awaiting-certification',
  'under-review/resolve': 'closed',
  // issue 11 (H2)
  'active/incident-closed': 'revoking',
  // issue 12 (evidence)
  'revoking/sessions-ended': 'revoking',
};
/** Issue 11 (H1): decisions and escalation must arrive while the approval window is open. */
const beforeWindowCloses = new Set(['awaiting-approval/approve', 'awaiting-approval/approval-denied', 'awaiting-approval/escalate']);

describe('grant lifecycle (pre-staged)', () => {
  const late = at(120_000); // after expiry, so `expire` is allowed by the clock
  for (const state of grantStates) {
    for (const [type, event] of Object.entries(events)) {
      const key = `${state}/${type}`;
      const target = legal[key];
      if (target) {
        // The quorum must arrive before its window closes, and a reveal before expiry; everything else is tried after expiry.
        const when = key === 'awaiting-quorum/quorum-reached' || key === 'active/reveal' || beforeWindowCloses.has(key) ? t0 : late;
        it(`${key} → ${target}`, () => {
          expect(transition(grant(state), event, when).state).toBe(target);
        });
      } else {
        it(`${key} is refused`, () => {
          expect(() => transition(grant(state), event, late)).toThrowError(
            expect.objectContaining({ code: 'invalid_transition' }) as Error,
          );
        });
      }
    }
  }
});

describe('drills', () => {
  it('a drill awaiting certification certifies itself; in any other state it cannot', () => {
    const closed = transition(grant('awaiting-certification', { drill: true }), { type: 'drill-certified' }, at(1));
    expect(closed).toMatchObject({ state: 'closed', closedAt: at(1), certification: undefined });
    expect(() => transition(grant('rotating', { drill: true }), { type: 'drill-certified' }, at(1))).toThrow(/not allowed/);
  });
});

describe('grant lifecycle (ephemeral)', () => {
  it('revoked ephemeral credentials go straight to certification', () => {
    const next = transition(grant('revoked', { mode: 'ephemeral' }), events['certification-requested'], t0);
    expect(next.state).toBe('awaiting-certification');
  });
  it('ephemeral credentials are never rotated', () => {
    expect(() => transition(grant('revoked', { mode: 'ephemeral' }), events['rotation-started'], t0)).toThrow(AppError);
  });
});

describe('custodian quorum', () => {
  it('the request waits for its quorum until the window closes, not after', () => {
    expect(() => transition(grant('awaiting-quorum'), events['quorum-expired'], at(59_999))).toThrowError(/still open/);
    expect(transition(grant('awaiting-quorum'), events['quorum-expired'], at(60_000)).state).toBe('expired');
  });
  it('the TTL counts from the release, not from the request', () => {
    const g = transition(grant('awaiting-quorum', { ttlMs: 300_000, expiresAt: at(2_000_000) }), events['quorum-reached'], at(1_000_000));
    expect(g.expiresAt).toEqual(at(1_300_000));
  });
  it('a quorum completed after its window closed releases nothing', () => {
    expect(() => transition(grant('awaiting-quorum'), events['quorum-reached'], at(60_000))).toThrowError(/closed before the last share/);
  });
});

describe('expiry follows the clock', () => {
  it('a grant cannot expire before expiresAt', () => {
    expect(() => transition(grant('active'), events.expire, at(59_999))).toThrowError(/not reached its expiry/);
  });
  it('expires exactly at expiresAt and records why', () => {
    const next = transition(grant('active'), events.expire, at(60_000));
    expect(next).toMatchObject({ state: 'revoking', endReason: 'expired', endedAt: at(60_000) });
  });
  it('early end records the time and reason', () => {
    expect(transition(grant('active'), events.end, at(5)).endReason).toBe('ended');
  });
  it('timestamps of each step are recorded', () => {
    let g = transition(grant('requested'), events.activate, at(1));
    g = transition(g, events.end, at(2));
    g = transition(g, events['revocation-verified'], at(3));
    g = transition(g, events['rotation-started'], at(4));
    g = transition(g, events['rotation-verified'], at(5));
    g = transition(g, events.certify, at(6));
    expect(g).toMatchObject({ activatedAt: at(1), endedAt: at(2), revokedAt: at(3), rotatedAt: at(5), closedAt: at(6) });
    expect(g.certification).toMatchObject({ by: bob.id, byName: 'bob', necessary: true, at: at(6) });
  });
});

describe('I5 closure', () => {
  it('I5: the requester cannot certify their own grant', () => {
    const selfCert: GrantEvent = { type: 'certify', actor: { ...alice, roles: ['incident-owner', 'responder'] }, answers };
    expect(() => transition(grant('awaiting-certification'), selfCert, t0)).toThrowError(
      expect.objectContaining({ code: 'separation_of_duties' }) as Error,
    );
  });
  it('I5: certifying needs the incident-owner or admin role', () => {
    const byAuditor: GrantEvent = { type: 'certify', actor: { ...mallory, roles: ['auditor'] }, answers };
    expect(() => transition(grant('awaiting-certification'), byAuditor, t0)).toThrowError(
      expect.objectContaining({ code: 'forbidden' }) as Error,
    );
    // A responder who is not the requester does not even see the case.
    const byResponder: GrantEvent = { type: 'certify', actor: mallory, answers };
    expect(() => transition(grant('awaiting-certification'), byResponder, t0)).toThrowError(
      expect.objectContaining({ code: 'not_found' }) as Error,
    );
  });
  it.each(['active', 'revoking', 'revoked', 'rotating'] as const)(
    'I5: a case cannot close from %s (before rotation is verified)',
    (state) => {
      expect(() => transition(grant(state), events.certify, t0)).toThrowError(
        expect.objectContaining({ code: 'invalid_transition' }) as Error,
      );
    },
  );
});

describe('reveal', () => {
  it('reveals once, while active and unexpired, and records when', () => {
    expect(transition(grant('active'), events.reveal, at(5)).revealedAt).toEqual(at(5));
    expect(() => checkReveal(grant('active'), t0)).not.toThrow();
    expect(() => checkReveal(grant('active', { revealedAt: t0 }), t0)).toThrowError(
      expect.objectContaining({ code: 'already_revealed' }) as Error,
    );
    expect(() => checkReveal(grant('revoking'), t0)).toThrowError(expect.objectContaining({ code: 'invalid_transition' }) as Error);
    expect(() => checkReveal(grant('active'), at(60_000))).toThrow(AppError);
  });
});

describe('holdsAccount: the one definition of "a grant still holds this account"', () => {
  it.each(grantStates)('%s', (state) => {
    const holding = ['awaiting-quorum', 'requested', 'active', 'revoking', 'revoked', 'rotating', 'failed', /* issue 11 (H1) */ 'awaiting-approval'].includes(state);
    expect(holdsAccount(grant(state))).toBe(holding);
  });
  it('a failed grant holds its account until its cleanup is verified, and not after', () => {
    const failed = grant('failed');
    expect(holdsAccount(failed)).toBe(true);
    const cleaned = transition(failed, events['cleanup-verified'], at(7));
    expect(cleaned).toMatchObject({ state: 'failed', revokedAt: at(7) });
    expect(holdsAccount(cleaned)).toBe(false);
  });
});

// issue 11 (H3): certification deadline and review.
describe('certification deadline and misuse review', () => {
  it('the deadline marks the case once; it stays awaiting certification and certifiable', () => {
    const overdue = transition(grant('awaiting-certification'), events['certification-deadline-passed'], at(5));
    expect(overdue).toMatchObject({ state: 'awaiting-certification', certificationOverdueAt: at(5) });
    expect(() => transition(overdue, events['certification-deadline-passed'], at(6))).toThrowError(/not allowed/);
    expect(transition(overdue, events.certify, at(7))).toMatchObject({ state: 'closed', closedAt: at(7) });
  });
  it('misuse suspected: the case goes under review, not closed', () => {
    const next = transition(grant('awaiting-certification'), { type: 'certify', actor: bob, answers: { ...answers, misuseSuspected: true } }, at(5));
    expect(next).toMatchObject({ state: 'under-review', closedAt: undefined, certification: { misuseSuspected: true, byName: 'bob' } });
    const resolved = transition(next, events.resolve, at(9));
    expect(resolved).toMatchObject({ state: 'closed', closedAt: at(9), resolution: { byName: 'admin', note: 'reviewed', at: at(9) } });
  });
  it('separation of duties: the requester cannot resolve the review of their own case, even as an admin', () => {
    const review = grant('under-review');
    const selfResolve: GrantEvent = { type: 'resolve', actor: { ...alice, roles: ['admin'] }, note: 'fine' };
    expect(() => transition(review, selfResolve, t0)).toThrowError(expect.objectContaining({ code: 'separation_of_duties', message: 'the requester of a grant cannot resolve its review; ask another admin' }) as Error);
  });
  it('only an admin resolves a review (an incident owner cannot)', () => {
    expect(() => transition(grant('under-review'), { type: 'resolve', actor: bob, note: 'fine' }, t0)).toThrowError(expect.objectContaining({ code: 'forbidden' }) as Error);
  });
});
