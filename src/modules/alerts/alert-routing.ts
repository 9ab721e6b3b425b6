import { atLeast } from '../../domain/index.js';
import type { AlertPayload, RouteRecord } from '../../ports/index.js';

/**
 * The channels an alert goes to: every route whose events name it (or `*`), whose accounts (if
 * any) include its account, and whose minimum severity it meets. Each channel once, in the
 * order the routes name them.
 */
export function channelsFor(payload: AlertPayload, routes: readonly RouteRecord[]): string[] {
  const channels: string[] = [];
  for (const route of routes) {
    if (!route.events.includes('*') && !route.events.includes(payload.event)) continue;
    if (route.accounts !== undefined && (payload.account === undefined || !route.accounts.includes(payload.account))) continue;
    if (route.minSeverity !== undefined && !atLeast(payload.severity, route.minSeverity)) continue;
    for (const channel of route.channels) if (!channels.includes(channel)) channels.push(channel);
  }
  return channels;
}
