/**
 * The PagerDuty channel (Events API v2): every alert triggers, under `dedup_key` = the grant id
 * (the event id when there is no grant), so all that happens to one grant lands on one
 * incident, and `grant.closed` resolves it. Never `acknowledge`: that is a responder's act.
 * The routing key (the secret) travels in the body, which no error quotes.
 */
import type { AlertPayload, ChannelConnection, ChannelSender } from '../ports/index.js';
import { AppError } from '../errors/index.js';
import { alertFields, clip } from './alert-message.js';
import { postJson } from './http-delivery.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** PagerDuty's limit on `payload.summary`. */
const SUMMARY_MAX = 1024;

/** The Events API v2 body for `payload`, without the routing key. */
export function pagerdutyEvent(payload: AlertPayload): Record<string, unknown> {
  const dedupKey = payload.grant ?? payload.id;
  if (payload.event === 'grant.closed') return { event_action: 'resolve', dedup_key: dedupKey };
  const fields = alertFields(payload);
  return {
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: clip(payload.summary, SUMMARY_MAX),
      source: 'breakglass',
      // Our severities are PagerDuty's names already (it also has `error`, which we never send).
      severity: payload.severity,
      timestamp: payload.at,
      class: payload.event,
      ...(payload.account === undefined ? {} : { component: payload.account }),
      custom_details: Object.fromEntries(fields.map((field) => [field.key, field.value])),
    },
    ...(payload.link === undefined && payload.ackLink === undefined
      ? {}
      : {
          links: [
            ...(payload.link === undefined ? [] : [{ href: payload.link, text: 'Open in Breakglass' }]),
            ...(payload.ackLink === undefined ? [] : [{ href: payload.ackLink, text: 'Acknowledge in Breakglass' }]),
          ],
        }),
  };
}

export const pagerdutySender: ChannelSender = async (channel: ChannelConnection, payload: AlertPayload) => {
  const endpoint = channel.settings['endpoint'];
  if (channel.secret === undefined || channel.secret === '') {
    throw new AppError('target_error', `pagerduty channel "${channel.name}" has no routing key; give the integration key with secretEnv and apply the catalog again`);
  }
  const body = JSON.stringify({ routing_key: channel.secret, ...pagerdutyEvent(payload) });
  return postJson(channel, typeof endpoint === 'string' ? endpoint : PAGERDUTY_EVENTS_URL, body);
};
