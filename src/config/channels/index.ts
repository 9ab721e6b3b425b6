/**
 * The alert channel types the catalog knows, one line each (like src/connectors/specs.ts).
 * Their senders live in src/notify, one file per type.
 */
import type { ChannelType } from '../../domain/index.js';
import type { ChannelSpec } from './channel-spec.js';
import { pagerdutyChannel } from './pagerduty.js';
import { slackChannel } from './slack.js';
import { teamsChannel } from './teams.js';
import { emailChannel } from './email.js';
import { syslogChannel } from './syslog.js';
import { webhookChannel } from './webhook.js';

export const channelSpecs: Readonly<Partial<Record<ChannelType, ChannelSpec>>> = {
  webhook: webhookChannel,
  slack: slackChannel,
  teams: teamsChannel,
  pagerduty: pagerdutyChannel,
  email: emailChannel,
  syslog: syslogChannel,
};

export type { ChannelSpec } from './channel-spec.js';
