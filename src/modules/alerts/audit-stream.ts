import { alertSeverity } from '../../domain/index.js';
import { canonicalJson } from '../../crypto/index.js';
import type { AlertPayload, AuditEventRecord, CheckpointRecord, Clock, StoreTx } from '../../ports/index.js';
import type { AppendHook, CheckpointHook } from '../audit/audit-log.js';
import { enqueue } from './alert-outbox.js';

/**
 * Audit streaming (issue 9, point 5): every audit event and every signed checkpoint, copied to
 * each channel the catalog marks `auditSink: true`, so a copy of the chain lives outside
 * Breakglass. Both are audit-log hooks: the copy is written to the outbox in the transaction of
 * the event (or checkpoint) under the chain head's lock, so the outbox order is the chain order,
 * and the relay delivers per channel in that order, at least once. A write that fails rolls the
 * event back (fail closed, like the alerts outbox).
 */
export function auditStream(deps: { readonly clock: Clock }): { readonly onAudit: AppendHook; readonly onCheckpoint: CheckpointHook } {
  const send = async (tx: StoreTx, payload: AlertPayload) => {
    const sinks = await auditSinks(tx);
    if (sinks.length > 0) await enqueue(tx, payload, sinks, deps.clock.now());
  };
  return {
    onAudit: (tx, record) => send(tx, auditEventPayload(record)),
    onCheckpoint: (tx, checkpoint) => send(tx, checkpointPayload(checkpoint)),
  };
}

/** The channels that carry the stream, by name. */
async function auditSinks(tx: StoreTx): Promise<string[]> {
  return (await tx.alerts.listChannels()).filter((channel) => channel.settings['auditSink'] === true).map((channel) => channel.name);
}

/**
 * An audit event as the chain hashed it: `at` is the string in the hash, `details` the object,
 * so a receiver recomputes `hashEvent(prevHash, {seq, at, actor, action, subject, details})`.
 * The id (`audit-<seq>`) is its idempotency key; `evt-<seq>` is the alert the event raised.
 */
export function auditEventPayload(record: AuditEventRecord): AlertPayload {
  const chain = { seq: record.seq, at: record.at.toISOString(), actor: record.actor, action: record.action, subject: record.subject, details: record.details, prevHash: record.prevHash, hash: record.hash };
  return { event: 'audit.event', id: `audit-${record.seq}`, severity: alertSeverity['audit.event'], summary: chainText(chain), ...chain };
}

/** A signed checkpoint: a receiver verifies `signature` over {seq, hash, at} with the audit public key. */
export function checkpointPayload(checkpoint: CheckpointRecord): AlertPayload {
  const chain = { seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at.toISOString(), signature: checkpoint.signature };
  return { event: 'audit.checkpoint', id: `checkpoint-${checkpoint.seq}`, severity: alertSeverity['audit.checkpoint'], summary: chainText(chain), ...chain };
}

/**
 * The record as one line of canonical JSON, for the summary: senders that carry only the
 * summary and the alert fields (syslog's message text, CEF's name) still carry the whole record.
 * C1 controls are escaped too (JSON leaves them raw, and syslog would blank them), so the line
 * parses back to exactly what was hashed.
 */
function chainText(record: Readonly<Record<string, unknown>>): string {
  return canonicalJson(record).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
