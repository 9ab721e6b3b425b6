import { alertSeverity, type AlertEvent, type GrantId } from '../../domain/index.js';
import type { AlertPayload, AuditEventRecord, StoreTx } from '../../ports/index.js';

/** Where alerts point people: the server's public URL (`BREAKGLASS_PUBLIC_URL`), if it has one. */
export interface AlertSettings {
  readonly publicUrl: string | undefined;
  /** How long an acknowledgement link in a message works (default 24 h). */
  readonly ackLinkTtlMs?: number;
}

/** What an alert says about a case: who, what, why, until when. Read in the change's transaction. */
async function caseFields(tx: StoreTx, grantId: string, settings: AlertSettings): Promise<Partial<AlertPayload>> {
  const grant = await tx.grants.findById(grantId as GrantId);
  if (!grant) return {};
  const account = await tx.catalog.findAccountById(grant.accountId);
  const target = account ? await tx.catalog.findTargetById(account.targetId) : undefined;
  return {
    grant: grant.id,
    ...(account ? { account: account.name } : {}),
    ...(target ? { target: target.name } : {}),
    requester: grant.requesterName,
    ...(account?.quorum ? { approvers: account.quorum.custodians } : {}),
    condition: grant.condition,
    incident: grant.incident,
    reason: grant.reason,
    expiresAt: grant.expiresAt.toISOString(),
    ...(grant.drill === true ? { drill: true as const } : {}),
    ...(settings.publicUrl === undefined ? {} : { link: `${settings.publicUrl.replace(/\/+$/, '')}/v1/grants/${grant.id}` }),
  };
}

/** One line a human reads first. */
function summaryOf(event: AlertEvent, fields: Partial<AlertPayload>, actor: string): string {
  if (fields.grant === undefined) return `${event} by ${actor}`;
  const who = fields.requester ?? actor;
  const what = `${event}: ${fields.account ?? 'an account'} by ${who}`;
  return fields.drill === true ? `drill — ${what}` : `${what}${fields.incident ? ` (${fields.incident})` : ''}`;
}

/** The routine steps of a case: for a drill's own grant these are `info`. */
const routine: ReadonlySet<AlertEvent> = new Set(['grant.requested', 'grant.activated', 'grant.expiring', 'grant.ended', 'grant.revoked', 'grant.awaiting-certification', 'grant.closed']);

/**
 * How loud: the event's severity, except that the routine steps of a drill's own grant are
 * `info` — the account really was enabled, so it is announced, but a weekly drill must not page
 * anyone. What goes wrong stays loud: a drill's overdue revocation or failed rotation keeps its
 * severity, and the verdict `drill.failed` is critical.
 */
const severityOf = (event: AlertEvent, fields: Partial<AlertPayload>) => (fields.drill === true && routine.has(event) ? 'info' : alertSeverity[event]);

/**
 * The alert an audit event raises. Its id is the event's (`evt-<seq>`): the idempotency key a
 * receiver sees on every retry. Never a secret: the grant, account and audit details hold none.
 */
export async function payloadOf(tx: StoreTx, event: AlertEvent, record: AuditEventRecord, settings: AlertSettings): Promise<AlertPayload> {
  const fields = record.action.startsWith('grant.') ? await caseFields(tx, record.subject, settings) : {};
  return {
    event,
    id: `evt-${record.seq}`,
    at: record.at.toISOString(),
    severity: severityOf(event, fields),
    summary: summaryOf(event, fields, record.actor),
    actor: record.actor,
    ...fields,
    details: record.details,
  };
}

/**
 * An alert about a case that no audit event raised (the alert watch's time-driven ones): the
 * same case fields as `payloadOf`, under an id the caller makes deterministic
 * (`<event>-<grant>-<occurrence>`), so a receiver de-duplicates a repeat.
 */
export async function grantPayload(
  tx: StoreTx,
  event: AlertEvent,
  grantId: GrantId,
  raised: { readonly id: string; readonly at: Date; readonly details: Readonly<Record<string, unknown>> },
  settings: AlertSettings,
): Promise<AlertPayload> {
  const fields = await caseFields(tx, grantId, settings);
  return {
    event,
    id: raised.id,
    at: raised.at.toISOString(),
    severity: severityOf(event, fields),
    summary: summaryOf(event, fields, 'system'),
    actor: 'system',
    ...fields,
    details: raised.details,
  };
}
