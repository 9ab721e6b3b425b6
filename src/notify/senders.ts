/**
 * The sender of each channel type, loaded lazily (nodemailer and friends only when a channel
 * of that type exists). Adding a channel type: its settings in src/config/channels, its sender
 * here.
 */
import type { ChannelSender, ChannelType } from '../ports/index.js';

export const channelSenders: Readonly<Partial<Record<ChannelType, () => Promise<ChannelSender>>>> = {
  webhook: async () => (await import('./webhook.js')).webhookSender,
  slack: async () => (await import('./slack.js')).slackSender,
  teams: async () => (await import('./teams.js')).teamsSender,
  pagerduty: async () => (await import('./pagerduty.js')).pagerdutySender,
  email: async () => (await import('./email.js')).emailSender,
  syslog: async () => (await import('./syslog.js')).syslogSender,
};
