import { atLeast } from '../../domain/index.js';
import type { AlertPayload, RouteRecord } from '../../ports/index.js';

/** Does the route take the alert: its events name it (or `*`), its accounts (if any) include its account, its severity is enough. */
export function routeTakes(route: RouteRecord, payload: AlertPayload): boolean {
  if (!route.events.includes('*') && !route.events.includes(payload.event)) return false;
  if (route.accounts !== undefined && (payload.account === undefined || !route.accounts.includes(payload.account))) return false;
  return route.minSeverity === undefined || atLeast(payload.severity, route.minSeverity);
}

/**
 * The channels an alert goes to: every route whose events name it (or `*`), whose accounts (if
 * any) include its account, and whose minimum severity it meets. Each channel once, in the
 * order the routes name them.
 */
export function channelsFor(payload: AlertPayload, routes: readonly RouteRecord[]): string[] {
  const channels: string[] = [];
  for (const route of routes) {
    if (!routeTakes(route, payload)) continue;
    for (const channel of route.channels) if (!channels.includes(channel)) channels.push(channel);
  }
  return channels;
}
