import { httpUrl, type ChannelSpec } from './channel-spec.js';

/**
 * PagerDuty Events API v2: an activation (any critical alert) triggers an incident keyed by the
 * grant id, closing the case resolves it. The secret is the integration's routing key; the
 * endpoint is a setting only so tests and EU or proxy setups can point elsewhere.
 */
export const pagerdutyChannel: ChannelSpec = {
  settings: { endpoint: httpUrl.optional() },
  secret: 'required',
  example: { name: 'secops-pager', type: 'pagerduty', secretEnv: 'PAGERDUTY_ROUTING_KEY' },
};
