/**
 * What must hold after every chaos run, checked from the outside: the case settled (no grant
 * stuck), its audit history replays through the lifecycle to the state the server reports (no
 * state change without its audit event, I2), no job is left in the store, the chain verifies,
 * and nothing was usable on the target beyond the bound (I1: 5 s after expiry, or after the
 * server, target or store came back when it was down at expiry).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { dataDirPaths } from '../../src/app/data-dir.js';
import { grantEventActions } from '../../src/domain/audit-actions.js';
import { transition, type GrantEvent } from '../../src/domain/grant-lifecycle.js';
import type { Grant } from '../../src/domain/types.js';
import type { ChaosNode } from './chaos-node.js';
import { runCli } from './chaos-node.js';

/** I1's revocation SLO, as the issue states it. */
export const BOUND_MS = 5_000;

export interface Lateness {
  /** Last usable instant after expiry, ms (0 when nothing was usable after expiry). */
  readonly afterExpiryMs: number;
  /** Last usable instant after the bound's start (expiry, or the later comeback), ms. */
  readonly afterBoundMs: number;
}

/** I1 for one run: a violation when something stayed usable longer than BOUND_MS after the bound's start. */
export function checkBound(lastUsableAt: number | undefined, expiresAt: number, boundStart: number, what: string): { lateness: Lateness; violations: string[] } {
  const last = lastUsableAt ?? expiresAt;
  const lateness = { afterExpiryMs: Math.max(0, last - expiresAt), afterBoundMs: Math.max(0, last - boundStart) };
  const violations =
    lateness.afterBoundMs > BOUND_MS
      ? [`I1: ${what} usable ${lateness.afterBoundMs} ms after ${boundStart > expiresAt ? 'the comeback' : 'expiry'} (bound ${BOUND_MS} ms; ${lateness.afterExpiryMs} ms after expiry)`]
      : [];
  return { lateness, violations };
}

const eventOfAction = new Map<string, GrantEvent['type']>(Object.entries(grantEventActions).map(([event, action]) => [action, event as GrantEvent['type']]));

interface BundleEvent {
  readonly type: string;
  readonly at: string;
  readonly action: string;
  readonly subject: string;
}

/** A settled case: rotated and waiting for its certification, or a failed activation whose cleanup was verified. */
export function settled(view: { state: string; revokedAt?: string }): boolean {
  return view.state === 'awaiting-certification' || (view.state === 'failed' && view.revokedAt !== undefined);
}

/**
 * I2 from the export: the grant's events, replayed through the pure lifecycle from `requested`,
 * must be allowed transitions and end where the server says the grant is.
 */
export function checkHistory(bundle: string, view: any): string[] {
  const events = bundle
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as BundleEvent)
    .filter((line) => line.type === 'event' && line.subject === view.id);
  const requested = events.find((e) => e.action === 'grant.requested');
  if (requested === undefined) return [`I2: no grant.requested event for ${view.id}`];
  let grant = {
    id: view.id,
    state: 'requested',
    mode: view.mode,
    expiresAt: new Date(view.expiresAt),
    ttlMs: 0,
    activatedAt: undefined,
    endedAt: undefined,
    revokedAt: undefined,
    rotatedAt: undefined,
    revealedAt: undefined,
  } as unknown as Grant;
  for (const event of events) {
    // Evidence that is not a state change: refusals, shares, and a credential disabled while the
    // store could not be written (the revocation itself is recorded after it, by the lifecycle).
    if (event === requested || event.action.endsWith('-refused') || event.action === 'grant.share-presented' || event.action === 'grant.offline-disabled') continue;
    const type = eventOfAction.get(event.action);
    if (type === undefined) return [`I2: unexpected audit action ${event.action} on ${view.id}`];
    try {
      grant = transition(grant, { type, reason: 'replayed' } as GrantEvent, new Date(event.at));
    } catch (error) {
      return [`I2: ${event.action} at ${event.at} does not follow the lifecycle from ${grant.state}: ${(error as Error).message}`];
    }
  }
  const problems: string[] = [];
  if (grant.state !== view.state) problems.push(`I2: the audit history ends in ${grant.state}, the server says ${view.state}`);
  for (const field of ['activatedAt', 'endedAt', 'revokedAt', 'rotatedAt'] as const) {
    if ((grant[field] === undefined) !== (view[field] === undefined)) problems.push(`I2: ${field} is ${view[field] ?? 'unset'} on the grant but ${grant[field] === undefined ? 'no' : 'an'} audit event sets it`);
  }
  return problems;
}

/** Jobs still in the store (none may be left once the case settled). */
export async function jobsLeft(node: ChaosNode): Promise<{ kind: string; subject: string; attempts: number; last_error: string | null }[]> {
  const query = 'select kind, subject, attempts, last_error from jobs';
  if (node.databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: node.databaseUrl });
    await client.connect();
    try {
      return (await client.query(query)).rows;
    } finally {
      await client.end();
    }
  }
  const db = new Database(dataDirPaths(node.dataDir).database, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(query).all() as never;
  } finally {
    db.close();
  }
}

/** The chain verifies: offline on a stopped SQLite data dir (the CLI), online for a PostgreSQL store. */
export async function verifyChain(node: ChaosNode): Promise<string[]> {
  if (node.databaseUrl !== undefined) {
    const answer = await node.call(node.adminToken, 'GET', '/v1/audit/verify');
    return answer.status === 200 && answer.body.ok === true ? [] : [`I2: audit verify: ${JSON.stringify(answer.body)}`];
  }
  const run = await runCli(['audit', 'verify', '--data-dir', node.dataDir, '--json']);
  return run.code === 0 ? [] : [`I2: audit verify --data-dir exited ${run.code}: ${(run.stdout + run.stderr).trim().slice(0, 300)}`];
}
