/**
 * The Microsoft Teams channel: one Adaptive Card (1.4) per alert to an incoming webhook (the
 * channel's secret, a Workflows URL): the summary in the severity's colour, the essentials as a
 * FactSet, and a button to the grant. Values are escaped, so a reason cannot dress up a link.
 */
import type { Severity } from '../domain/index.js';
import type { AlertPayload, ChannelConnection, ChannelSender } from '../ports/index.js';
import { alertFields } from './alert-message.js';
import { postJson, secretUrl } from './http-delivery.js';

const colorOf: Readonly<Record<Severity, string>> = { critical: 'Attention', warning: 'Warning', info: 'Default' };

/**
 * Text blocks and facts take Markdown: a bracket or backslash in a value would let it become a
 * link with any caption, so they are escaped (CommonMark backslash escapes).
 */
export function teamsEscape(text: string): string {
  return text.replace(/[\\[\]]/g, (char) => `\\${char}`);
}

/** The webhook body for `payload`: a message with the card as its one attachment. */
export function teamsMessage(payload: AlertPayload): Record<string, unknown> {
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      { type: 'TextBlock', text: teamsEscape(payload.summary), size: 'Medium', weight: 'Bolder', color: colorOf[payload.severity], wrap: true },
      { type: 'FactSet', facts: alertFields(payload).map((field) => ({ title: field.label, value: teamsEscape(field.value) })) },
      { type: 'TextBlock', text: teamsEscape(`${payload.id} · ${payload.at}`), size: 'Small', isSubtle: true, wrap: true },
    ],
    ...(payload.link === undefined && payload.ackLink === undefined
      ? {}
      : {
          actions: [
            ...(payload.link === undefined ? [] : [{ type: 'Action.OpenUrl', title: 'Open in Breakglass', url: payload.link }]),
            ...(payload.ackLink === undefined ? [] : [{ type: 'Action.OpenUrl', title: 'Acknowledge', url: payload.ackLink }]),
          ],
        }),
  };
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

export const teamsSender: ChannelSender = async (channel: ChannelConnection, payload: AlertPayload) =>
  postJson(channel, secretUrl(channel), JSON.stringify(teamsMessage(payload)));
