/**
 * The Slack channel: one Block Kit message per alert to an incoming webhook (the channel's
 * secret): the summary as a header, the essentials as fields, a button to the grant, and a
 * plain `text` for notifications and clients without blocks. Values are escaped, so a reason
 * cannot mention `@channel` or dress up a link.
 */
import type { AlertPayload, ChannelConnection, ChannelSender } from '../ports/index.js';
import { alertFields, clip } from './alert-message.js';
import { postJson, secretUrl } from './http-delivery.js';

/** Block Kit limits: header text, one field's text, fields per section. */
const HEADER_MAX = 150;
const FIELD_MAX = 2000;
const FIELDS_PER_SECTION = 10;

/** Slack's three control characters in mrkdwn: what turns text into a mention or a link. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The webhook body for `payload` (without channel overrides). */
export function slackMessage(payload: AlertPayload): Record<string, unknown> {
  const fields = alertFields(payload).map((field) => ({ type: 'mrkdwn', text: clip(`*${field.label}*\n${slackEscape(field.value)}`, FIELD_MAX) }));
  const sections = [];
  for (let start = 0; start < fields.length; start += FIELDS_PER_SECTION) sections.push({ type: 'section', fields: fields.slice(start, start + FIELDS_PER_SECTION) });
  const buttons = [
    ...(payload.link === undefined ? [] : [{ type: 'button', text: { type: 'plain_text', text: 'Open in Breakglass' }, url: payload.link }]),
    ...(payload.ackLink === undefined ? [] : [{ type: 'button', text: { type: 'plain_text', text: 'Acknowledge' }, url: payload.ackLink, style: 'primary' }]),
  ];
  const link = buttons.length === 0 ? [] : [{ type: 'actions', elements: buttons }];
  return {
    text: slackEscape(`[${payload.severity}] ${payload.summary}`),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(payload.summary, HEADER_MAX) } },
      ...sections,
      ...link,
      { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(`${payload.event} · ${payload.id} · ${payload.at}`) }] },
    ],
  };
}

export const slackSender: ChannelSender = async (channel: ChannelConnection, payload: AlertPayload) => {
  const url = secretUrl(channel);
  const { channel: target, username } = channel.settings;
  const overrides = { ...(typeof target === 'string' ? { channel: target } : {}), ...(typeof username === 'string' ? { username } : {}) };
  return postJson(channel, url, JSON.stringify({ ...overrides, ...slackMessage(payload) }));
};
