import { z } from 'zod';
import type { ChannelSpec } from './channel-spec.js';

/**
 * A Slack incoming webhook, one Block Kit message per alert. The webhook URL is the credential
 * (whoever holds it can post), so it is the channel's sealed secret, never a setting.
 */
export const slackChannel: ChannelSpec = {
  settings: {
    /** Only legacy webhooks honour it; an app's webhook always posts to the channel it was made for. */
    channel: z
      .string()
      .regex(/^([#@][a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{8,})$/, 'must be a channel name such as #secops, a user such as @alice or a channel id such as C0123456789')
      .optional(),
    username: z.string().min(1, 'must not be empty').max(80, 'must be at most 80 characters').optional(),
  },
  secret: 'required',
  example: { name: 'secops-slack', type: 'slack', channel: '#secops', secretEnv: 'SLACK_WEBHOOK_URL' },
};
