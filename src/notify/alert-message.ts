/**
 * What the Slack, Teams and PagerDuty messages share: the alert's essentials as labelled
 * fields, in the order a responder reads them, taken only from the payload (a field it does not
 * have is left out, never filled in), and clipping to a receiver's length limits.
 */
import type { AlertPayload } from '../ports/index.js';

export interface AlertField {
  /** The payload's own name for it (PagerDuty `custom_details` keys). */
  readonly key: string;
  readonly label: string;
  readonly value: string;
}

const fieldLabels = [
  ['event', 'Event'],
  ['severity', 'Severity'],
  ['account', 'Account'],
  ['target', 'Target'],
  ['requester', 'Requester'],
  ['approvers', 'Approvers'],
  ['condition', 'Condition'],
  ['incident', 'Incident'],
  ['reason', 'Reason'],
  ['expiresAt', 'Expires'],
  ['grant', 'Grant'],
  ['actor', 'By'],
] as const satisfies readonly (readonly [keyof AlertPayload, string])[];

export function alertFields(payload: AlertPayload): AlertField[] {
  return fieldLabels.flatMap(([key, label]) => {
    const raw = payload[key];
    const value = typeof raw === 'string' ? raw : raw?.join(', ');
    return value === undefined || value === '' ? [] : [{ key, label, value }];
  });
}

/** `text` cut to `max` characters with an ellipsis: receivers refuse the whole message for one long field. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
