/**
 * The one-click acknowledgement (issue 9, point 4) reaches people on every HTTP channel, not
 * only the webhook's JSON: a button on Slack and Teams, a link on PagerDuty. Against the same
 * local receiver the channel tests use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activatedPayload, startReceiver, type Receiver } from '../../test/conformance/http-channel-conformance.js';
import type { AlertPayload, ChannelConnection, ChannelSender } from '../ports/index.js';
import { pagerdutySender } from './pagerduty.js';
import { slackSender } from './slack.js';
import { teamsSender } from './teams.js';

const ackLink = 'https://breakglass.example.org/v1/alerts/ack?e=evt-42&c=chat&x=1900000000&s=ab12';
const withAck: AlertPayload = { ...activatedPayload, ackLink };

describe('ack links on the HTTP channels', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  const delivered = async (sender: ChannelSender, channel: ChannelConnection, payload: AlertPayload) => {
    receiver.requests.length = 0;
    receiver.answer(202, '{}');
    await sender(channel, payload);
    return receiver.requests[0]!.body;
  };
  const channels: [string, ChannelSender, (base: string) => ChannelConnection][] = [
    ['slack', slackSender, (base) => ({ name: 'chat', type: 'slack', settings: {}, secret: `${base}/services/T/B/x` })],
    ['teams', teamsSender, (base) => ({ name: 'chat', type: 'teams', settings: {}, secret: `${base}/workflows/x` })],
    ['pagerduty', pagerdutySender, (base) => ({ name: 'oncall', type: 'pagerduty', settings: { endpoint: `${base}/v2/enqueue` }, secret: 'R0UTINGKEY0000000000000000000000' })],
  ];

  it.each(channels)('ack: %s carries the acknowledgement link when the alert has one, and only then', async (_type, sender, channel) => {
    expect(await delivered(sender, channel(receiver.base), withAck)).toContain(ackLink);
    expect(await delivered(sender, channel(receiver.base), activatedPayload)).not.toContain('/v1/alerts/ack');
  });
});
