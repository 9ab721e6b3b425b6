import { httpUrl, type ChannelSpec } from './channel-spec.js';

/** A JSON POST signed with HMAC-SHA256 over "<timestamp>.<body>" with the channel's secret. */
export const webhookChannel: ChannelSpec = {
  settings: { url: httpUrl },
  secret: 'required',
  auditSink: true,
  example: { name: 'secops-hook', type: 'webhook', url: 'https://siem.internal/breakglass', secretEnv: 'HOOK_SECRET' },
};
