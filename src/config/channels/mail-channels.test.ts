/**
 * The settings each channel type accepts: its README example passes, and a bad field is refused
 * with a message that names it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { channelSpecs, type ChannelSpec } from './index.js';

/** The example's settings: what is left once the fields every channel has are taken out. */
function settingsOf(spec: ChannelSpec): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec.example).filter(([key]) => !['name', 'type', 'secretEnv'].includes(key)));
}

function problems(spec: ChannelSpec, settings: Record<string, unknown>): string[] {
  const result = z.strictObject(spec.settings).safeParse(settings);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('email channel settings', () => {
  const spec = channelSpecs.email!;
  const example = settingsOf(spec);

  it('accepts the example, takes an optional password and cannot carry the audit stream', () => {
    expect(problems(spec, example)).toEqual([]);
    expect(spec.secret).toBe('optional');
    expect(spec.auditSink).toBeUndefined();
    expect(problems(spec, { ...example, secure: true, port: 465, tls: { caFile: '/etc/ssl/smtp-ca.pem', verify: true }, subjectPrefix: '[BG prod]' })).toEqual([]);
  });

  it('refuses a bad field with a message that names it', () => {
    expect(problems(spec, { ...example, to: ['secops@example.com', 'not an address'] })).toEqual(['to.1: must be an e-mail address such as secops@example.com']);
    expect(problems(spec, { ...example, to: [] })).toEqual(['to: list at least one recipient']);
    expect(problems(spec, { ...example, port: 70000 })).toEqual(['port: must be between 1 and 65535']);
    expect(problems(spec, { ...example, tls: { caFile: 'ca.pem' } })).toEqual(['tls.caFile: must be an absolute path']);
    expect(problems(spec, { ...example, subjectPrefix: '[BG]\r\nBcc: x@example.com' })).toEqual(['subjectPrefix: must not contain control characters']);
    expect(problems(spec, { ...example, requireTLS: false })).toEqual([': Unrecognized key: "requireTLS"']);
  });
});

describe('syslog channel settings', () => {
  const spec = channelSpecs.syslog!;
  const example = settingsOf(spec);

  it('accepts the example, takes no secret and can carry the audit stream', () => {
    expect(problems(spec, example)).toEqual([]);
    expect(spec).toMatchObject({ secret: 'none', auditSink: true });
    expect(problems(spec, { host: 'siem.internal', protocol: 'udp', facility: 4, appName: 'breakglass-prod', format: 'rfc5424' })).toEqual([]);
  });

  it('refuses a bad field with a message that names it', () => {
    expect(problems(spec, { ...example, protocol: 'relp' })).toEqual(['protocol: must be udp, tcp or tls']);
    expect(problems(spec, { ...example, facility: 24 })).toEqual(['facility: must be a facility number from 0 to 23']);
    expect(problems(spec, { ...example, appName: 'break glass' })).toEqual(['appName: must be 1 to 48 printable ASCII characters without spaces']);
    expect(problems(spec, { ...example, format: 'leef' })).toEqual(['format: must be rfc5424 or cef']);
    expect(problems(spec, { host: 'siem.internal' })).toEqual(['protocol: must be udp, tcp or tls']);
  });
});
