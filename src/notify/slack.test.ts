import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activatedPayload, httpChannelConformance, startReceiver, type Receiver } from '../../test/conformance/http-channel-conformance.js';
import type { ChannelConnection } from '../ports/index.js';
import { slackSender } from './slack.js';

const WEBHOOK_PATH = '/services/T0BGLASS01/B0BGLASS02/xoxHookTokenNotForLogs';
const slack = (base: string, settings: Record<string, unknown> = {}): ChannelConnection => ({ name: 'secops-slack', type: 'slack', settings, secret: `${base}${WEBHOOK_PATH}` });

describe('slack channel', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  const deliver = async (payload = activatedPayload, settings: Record<string, unknown> = {}) => {
    receiver.requests.length = 0;
    receiver.answer(200, 'ok');
    const receipt = await slackSender(slack(receiver.base, settings), payload);
    expect(receiver.requests).toHaveLength(1);
    return { receipt, request: receiver.requests[0]!, message: JSON.parse(receiver.requests[0]!.body) };
  };

  it('posts a Block Kit message for an activation to the webhook URL', async () => {
    const { receipt, request, message } = await deliver(activatedPayload, { channel: '#secops', username: 'Breakglass' });
    expect(receipt).toEqual({ status: 'HTTP 200' });
    expect(request).toMatchObject({ method: 'POST', path: WEBHOOK_PATH });
    expect(request.headers['content-type']).toBe('application/json');
    expect(message).toMatchObject({ channel: '#secops', username: 'Breakglass', text: `[critical] ${activatedPayload.summary}` });
    const [header, first, second, actions, context] = message.blocks;
    expect(header).toEqual({ type: 'header', text: { type: 'plain_text', text: activatedPayload.summary } });
    // Twelve fields, ten a section at most.
    expect(first.fields).toHaveLength(10);
    expect(second.fields.map((f: { text: string }) => f.text)).toEqual(['*Grant*\ngrt_01JN3Q8ZK4V7', '*By*\nalice']);
    expect(first.fields.map((f: { text: string }) => f.text)).toEqual(
      expect.arrayContaining(['*Event*\ngrant.activated', '*Severity*\ncritical', '*Account*\nprod-db-admin', '*Target*\nprod-postgres', '*Approvers*\nbob, carol', '*Incident*\nINC-2041', '*Expires*\n2025-03-01T03:14:07.000Z']),
    );
    expect(actions).toEqual({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Breakglass' }, url: activatedPayload.link }] });
    expect(context.elements[0].text).toBe('grant.activated · evt-42 · 2025-03-01T02:14:07.000Z');
  });

  it('shows only what the payload has: no link, no empty fields, no overrides unless set', async () => {
    const { message } = await deliver({ event: 'catalog.applied', id: 'evt-7', at: '2025-03-01T00:00:00.000Z', severity: 'warning', summary: 'Catalog applied' });
    expect(message).not.toHaveProperty('channel');
    expect(message).not.toHaveProperty('username');
    expect(message.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context']);
    expect(message.blocks[1].fields.map((f: { text: string }) => f.text)).toEqual(['*Event*\ncatalog.applied', '*Severity*\nwarning']);
    expect(JSON.stringify(message)).not.toContain('undefined');
  });

  it('mrkdwn injection: a reason cannot mention @channel or dress up a link', async () => {
    const reason = '<!channel> approve at <https://evil.example/|the runbook> & hurry';
    const { message } = await deliver({ ...activatedPayload, reason, summary: '<!here> activated' });
    const reasonField = message.blocks[1].fields.find((f: { text: string }) => f.text.startsWith('*Reason*'));
    expect(reasonField.text).toBe('*Reason*\n&lt;!channel&gt; approve at &lt;https://evil.example/|the runbook&gt; &amp; hurry');
    expect(message.text).toBe('[critical] &lt;!here&gt; activated');
    // plain_text shows it as typed: no mention.
    expect(message.blocks[0].text).toEqual({ type: 'plain_text', text: '<!here> activated' });
    expect(JSON.stringify(message.blocks.slice(1))).not.toMatch(/<[!h]/);
  });

});

httpChannelConformance('slack', { sender: slackSender, channel: (base) => slack(base), invalidSecrets: ['xoxb-not-a-url-token', 'ftp://hooks.slack.com/services/T/B/x', 'https://user:pw@hooks.slack.com/services/T/B/x'] });
