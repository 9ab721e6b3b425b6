/**
 * The optional facts of an alert as `[name, text]` pairs, for senders that lay them out one by
 * one (e-mail lines, syslog structured data, CEF keys). The order and the rule (only what the
 * payload has) live in alert-message.ts; event and severity are left to each sender's header.
 */
import type { AlertPayload } from '../ports/index.js';
import { alertFields as labelledFields } from './alert-message.js';

export const alertFieldNames = ['account', 'target', 'requester', 'approvers', 'condition', 'incident', 'reason', 'expiresAt', 'grant', 'actor'] as const;
export type AlertFieldName = (typeof alertFieldNames)[number];

const isFact = (key: string): key is AlertFieldName => (alertFieldNames as readonly string[]).includes(key);

/** `[name, text]` for each fact the payload has and is not empty; approvers joined by ", ". */
export function alertFields(payload: AlertPayload): [name: AlertFieldName, text: string][] {
  return labelledFields(payload).flatMap(({ key, value }) => (isFact(key) ? [[key, value] as [AlertFieldName, string]] : []));
}
