import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { channelSpecs, type ChannelSpec } from './index.js';

/** A channel entry's settings checked as the catalog checks them (strict): `path: message` lines. */
function settingsProblems(spec: ChannelSpec, entry: Readonly<Record<string, unknown>>): string[] {
  const settings = Object.fromEntries(Object.entries(entry).filter(([key]) => !['name', 'type', 'secretEnv'].includes(key)));
  const parsed = z.object(spec.settings).strict().safeParse(settings);
  return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.') || issue.code}: ${issue.message}`);
}

describe('chat and paging channel settings', () => {
  it.each(['slack', 'teams', 'pagerduty'] as const)('%s: accepts its example and requires a secret', (type) => {
    const spec = channelSpecs[type]!;
    expect(settingsProblems(spec, spec.example)).toEqual([]);
    expect(spec.secret).toBe('required');
  });

  it.each([
    ['slack', { channel: '#secops', username: 'Breakglass' }, []],
    ['slack', { channel: 'C0123456789' }, []],
    ['pagerduty', { endpoint: 'http://127.0.0.1:8080/v2/enqueue' }, []],
    // The webhook URL of Slack and Teams is the credential: the sealed secret, never a setting.
    ['slack', { url: 'https://hooks.slack.com/services/T/B/x' }, ['unrecognized_keys: Unrecognized key: "url"']],
    ['teams', { url: 'https://example.webhook.office.com/x' }, ['unrecognized_keys: Unrecognized key: "url"']],
    ['slack', { channel: 'sec ops' }, ['channel: must be a channel name such as #secops, a user such as @alice or a channel id such as C0123456789']],
    ['slack', { username: '' }, ['username: must not be empty']],
    ['pagerduty', { endpoint: 'ftp://events.pagerduty.com/v2/enqueue' }, ['endpoint: must be an http:// or https:// URL']],
    ['pagerduty', { endpoint: 'https://user:key@events.pagerduty.com/v2/enqueue' }, ['endpoint: must not carry a user or password; give the secret with secretEnv']],
  ] as const)('%s %j: %j', (type, settings, problems) => {
    expect(settingsProblems(channelSpecs[type]!, settings)).toEqual(problems);
  });
});
