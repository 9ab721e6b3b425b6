import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activatedPayload, httpChannelConformance, startReceiver, type Receiver } from '../../test/conformance/http-channel-conformance.js';
import type { ChannelConnection } from '../ports/index.js';
import { teamsSender } from './teams.js';

/** The shape of a Workflows webhook: the signature in the query is what makes it a secret. */
const WEBHOOK_PATH = '/workflows/6f1c2a/triggers/manual/paths/invoke?api-version=2016-06-01&sig=TeamsSigNotForLogs0123456789';
const teams = (base: string): ChannelConnection => ({ name: 'secops-teams', type: 'teams', settings: {}, secret: `${base}${WEBHOOK_PATH}` });

describe('teams channel', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  const deliver = async (payload = activatedPayload) => {
    receiver.requests.length = 0;
    receiver.answer(202);
    const receipt = await teamsSender(teams(receiver.base), payload);
    expect(receiver.requests).toHaveLength(1);
    return { receipt, request: receiver.requests[0]!, message: JSON.parse(receiver.requests[0]!.body) };
  };

  it('posts an Adaptive Card for an activation to the webhook URL', async () => {
    const { receipt, request, message } = await deliver();
    expect(receipt).toEqual({ status: 'HTTP 202' });
    expect(request).toMatchObject({ method: 'POST', path: WEBHOOK_PATH });
    expect(request.headers['content-type']).toBe('application/json');
    expect(message.type).toBe('message');
    expect(message.attachments).toHaveLength(1);
    const { contentType, content: card } = message.attachments[0];
    expect(contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    const [title, facts] = card.body;
    expect(title).toMatchObject({ type: 'TextBlock', text: activatedPayload.summary, color: 'Attention', wrap: true });
    expect(facts.type).toBe('FactSet');
    const expected = {
      Event: 'grant.activated', Severity: 'critical', Account: 'prod-db-admin', Target: 'prod-postgres', Requester: 'alice', Approvers: 'bob, carol',
      Condition: 'outage', Incident: 'INC-2041', Reason: activatedPayload.reason, Expires: activatedPayload.expiresAt, Grant: activatedPayload.grant, By: 'alice',
    };
    // In this order: what happened, to what, by whom, why, until when.
    expect(facts.facts).toEqual(Object.entries(expected).map(([title, value]) => ({ title, value })));
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open in Breakglass', url: activatedPayload.link }]);
  });

  it('shows only what the payload has: no link button, no empty facts', async () => {
    const { message } = await deliver({ event: 'grant.expiring', id: 'evt-9', at: '2025-03-01T03:04:07.000Z', severity: 'info', summary: 'Grant expires in 10 minutes', grant: 'grt_1' });
    const card = message.attachments[0].content;
    expect(card).not.toHaveProperty('actions');
    expect(card.body[0].color).toBe('Default');
    expect(card.body[1].facts.map((f: { title: string }) => f.title)).toEqual(['Event', 'Severity', 'Grant']);
  });

  it('markdown injection: a reason cannot dress up a link', async () => {
    const { message } = await deliver({ ...activatedPayload, reason: 'approve [here](https://evil.example/) \\[x]' });
    const reason = message.attachments[0].content.body[1].facts.find((f: { title: string }) => f.title === 'Reason');
    expect(reason.value).toBe('approve \\[here\\](https://evil.example/) \\\\\\[x\\]');
  });

});

httpChannelConformance('teams', { sender: teamsSender, channel: teams, invalidSecrets: ['TeamsSigNotForLogs0123456789'] });
