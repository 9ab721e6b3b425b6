/**
 * The optional facts of an alert, in the order an on-call reads them, for senders that lay
 * them out one by one (e-mail lines, syslog structured data, CEF keys). Only what the payload
 * has: a sender never adds a fact of its own.
 */
import type { AlertPayload } from '../ports/index.js';

export const alertFieldNames = ['account', 'target', 'requester', 'approvers', 'condition', 'incident', 'reason', 'expiresAt', 'grant', 'actor'] as const;
export type AlertFieldName = (typeof alertFieldNames)[number];

/** `[name, text]` for each field the payload has and is not empty; approvers joined by ", ". */
export function alertFields(payload: AlertPayload): [name: AlertFieldName, text: string][] {
  const fields: [AlertFieldName, string][] = [];
  for (const name of alertFieldNames) {
    const value = payload[name];
    const text = typeof value === 'string' ? value : value?.join(', ');
    if (text !== undefined && text !== '') fields.push([name, text]);
  }
  return fields;
}
