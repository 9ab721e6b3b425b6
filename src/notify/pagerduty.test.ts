import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activatedPayload, httpChannelConformance, startReceiver, type Receiver } from '../../test/conformance/http-channel-conformance.js';
import type { AlertPayload, ChannelConnection } from '../ports/index.js';
import { pagerdutySender } from './pagerduty.js';

const ROUTING_KEY = 'R0UTINGKEYN0TF0RL0GS0123456789ab';
const pagerduty = (base: string): ChannelConnection => ({ name: 'secops-pager', type: 'pagerduty', settings: { endpoint: `${base}/v2/enqueue` }, secret: ROUTING_KEY });

describe('pagerduty channel', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  const deliver = async (payload: AlertPayload) => {
    receiver.requests.length = 0;
    receiver.answer(202, '{"status":"success","message":"Event processed","dedup_key":"x"}');
    const receipt = await pagerdutySender(pagerduty(receiver.base), payload);
    expect(receiver.requests).toHaveLength(1);
    return { receipt, request: receiver.requests[0]!, event: JSON.parse(receiver.requests[0]!.body) };
  };

  it('triggers an incident keyed by the grant on activation', async () => {
    const { receipt, request, event } = await deliver(activatedPayload);
    expect(receipt).toEqual({ status: 'HTTP 202' });
    expect(request).toMatchObject({ method: 'POST', path: '/v2/enqueue' });
    expect(request.headers['content-type']).toBe('application/json');
    expect(event).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'grt_01JN3Q8ZK4V7',
      payload: {
        summary: activatedPayload.summary,
        source: 'breakglass',
        severity: 'critical',
        timestamp: activatedPayload.at,
        class: 'grant.activated',
        component: 'prod-db-admin',
        custom_details: {
          event: 'grant.activated',
          severity: 'critical',
          account: 'prod-db-admin',
          target: 'prod-postgres',
          requester: 'alice',
          approvers: 'bob, carol',
          condition: 'outage',
          incident: 'INC-2041',
          reason: 'Primary is down; need to promote the replica',
          expiresAt: '2025-03-01T03:14:07.000Z',
          grant: 'grt_01JN3Q8ZK4V7',
          actor: 'alice',
        },
      },
      links: [{ href: activatedPayload.link, text: 'Open in Breakglass' }],
    });
  });

  it('resolves the grant incident when the case closes, and nothing else resolves', async () => {
    const closed = await deliver({ event: 'grant.closed', id: 'evt-80', at: '2025-03-02T09:00:00.000Z', severity: 'info', summary: 'Case closed', grant: 'grt_01JN3Q8ZK4V7' });
    expect(closed.event).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: 'grt_01JN3Q8ZK4V7' });
    const revoked = await deliver({ event: 'grant.revoked', id: 'evt-60', at: '2025-03-01T03:15:00.000Z', severity: 'info', summary: 'Access revoked', grant: 'grt_01JN3Q8ZK4V7' });
    expect(revoked.event).toMatchObject({ event_action: 'trigger', dedup_key: 'grt_01JN3Q8ZK4V7', payload: { severity: 'info' } });
  });

  it('keys an alert without a grant by its event id, and maps warning severity', async () => {
    const { event } = await deliver({ event: 'root.unsealed', id: 'evt-3', at: '2025-03-01T00:00:00.000Z', severity: 'warning', summary: 'Root key unsealed' });
    expect(event).toMatchObject({ event_action: 'trigger', dedup_key: 'evt-3', payload: { severity: 'warning', custom_details: { event: 'root.unsealed', severity: 'warning' } } });
    expect(event).not.toHaveProperty('links');
    expect(event.payload).not.toHaveProperty('component');
  });

});

httpChannelConformance('pagerduty', { sender: pagerdutySender, channel: pagerduty, invalidSecrets: [''] });
