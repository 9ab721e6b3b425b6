import type { ChannelSpec } from './channel-spec.js';

/**
 * A Microsoft Teams incoming webhook (a Workflows "post to a channel when a webhook request is
 * received" URL), one Adaptive Card per alert. The URL carries its own signature (`sig=`), so
 * it is the channel's sealed secret and the channel has no settings.
 */
export const teamsChannel: ChannelSpec = {
  settings: {},
  secret: 'required',
  example: { name: 'secops-teams', type: 'teams', secretEnv: 'TEAMS_WEBHOOK_URL' },
};
