/**
 * What channel sender tests deliver: a realistic `grant.activated` alert, and a channel of any
 * type (for the "unreachable receiver", a port from private-process.ts `freePort`).
 *
 * @example
 *   await sender(testChannel('email', { host: '127.0.0.1', port: await freePort() }), activatedAlert);
 */
import type { AlertPayload, ChannelConnection, ChannelType } from '../../src/ports/index.js';

export const activatedAlert: AlertPayload = {
  event: 'grant.activated',
  id: 'evt-4242',
  at: '2026-03-14T09:26:53.000Z',
  severity: 'critical',
  summary: 'pg-breakglass activated for alice on pg-prod (INC-123)',
  grant: 'grt_01HZX3K9Q',
  account: 'pg-breakglass',
  target: 'pg-prod',
  requester: 'alice',
  approvers: ['bob', 'carol'],
  condition: 'quorum 2 of 3',
  incident: 'INC-123',
  reason: 'primary down, failover stuck',
  expiresAt: '2026-03-14T10:26:53.000Z',
  link: 'https://breakglass.internal/grants/grt_01HZX3K9Q',
  actor: 'alice',
};

export function testChannel(type: ChannelType, settings: Readonly<Record<string, unknown>>, secret?: string): ChannelConnection {
  return { name: `test-${type}`, type, settings, secret };
}
